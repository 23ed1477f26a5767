"""/favicon.ico answers on every host (no debug 404), and pages link the SVG icon."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

from clinics.models import Clinic

ICON = "/static/img/favicon.svg"


def assert_points_at_the_icon(response) -> None:
    assert response.status_code == 302
    assert response["Location"] == ICON
    assert response["Cache-Control"] == "public, max-age=86400"


def test_favicon_on_a_clinic_host_anonymous_and_signed_in(clinic_a, client_for):
    assert_points_at_the_icon(client_for(clinic_a).get("/favicon.ico"))
    assert_points_at_the_icon(client_for(clinic_a, "doctor").get("/favicon.ico"))


def test_favicon_on_the_public_site(client, db):
    with override_settings(SHOW_PUBLIC_IF_NO_TENANT_FOUND=True):
        assert_points_at_the_icon(client.get("/favicon.ico", HTTP_HOST=settings.DOCOS_BASE_DOMAIN))


def test_favicon_while_required_2fa_setup_is_pending(clinic_a, client_for):
    Clinic.objects.filter(pk=clinic_a.clinic.pk).update(require_2fa_for_admins=True)
    assert_points_at_the_icon(client_for(clinic_a, "owner").get("/favicon.ico"))


def test_the_icon_is_a_shipped_svg():
    path = finders.find("img/favicon.svg")
    assert path is not None
    with open(path, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"<svg") and len(content) < 2048


def test_pages_link_the_icon(clinic_a, client_for):
    link = f'<link rel="icon" href="{ICON}" type="image/svg+xml">'.encode()
    assert link in client_for(clinic_a).get("/login").content
    assert link in client_for(clinic_a, "doctor").get("/").content
    with override_settings(SHOW_PUBLIC_IF_NO_TENANT_FOUND=True):
        assert link in Client().get("/", HTTP_HOST=settings.DOCOS_BASE_DOMAIN).content
