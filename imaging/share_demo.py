"""Demo: the demo clinic's CT thorax is shared by a live link (imaging.demo.seed calls this last).

The link is made through the service (audited, 7 days from seeding), for a second opinion, and was
opened once; staff see it, with its access log, on the study's "Share" page.
"""

from __future__ import annotations

from audit.context import AuditContext
from imaging import share
from imaging.models import ShareAccess, ShareLink, Study


def seed_share(*, doctor: object) -> ShareLink | None:
    study = Study.objects.filter(modalities__contains=["CT"]).order_by("created_at").first()
    if study is None or ShareLink.objects.filter(study=study).exists():
        return None
    link, _ = share.share_create(
        study=study,
        actor=doctor,  # type: ignore[arg-type]
        note="Second opinion: Dr. Kavita Menon, Manipal Hospital radiology",
    )
    visit = AuditContext(ip="203.0.113.24", user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile")
    share.access_log(link, ShareAccess.Event.VIEWED, visit)
    return link
