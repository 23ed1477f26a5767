"""Branch isolation, swept over every route: a user restricted to one branch reaches nothing of a
patient who belongs to another branch, through any page or API operation.

The walk is generated from the URL resolver (every clinic route, as tests/test_url_capabilities.py
walks them) and from the OpenAPI schema (query parameters such as `?patient=`). The user holds every
capability (the Owner role) but works at Main branch only; every object belongs to a patient
registered at East branch and was made there. Each route is requested with those ids, with every
method it serves, and must answer 404 (or 405 for a method it does not serve): the same answer as
for an id that does not exist. No page may show the patient's name or MRN.

A new route whose URL takes an id must be classified below (PATIENT_SCOPED_KWARGS or
NOT_PATIENT_SCOPED): the sweep fails for a kwarg it does not know, so nobody forgets.

Platform console routes (access "platform", public URLconf only) hold no patient data and belong to
no clinic or branch: the sweep checks that a branch-restricted clinic user reaches none of them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from appointments.models import Appointment, AppointmentType, QueueEntry
from billing.models import CreditNote, Invoice, Payment, PaymentLink
from clinical.models import PatientAllergy, Prescription, Visit
from documents.models import Certificate, ConsentForm, ConsentTemplate, PatientDocument, SignedDocument
from imaging.models import Instance, Series, Study, Upload
from messaging.models import Contact, InboundMessage
from patients.models import Patient, PatientImport
from privacy.models import PatientExport, RightsRequest
from tests.accounts.api_helpers import make_token
from tests.test_url_capabilities import PLATFORM_ROUTES, TENANT_ROUTES, Route, declared_access, sample_path

PASSWORD = "correct-horse-battery-42"

# URL kwarg -> kind of object (HTML routes name their ids).
PATIENT_SCOPED_KWARGS = {
    "patient_id": "patient",
    "visit_id": "visit",
    "prescription_id": "prescription",
    "document_id": "document",
    "consent_id": "consent",
    "certificate_id": "certificate",
    "appointment_id": "appointment",
    "entry_id": "queue_entry",
    "import_id": "import",
    "allergy_id": "allergy",
    "conversation_id": "conversation",  # a WhatsApp conversation: its patient's branch rules
    "message_id": "inbound_message",  # an inbound WhatsApp message (its media download)
    "invoice_id": "invoice",  # billing: the issuing location and the patient's grants rule
    "payment_id": "payment",
    "credit_note_id": "credit_note",
    "study_id": "imaging_study",  # imaging: the study's location and the patient's grants rule
    "instance_id": "imaging_instance",  # an image, through its study
    "upload_id": "imaging_upload",
    "link_id": "payment_link",  # a Razorpay payment link: its invoice's
    "request_id": "rights_request",  # privacy workbench: received at a branch, about a patient
    "export_id": "privacy_export",
}
# API routes use `<uuid:id>`: the kind comes from the path segment before it.
API_ID_KINDS = {
    "patients": "patient",
    "visits": "visit",
    "prescriptions": "prescription",
    "documents": "document",
    "consents": "consent",
    "certificates": "certificate",
    "appointments": "appointment",
    "allergies": "allergy",
    "conversations": "conversation",
    "invoices": "invoice",
    "payments": "payment",
    "credit-notes": "credit_note",
}
# Ids that do not belong to a patient (templates, staff, schedules, settings), reviewed one by one.
NOT_PATIENT_SCOPED = {
    "template_id",  # consent and certificate templates: clinic-wide
    "pk",  # settings console: locations, staff, roles, tokens; schedule admin
    "token_pk",
    "code",  # public verification codes (no patient data on the page)
    "uidb64",  # set-password links
    "token",
    "session_id",  # clinician schedules: working hours, breaks, leaves, holidays, types, reminder rules
    "break_id",
    "leave_id",
    "holiday_id",
    "type_id",
    "rule_id",
    "favourite_id",  # a doctor's favourite medicines and prescription templates: their own, no patient data
    "frame",  # a frame number inside an image (the image's id is the scoped one)
    "share_id",  # an imaging share link, reached through its study (study_id, the scoped one)
    # DICOMweb names studies by DICOM UID, not our ids: its branch scope is tested in
    # tests/imaging/test_dicomweb.py (a user restricted to another branch finds nothing, gets 404)
    "study_uid",
    "series_uid",
    "sop_uid",
    "frames",
    "item_id",  # price-list items: clinic-wide
    "location_id",  # the user's own locations: swept by test_other_branch_location_ids_answer_404 below
    "invoice_number",  # DocOS's own invoices to the clinic (subscription): clinic-wide, no patient data
    # a breach incident: clinic-wide, only for privacy managers of every branch (a branch-restricted
    # user gets 403/404 on the whole register: tests/privacy/test_breach_access.py)
    "incident_id",
}
NOT_PATIENT_SCOPED_API = {
    "staff",
    "locations",
    "consent-templates",
    "certificate-templates",
    "favourites",
    "prescription-templates",
}


@dataclass
class EastRecords:
    ids: dict[str, uuid.UUID]
    patient: Patient
    mrn: str
    unique_name: str


@pytest.fixture
def main_only_owner(clinic_a: Any) -> User:
    """Every capability, but works at Main branch only."""
    with tenant_context(clinic_a.clinic):
        user = User.objects.create_user(
            "main-only@alpha.example.in", PASSWORD, full_name="Main Only", role=Role.objects.get(slug="owner")
        )
        user.locations.set([clinic_a.locations[1]])  # locations are sorted by name: East, Main
    return user


@pytest.fixture
def east(clinic_a: Any) -> EastRecords:
    """A patient registered at East branch with one record of every kind, all made at East."""
    east_branch = clinic_a.locations[0]
    doctor = clinic_a.users["doctor"]
    # The family name is the marker: an exact-MRN search offers another branch's patient to "open at
    # this branch" under a masked name (given name and initial), which must never reveal it.
    unique = f"Eastwood{uuid.uuid4().hex[:6]}"
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(
            mrn=f"EAST-{uuid.uuid4().int % 10**6:06d}",
            given_name="Zorawar",
            family_name=unique,
            sex="M",
            phone="+919800012345",
            registered_location=east_branch,
        )
        visit = Visit.objects.create(
            patient=patient, location=east_branch, clinician=doctor, chief_complaint="Chest pain"
        )
        prescription = Prescription.objects.create(
            patient=patient, visit=visit, location=east_branch, prescriber=doctor
        )

        def signed(kind: str) -> SignedDocument:
            return SignedDocument.objects.create(
                kind=kind,
                patient=patient,
                location=east_branch,
                verification_code=uuid.uuid4().hex[:12].upper(),
                storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc",
                sha256="0" * 64,
                size=10,
                signed_by=doctor,
            )

        template = ConsentTemplate.objects.create(name="Procedure", kind="procedure", body="I agree.")
        consent = ConsentForm.objects.create(
            patient=patient,
            template=template,
            location=east_branch,
            rendered_text="I agree.",
            signer_name=patient.full_name,
            prepared_by=doctor,
            document=signed("consent"),
        )
        certificate = Certificate.objects.create(
            patient=patient,
            kind="sick_leave",
            location=east_branch,
            body="Rest for two days.",
            doctor=doctor,
            document=signed("certificate"),
        )
        document = PatientDocument.objects.create(
            patient=patient,
            title="ECG report",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc",
            uploaded_by=doctor,
            location=east_branch,
        )
        kind = AppointmentType.objects.create(name="East consult", duration_minutes=15)
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
        appointment = Appointment.objects.create(
            patient=patient,
            clinician=doctor,
            location=east_branch,
            appointment_type=kind,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=15),
        )
        entry = QueueEntry.objects.create(
            day=timezone.localdate(), clinician=doctor, location=east_branch, token=1, patient=patient
        )
        # Allergies belong to the patient (not a branch): hidden with the patient.
        allergy = PatientAllergy.objects.create(patient=patient, allergen="Penicillin", noted_by=doctor)
        patient_import = PatientImport.objects.create(
            original_name="east.csv",
            storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc",
            sha256="0" * 64,
            location=east_branch,
            created_by=doctor,
        )
        contact = Contact.objects.create(wa_id="919800012345", patient=patient, last_inbound_at=timezone.now())
        inbound = InboundMessage.objects.create(
            contact=contact,
            vendor_message_id=f"wamid.{uuid.uuid4().hex}",
            kind="image",
            media_id="1234567890",
            media_status="stored",
            media_content_type="image/jpeg",
            media_storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc",
            media_sha256="0" * 64,
            media_size=10,
            sent_at=timezone.now(),
        )
        invoice = Invoice.objects.create(
            patient=patient, location=east_branch, visit=visit, created_by=doctor, status="issued",
            number="EAS/2627/0001", financial_year=2026, serial=1, total=500,
        )  # fmt: skip
        payment = Payment.objects.create(
            patient=patient, location=east_branch, invoice=invoice, mode="cash", amount=500, financial_year=2026,
            received_by=doctor, receipt_number="EASR/2627/0001",
        )  # fmt: skip
        credit_note = CreditNote.objects.create(
            invoice=invoice, location=east_branch, number="EASC/2627/0001", financial_year=2026, serial=1,
            note_date=timezone.localdate(), reason="Test", issued_by=doctor,
        )  # fmt: skip
        study = Study.objects.create(
            patient=patient, location=east_branch, study_instance_uid="1.2.826.0.1.3680043.8.498.1", created_by=doctor,
            description="CT chest", modalities=["CT"], instance_count=1, series_count=1,
        )  # fmt: skip
        series = Series.objects.create(study=study, series_instance_uid="1.2.826.0.1.3680043.8.498.2", instance_count=1)
        instance = Instance.objects.create(
            series=series, study=study, sop_instance_uid="1.2.826.0.1.3680043.8.498.3", rows=8, columns=8,
            storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc", sha256="0" * 64, size=10,
        )  # fmt: skip
        imaging_upload = Upload.objects.create(patient=patient, location=east_branch, uploaded_by=doctor)
        link = PaymentLink.objects.create(
            invoice=invoice, amount=500, status="created", razorpay_id="plink_EastBranch0001",
            short_url="https://rzp.io/i/EastBr1", created_by=doctor,
        )  # fmt: skip
        rights = RightsRequest.objects.create(
            reference=f"PR-{uuid.uuid4().int % 10**6:06d}", kind="access", patient=patient, location=east_branch,
            requester_name=patient.full_name, verification="in_person_id", acknowledge_due_at=timezone.now(),
            answer_due_at=timezone.now(),
        )  # fmt: skip
        export = PatientExport.objects.create(
            request=rights, status="ready", storage_name=f"{clinic_a.schema}/test/{uuid.uuid4().hex}.enc",
            sha256="0" * 64, expires_at=timezone.now() + dt.timedelta(days=7),
        )  # fmt: skip
    ids = {
        "imaging_study": study.pk,
        "imaging_instance": instance.pk,
        "imaging_upload": imaging_upload.pk,
        "rights_request": rights.pk,
        "privacy_export": export.pk,
        "invoice": invoice.pk,
        "payment_link": link.pk,
        "payment": payment.pk,
        "credit_note": credit_note.pk,
        "conversation": contact.pk,
        "inbound_message": inbound.pk,
        "patient": patient.pk,
        "visit": visit.pk,
        "prescription": prescription.pk,
        "document": document.pk,
        "consent": consent.pk,
        "certificate": certificate.pk,
        "appointment": appointment.pk,
        "queue_entry": entry.pk,
        "import": patient_import.pk,
        "allergy": allergy.pk,
    }
    return EastRecords(ids=ids, patient=patient, mrn=patient.mrn, unique_name=unique)


def _route_kind(route: Route) -> str | None:
    """Which kind of patient-scoped object the route's id names, or None when it takes no such id."""
    text = "".join(str(pattern) for pattern in route.chain)
    names = re.findall(r"<(?:\w+:)?(\w+)>", text) + re.findall(r"\(\?P<(\w+)>", text)
    kinds = set()
    for name in names:
        if name == "id" and text.startswith("api/v1/"):
            segment = text.split("<")[0].rstrip("/").split("/")[-1]
            if segment in NOT_PATIENT_SCOPED_API:
                continue
            assert segment in API_ID_KINDS, f"{route.label}: classify API segment {segment!r} in this test"
            kinds.add(API_ID_KINDS[segment])
        elif name in PATIENT_SCOPED_KWARGS:
            kinds.add(PATIENT_SCOPED_KWARGS[name])
        else:
            assert name in NOT_PATIENT_SCOPED, f"{route.label}: classify URL kwarg {name!r} in this test"
    assert len(kinds) <= 1, f"{route.label} takes several patient-scoped ids; extend the sweep"
    return kinds.pop() if kinds else None


