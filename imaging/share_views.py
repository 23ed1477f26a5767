"""Share links: the staff page of a study's links (create, copy, revoke, who opened them) and the public
pages a link opens on the clinic's host (the study, a one-time code step, its images).

Staff views check `imaging.share` and reach the study through study_access (the same 404 for another
clinic's or branch's study). Public views take only the link's secret: an unknown secret is a 404, an
expired or revoked link a 410 with a sentence, and a link reaches the images of its own study only.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from audit.context import audit_context
from docos.permissions import capability_required, public
from docos.storage import FileUnavailable
from imaging import selectors, services, share
from imaging.access import study_access
from imaging.models import ShareAccess, ShareLink
from imaging.render import THUMBNAIL_PX, RenderError
from messaging.services import patient_unreachable_reason


class ShareForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Valid for",
        coerce=int,
        choices=[(1, "1 day"), (3, "3 days"), (7, "7 days"), (14, "14 days"), (30, "30 days")],
        initial=share.DEFAULT_DAYS,
        help_text="The link stops working after this; you can revoke it earlier.",
    )
    require_code = forms.BooleanField(
        label="Ask for a one-time code sent to the patient's WhatsApp",
        required=False,
        help_text="Whoever opens the link must enter the code the patient receives.",
    )
    note = forms.CharField(
        label="Note (who it is for)",
        required=False,
        max_length=120,
        help_text="For your records, e.g. “Second opinion, Dr. Mehta”. Not shown to the visitor.",
    )


def share_url(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("imaging-share-open", args=[secret]))


# --- staff ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@capability_required("imaging.share")
def study_shares(request: HttpRequest, study_id: UUID) -> HttpResponse:
    user = staff_user(request)
    study = study_access(user, study_id, what="imaging share links")
    form = ShareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link, _secret = share.share_create(
                study=study,
                actor=user,
                days=form.cleaned_data["days"],
                require_code=form.cleaned_data["require_code"],
                note=form.cleaned_data["note"],
                context=audit_context(request),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Share link created, valid until {link.expires_at:%d %b %Y, %H:%M}.")
            return HttpResponseRedirect(reverse("imaging-study-shares", args=[study.pk]) + f"#share-{link.pk}")
    links = list(share.shares_of(study))
    accesses = share.accesses_of(links)
    rows = [
        {"link": link, "url": share_url(request, link.token), "state": link.state(), "accesses": accesses[link.pk]}
        for link in links
    ]
    reachable = not patient_unreachable_reason(study.patient)
    return render(
        request,
        "imaging/shares.html",
        {
            "study": study,
            "patient": study.patient,
            "form": form,
            "rows": rows,
            "code_possible": reachable,
            "code_template": share.code_template_approved(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@capability_required("imaging.share")
def share_revoke(request: HttpRequest, study_id: UUID, share_id: UUID) -> HttpResponse:
    user = staff_user(request)
    study = study_access(user, study_id, what="imaging share links")
    link = share.share_for_staff(user, study, share_id)
    share.share_revoke(share=link, actor=user, context=audit_context(request))
    messages.success(request, "The link was revoked: it no longer opens the study.")
    return HttpResponseRedirect(reverse("imaging-study-shares", args=[study.pk]))


# --- public (the link's visitor) -----------------------------------------------------------------


def _gone(request: HttpRequest, link: ShareLink | None) -> HttpResponse:
    if link is None:
        return render(request, "imaging/share_gone.html", {"reason": "unknown"}, status=404)
    share.access_log(link, ShareAccess.Event.REFUSED, audit_context(request))
    return render(request, "imaging/share_gone.html", {"reason": link.state()}, status=410)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the secret is in the URL: never pass it on
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _active(token: str) -> ShareLink | None:
    link = share.share_find(token)
    return link if link is not None and link.state() == "active" else None


@public
@require_GET
def share_open(request: HttpRequest, token: str) -> HttpResponse:
    link = share.share_find(token)
    if link is None or link.state() != "active":
        return _no_store(_gone(request, link))
    if not share.session_allows(link, request.session):
        return _no_store(
            render(
                request, "imaging/share_code.html", {"link": link, "token": token, "to": share.code_destination(link)}
            )
        )
    share.access_log(link, ShareAccess.Event.VIEWED, audit_context(request))
    study = link.study
    context = {
        "link": link,
        "token": token,
        "study": study,
        "clinic_name": getattr(request.tenant, "name", ""),  # type: ignore[attr-defined]
        "series": selectors.study_series(study),
        "manifest_url": reverse("imaging-share-manifest", args=[token]),
        "image_base": reverse("imaging-share-open", args=[token]) + "images/",
    }
    return _no_store(render(request, "imaging/share_view.html", context))


@public
@require_POST
def share_code_send(request: HttpRequest, token: str) -> HttpResponse:
    link = share.share_find(token)
    if link is None or link.state() != "active":
        return _no_store(_gone(request, link))
    problem = share.share_code_send(share=link, context=audit_context(request))
    if problem:
        messages.error(request, problem)
    else:
        messages.success(
            request, f"A code was sent to WhatsApp {share.code_destination(link)}. It works for 10 minutes."
        )
    return HttpResponseRedirect(reverse("imaging-share-open", args=[token]))


@public
@require_POST
def share_code_verify(request: HttpRequest, token: str) -> HttpResponse:
    link = share.share_find(token)
    if link is None or link.state() != "active":
        return _no_store(_gone(request, link))
    if share.share_code_verify(share=link, code=request.POST.get("code", ""), context=audit_context(request)):
        request.session.cycle_key()
        share.session_grant(link, request.session)
        return HttpResponseRedirect(reverse("imaging-share-open", args=[token]))
    messages.error(
        request, "That code is wrong or has expired. Check the latest WhatsApp message, or ask for a new code."
    )
    return HttpResponseRedirect(reverse("imaging-share-open", args=[token]))


def _viewable(request: HttpRequest, token: str) -> ShareLink | None:
    link = _active(token)
    return link if link is not None and share.session_allows(link, request.session) else None


@public
@require_GET
def share_manifest(request: HttpRequest, token: str) -> HttpResponse:
    link = _viewable(request, token)
    if link is None:
        return _no_store(JsonResponse({"errors": {"__all__": ["This link does not open a study."]}}, status=404))
    return _no_store(JsonResponse(selectors.study_manifest(link.study)))


@public
@require_GET
def share_frame(request: HttpRequest, token: str, instance_id: UUID, frame: int) -> HttpResponse:
    link = _viewable(request, token)
    if link is None:
        return _no_store(HttpResponse("This link does not open a study.", status=404, content_type="text/plain"))
    instance = share.share_instance(link, instance_id)
    window = services.parse_window(request.GET.get("wc"), request.GET.get("ww"))
    try:
        png = share.share_frame_png(
            share=link,
            instance=instance,
            frame=frame,
            window=window,
            max_px=THUMBNAIL_PX if request.GET.get("thumb") == "1" else None,
        )
    except FileUnavailable as exc:
        return HttpResponse(str(exc), status=410, content_type="text/plain; charset=utf-8")
    except RenderError as exc:
        return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(png, content_type="image/png")
    return _no_store(response)