def _path_with(route: Route, object_id: uuid.UUID) -> str:
    """The route's URL with its (single) uuid kwarg set to `object_id`."""
    sample = sample_path(route)
    # sample_path fills every uuid kwarg with one random uuid; swap it for ours.
    for part in sample.split("/"):
        try:
            uuid.UUID(part)
        except ValueError:
            continue
        return sample.replace(part, str(object_id))
    raise AssertionError(f"{route.label}: no uuid in {sample}")


PATIENT_SCOPED_ROUTES = [
    pytest.param(route, id=route.route)
    for route in TENANT_ROUTES
    if declared_access(route) not in (None, "public") and _route_kind(route) is not None
]
ID_FREE_GET_ROUTES = [
    pytest.param(route, id=route.route)
    for route in TENANT_ROUTES
    if declared_access(route) not in (None, "public") and "<" not in route.route and route.name != "api-not-found"
]


def _methods(route: Route) -> list[str]:
    cls = route.drf_class
    if cls is not None:
        return [m.upper() for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)]
    return ["GET", "POST"]


def _client(client_for: Any, clinic: Any, user: User, *, api: bool) -> Any:
    if api:
        return client_for(clinic, HTTP_AUTHORIZATION=f"Bearer {make_token(clinic, user)}")
    return client_for(clinic).login_as(user)


def _call(client: Any, method: str, url: str) -> Any:
    if method in ("POST", "PATCH", "PUT"):
        return getattr(client, method.lower())(url, data={}, content_type="application/json")
    return getattr(client, method.lower())(url)


@pytest.mark.parametrize("route", PATIENT_SCOPED_ROUTES)
def test_other_branch_ids_answer_404_on_every_route(clinic_a, client_for, main_only_owner, east, route):
    kind = _route_kind(route)
    assert kind is not None
    url = _path_with(route, east.ids[kind])
    client = _client(client_for, clinic_a, main_only_owner, api=route.drf_class is not None)
    answered = {}
    for method in _methods(route):
        response = _call(client, method, url)
        answered[method] = response.status_code
        assert response.status_code in (404, 405), (
            f"{route.label}: {method} {url} with another branch's {kind} answered {response.status_code}"
        )
        body = response.content.decode(errors="replace")
        assert east.mrn not in body and east.unique_name not in body, f"{route.label}: {method} leaks the patient"
    assert 404 in answered.values(), f"{route.label} served no method for {url}: {answered}"


LOCATION_ROUTES = [
    pytest.param(route, id=route.route)
    for route in TENANT_ROUTES
    if declared_access(route) not in (None, "public") and "<uuid:location_id>" in route.route
]


@pytest.mark.parametrize("route", LOCATION_ROUTES)
def test_other_branch_location_ids_answer_404(clinic_a, client_for, main_only_owner, route):
    """Routes naming a location (branch prices, numbering) refuse another branch's location with the
    same 404 as an unknown one, even for a user holding every capability."""
    from billing.models import PriceItem

    with tenant_context(clinic_a.clinic):
        item = PriceItem.objects.create(
            name=f"Sweep {uuid.uuid4().hex[:6]}", kind="service", sac_hsn="999312", tax_class="health_exempt"
        )
    fills = {"location_id": clinic_a.locations[0].pk, "item_id": item.pk}
    url = "/" + re.sub(r"<uuid:(\w+)>", lambda m: str(fills[m.group(1)]), route.route)
    assert "<" not in url, f"{route.label}: give the sweep a real id for every kwarg"
    client = _client(client_for, clinic_a, main_only_owner, api=route.drf_class is not None)
    for method in _methods(route):
        response = _call(client, method, url)
        assert response.status_code in (404, 405), f"{route.label}: {method} {url} answered {response.status_code}"


@pytest.mark.parametrize("route", ID_FREE_GET_ROUTES)
def test_lists_never_show_another_branchs_patient(clinic_a, client_for, main_only_owner, east, route):
    """Lists and dashboards, with and without `?patient=<id>`, never show the East patient."""
    client = _client(client_for, clinic_a, main_only_owner, api=route.drf_class is not None)
    base = sample_path(route)
    # A search box echoes its query, so look for the OTHER identifier than the one searched for.
    probes = [
        (base, (east.unique_name, east.mrn)),
        (f"{base}?patient={east.ids['patient']}", (east.unique_name, east.mrn)),
        (f"{base}?q={east.mrn}", (east.unique_name,)),
        (f"{base}?q={east.unique_name}", (east.mrn,)),
    ]
    for url, hidden in probes:
        response = client.get(url)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        for text in hidden:
            assert text not in body, f"{route.label}: GET {url} shows another branch's patient"


def test_schema_query_parameters_naming_a_patient_are_swept(clinic_a, client_for, main_only_owner, east):
    """From the OpenAPI schema: every operation with a `patient` query parameter answers 404 (or an
    empty page never naming them) for another branch's patient."""
    owner = client_for(clinic_a, "owner")
    schema = owner.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    client = _client(client_for, clinic_a, main_only_owner, api=True)
    swept = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "get" or "{" in path:
                continue
            params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if "patient" not in params:
                continue
            response = client.get(f"{path}?patient={east.ids['patient']}")
            swept.append(path)
            assert response.status_code == 404, f"GET {path}?patient=<east> answered {response.status_code}"
    assert swept, "the schema names no `patient` filter any more; update this test"


def test_the_same_user_opens_their_own_branchs_records(clinic_a, client_for, main_only_owner):
    """The control: the sweep's 404s come from the branch rule, not from a broken fixture."""
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(
            mrn="MAIN-1", given_name="Meera", registered_location=clinic_a.locations[1], phone="+919800054321"
        )
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[1], clinician=clinic_a.users["doctor"]
        )
    pages = client_for(clinic_a).login_as(main_only_owner)
    assert pages.get(f"/patients/{patient.pk}/").status_code == 200
    assert pages.get(f"/visits/{visit.pk}/").status_code == 200
    api = _client(client_for, clinic_a, main_only_owner, api=True)
    assert api.get(f"/api/v1/patients/{patient.pk}/visits").status_code == 200


def test_an_unrestricted_owner_opens_the_east_records(clinic_a, client_for, east):
    pages = client_for(clinic_a, "owner")
    assert pages.get(f"/patients/{east.ids['patient']}/").status_code == 200
    assert pages.get(f"/visits/{east.ids['visit']}/").status_code == 200


def test_no_platform_console_route_is_reachable_from_a_branch(clinic_a, client_for, main_only_owner):
    """The platform rule kind: no clinic route declares it, and its paths are 404 on the clinic host."""
    assert PLATFORM_ROUTES, "the platform console is gone from the public URLconf; update this test"
    assert not [route.route for route in TENANT_ROUTES if declared_access(route) == "platform"]
    pages = client_for(clinic_a).login_as(main_only_owner)
    for route in PLATFORM_ROUTES:
        url = sample_path(route)
        assert pages.get(url).status_code == 404, f"{route.label} answered on a clinic host at {url}"
