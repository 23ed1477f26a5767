"""The API keeps its published contract: schemathesis against a live server.

A real threaded HTTP server (Django's LiveServerThread, in this process) serves a committed copy of
the demo clinic (`clinics.demo.demo_seed`: ~40 patients, visits, signed prescriptions, a consent, a
certificate, a week of appointments) plus one uploaded document. Requests carry the clinic's Host
header (django-tenants routes by host) and the owner's API token.

- `test_operation_keeps_the_contract` runs once per operation of the published schema (so every
  later endpoint is covered without edits): schemathesis' examples, coverage and fuzzing phases,
  positive and negative data, with the checks not_a_server_error, status_code_conformance,
  content_type_conformance and response_schema_conformance.
- `test_stateful_workflows_keep_the_contract` follows the schema's OpenAPI links (create a patient,
  then read, change and book for them, ...) with the same checks.
- `test_schema_valid_requests_are_accepted` fails on what schemathesis' CLI reports as a "schema
  validation mismatch": an operation whose schema-valid (positive) requests were all refused with
  400/422, i.e. a schema looser than the validation behind it.

Ids in paths, filters and bodies are mapped onto the clinic's real records most of the time (a
random UUID is kept sometimes, for the 404s), phone numbers and signatures come from strategies for
the schema's custom formats `phone` and `signature-png`, and times that the schema can only state in
words (a booking in the future, a leave of recent days) are moved to realistic days. Generation is deterministic
(`derandomize`), so a failure reproduces; examples are bounded (MAX_EXAMPLES) to keep the whole
module within a few minutes on two cores.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Case, When
from django.test.testcases import LiveServerThread
from django.utils import timezone
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from appointments.services import appointment_settings_update
from clinical import drug_reference
from clinics.demo import DEMO_STAFF, demo_seed
from docos.tenancy import clinic_host
from documents.demo import demo_signature
from tests.accounts.api_helpers import make_token
from tests.celery_worker import _delete_files

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 8
STATEFUL_STEPS = 6
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Refusals that say nothing about the data sent (as in schemathesis' own warning).
NOT_ABOUT_DATA = {401, 403, 404, 409, 429}
MIN_PHASE_SAMPLE = 3
# DOCOS_CONTRACT_DEBUG=1 prints why schema-valid requests were refused (run with -s).
DEBUG = bool(os.environ.get("DOCOS_CONTRACT_DEBUG"))


def _openapi_document() -> dict[str, Any]:
    """The schema the API publishes at /api/v1/schema/ (the same generator, without a request)."""
    document = SchemaGenerator(urlconf="docos.urls_tenant").get_schema(request=None, public=True)
    return dict(json.loads(OpenApiJsonRenderer().render(document)))


CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "generation": {"max-examples": MAX_EXAMPLES, "allow-x00": False},
    }
)
schema = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)

# --- realistic values for what a JSON Schema cannot generate --------------------------------------

PHONES = ["98450 12345", "+91 98450 12345", "+91-99001-23456", "080-2345 6789", "9812345670", "+44 20 7946 0958"]
SIGNATURES = [base64.b64encode(demo_signature(seed)).decode() for seed in (1, 2, 3)]
schemathesis.openapi.format("phone", st.sampled_from(PHONES))
schemathesis.openapi.format(
    "signature-png",
    st.sampled_from(SIGNATURES).flatmap(lambda png: st.sampled_from([png, f"data:image/png;base64,{png}"])),
)

# Real ids of the live clinic, by kind (filled by the `live_api` fixture).
REAL_IDS: dict[str, list[str]] = {}
VISITS_OF: dict[str, list[str]] = {}  # patient id -> ids of their visits
PATIENT_OF_APPOINTMENT: dict[str, str] = {}  # appointment id -> its patient's id
SLOTS: list[tuple[str, str, str]] = []  # free (clinician, location, starts_at) in the coming weeks
MEDICINE_KEYS: list[str] = []  # keys of the medicine search's entries (clinic drugs and reference brands)
PATH_KINDS = {
    "patients": "patient",
    "visits": "visit",
    "prescriptions": "prescription",
    "consents": "consent",
    "certificates": "certificate",
    "documents": "document",
    "appointments": "appointment",
    "staff": "staff",
    "invoices": "invoice",
    "payments": "payment",
}
FIELD_KINDS = {
    "patient": "patient",
    "visit": "visit",
    "doctor": "clinician",
    "clinician": "clinician",
    "location": "location",
    "registered_location": "location",
    "appointment_type": "appointment_type",
    "type": "appointment_type",
    "prescription": "prescription",
}


# Reference data is always one of the clinic's own; a record id sometimes stays random (for the 404s).
REFERENCE_KINDS = {
    "clinician", "location", "appointment_type", "consent_template", "certificate_template", "drug", "price_item",
}  # fmt: skip
DRAFTS_TO_SIGN: list[str] = []  # drafts kept for `sign`, not yet handed to a request
# Ids the API created during the run (read from responses): never replaced.
CREATED: set[str] = set()


def _real(kind: str, value: Any, salt: str) -> Any:
    """One of the clinic's real ids of `kind`, chosen by the generated UUID and the rest of the
    request (`salt`), so Hypothesis stays in control and a failure reproduces, while requests that
    share a UUID (the coverage phase's) still reach different records. For records, sometimes the
    random UUID itself (a 404)."""
    ids = REAL_IDS.get(kind) or []
    if not isinstance(value, str) or value in CREATED:
        return value
    try:
        uuid.UUID(value)
    except ValueError:
        return value  # not a UUID: negative data, keep it
    number = int.from_bytes(hashlib.sha256(f"{value}|{salt}".encode()).digest()[:8], "big")
    choices = len(ids) if kind in REFERENCE_KINDS and ids else len(ids) + 1
    index = number % choices
    return ids[index] if index < len(ids) else value


def _draft_to_sign(value: Any, salt: str) -> Any:
    """Signing uses its draft up, so each request that gets a record gets the next unsigned one of
    those kept for it (while they last: both phases must find some), or sometimes the random UUID."""
    chosen = _real("prescription_to_sign", value, salt)
    if chosen == value or not DRAFTS_TO_SIGN:
        return chosen
    return DRAFTS_TO_SIGN.pop(0)


def _field_kind(path: str, name: str) -> str | None:
    if name == "template":
        return "consent_template" if path.startswith("/api/v1/consents") else "certificate_template"
    return FIELD_KINDS.get(name)


def with_real_ids(case: Any) -> None:
    """Point the ids of a generated request at the clinic's records, in every phase (ids that came
    from an earlier response through a link are real already and stay as they are). A visit sent
    with a patient becomes one of that patient's visits."""
    path = case.operation.path
    salt = json.dumps([case.path_parameters, case.query, case.body], sort_keys=True, default=str)
    kind = PATH_KINDS.get(path.split("/")[3])
    if kind == "prescription" and path.endswith("/sign") and isinstance(case.path_parameters, dict):
        case.path_parameters["id"] = _draft_to_sign(case.path_parameters.get("id"), salt)
    elif kind and isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        case.path_parameters["id"] = _real(kind, case.path_parameters["id"], salt)
    for container in (case.query, case.body):
        if isinstance(container, dict):
            for name, value in list(container.items()):
                field_kind = _field_kind(path, name)
                if field_kind:
                    container[name] = _real(field_kind, value, salt)
    body = case.body
    if not isinstance(body, dict):
        return
    patient = body.get("patient")
    if path.endswith("/complete") and isinstance(case.path_parameters, dict):
        patient = PATIENT_OF_APPOINTMENT.get(str(case.path_parameters.get("id")))
    if isinstance(body.get("visit"), str) and isinstance(patient, str):
        visits = VISITS_OF.get(patient)
        body["visit"] = visits[len(salt) % len(visits)] if visits else None
    _realistic_times(path, body, salt)
    if path == "/api/v1/medicines/favourites" and isinstance(body.get("key"), str) and MEDICINE_KEYS:
        # A medicine's key is free text to the schema: mostly one of the medicine search's keys.
        number = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")
        index = number % (len(MEDICINE_KEYS) + 1)
        body["key"] = MEDICINE_KEYS[index] if index < len(MEDICINE_KEYS) else body["key"]
    items = body.get("items")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("drug"), str):
            item["drug"] = _real("drug", item["drug"], salt) if REAL_IDS.get("drug") else None
        if isinstance(item, dict) and not item.get("drug") and path.startswith("/api/v1/prescriptions"):
            # Whether a name is a medicine of the formulary is a fact the schema cannot state: a
            # generated name is prescribed as written (the field the API documents for that).
            item["free_text"] = True
    lines = body.get("lines")  # an invoice's lines name price-list items
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict) and isinstance(line.get("item"), str):
            line["item"] = _real("price_item", line["item"], salt)


def _realistic_times(path: str, body: dict[str, Any], salt: str) -> None:
    """Times the schema can state only in words: a booking within the doctor's hours is one of the
    free slots (as GET /availability offers them), one outside hours starts in the future (on a day
    derived from the request, so bookings spread out instead of all clashing); a certificate's leave
    starts within the last two months and lasts up to two weeks."""
    number = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")
    today = timezone.localdate()
    if path == "/api/v1/appointments" and SLOTS and isinstance(body.get("starts_at"), str):
        if body.get("outside_hours") is not True:  # within hours: one of the slots GET /availability offers
            clinician, location, starts_at = SLOTS[number % len(SLOTS)]
            body.update(clinician=clinician, location=location, starts_at=starts_at)
            return
    if path.startswith("/api/v1/appointments") and isinstance(body.get("starts_at"), str):
        try:
            starts_at = dt.datetime.fromisoformat(body["starts_at"].replace("Z", "+00:00"))
        except ValueError:
            return
        day = today + dt.timedelta(days=2 + number % 3000)
        body["starts_at"] = starts_at.replace(year=day.year, month=day.month, day=min(day.day, 28)).isoformat()
    if path == "/api/v1/certificates":
        first = today - dt.timedelta(days=number % 60)
        if isinstance(body.get("from_date"), str):
            body["from_date"] = first.isoformat()
        if isinstance(body.get("to_date"), str):
            body["to_date"] = (first + dt.timedelta(days=number % 14)).isoformat()


def remember_created(response: Any) -> None:
    if response.status_code == 201:
        try:
            CREATED.add(str(response.json()["id"]))
        except (ValueError, KeyError, TypeError):
            pass


# --- the live server --------------------------------------------------------------------------------


@dataclass
class LiveApi:
    base_url: str
    host: str
    token: str
    # operation label -> phase -> statuses answered to positive (schema-valid) requests
    positive: dict[str, dict[str, Counter[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.token}"}

    def record(self, case: Any, response: Any) -> None:
        """Tally a positive request's answer; a 400 that names no input field (only
        `non_field_errors`: "this visit is signed") is about the record's state, so it counts as 409."""
        if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
            return
        status = response.status_code
        if status == 400:
            try:
                fields = set(response.json()["error"]["fields"])
            except (ValueError, KeyError, TypeError):
                fields = {"?"}
            if fields <= {"non_field_errors"}:
                status = 409
        self.positive[case.operation.label][case.meta.phase.name.value][status] += 1


def _collect_ids(reserved: list[str]) -> dict[str, list[str]]:
    from accounts.models import Location, User
    from accounts.selectors import clinician_choices
    from appointments.models import Appointment, AppointmentType
    from billing.models import Invoice, Payment, PriceItem
    from clinical.models import FormularyDrug, Prescription, Visit
    from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument
    from patients.models import Patient

    def ids(queryset: Any, *order: str) -> list[str]:
        """At most 20, in an order that is the same in every run (the demo seed is; UUIDs are not)."""
        return [str(pk) for pk in queryset.order_by(*order).values_list("pk", flat=True)[:20]]

    return {
        "patient": ids(Patient.objects.filter(is_active=True, merged_into__isnull=True), "mrn"),
        # drafts (no signed_at) first
        "visit": ids(Visit.objects.all(), "-signed_at", "patient__mrn", "visit_at"),
        "prescription": ids(Prescription.objects.exclude(pk__in=reserved), "-signed_at", "patient__mrn", "version"),
        "consent": ids(ConsentForm.objects.all(), "signed_at"),
        "certificate": ids(Certificate.objects.all(), "signed_at"),
        "document": ids(PatientDocument.objects.all(), "created_at"),
        # those in consultation first: the only ones `complete` accepts, and the run consumes them
        "appointment": ids(
            Appointment.objects.annotate(
                consulting=Case(When(status=Appointment.Status.IN_CONSULTATION, then=0), default=1)
            ),
            "consulting",
            "starts_at",
            "patient__mrn",
        ),
        "staff": ids(User.objects.all(), "email"),
        "clinician": ids(clinician_choices(), "email"),
        "location": ids(Location.objects.filter(is_active=True), "name"),
        "appointment_type": ids(AppointmentType.objects.filter(is_active=True), "name"),
        "consent_template": ids(ConsentTemplate.objects.filter(is_active=True), "name"),
        "certificate_template": ids(CertificateTemplate.objects.filter(is_active=True), "name"),
        "drug": ids(FormularyDrug.objects.all(), "name", "strength"),
        # unpaid and draft invoices first (paying, crediting and issuing can then succeed)
        "invoice": ids(Invoice.objects.filter(status="issued"), "created_at")[:10]
        + ids(Invoice.objects.filter(status="draft"), "created_at")[:5]
        + ids(Invoice.objects.exclude(status__in=["issued", "draft"]), "created_at")[:5],
        "payment": ids(Payment.objects.exclude(kind="refund"), "received_at"),
        "price_item": ids(PriceItem.objects.filter(is_active=True), "name"),
    }


def _visits_by_patient() -> dict[str, list[str]]:
    from clinical.models import Visit

    visits: dict[str, list[str]] = defaultdict(list)
    for visit_id, patient_id in Visit.objects.order_by("pk").values_list("pk", "patient_id"):
        visits[str(patient_id)].append(str(visit_id))
    return dict(visits)


def _patients_of_appointments() -> dict[str, str]:
    from appointments.models import Appointment

    return {str(pk): str(patient) for pk, patient in Appointment.objects.values_list("pk", "patient_id")}


def _free_slots(days: int = 14) -> list[tuple[str, str, str]]:
    from accounts.models import Location
    from accounts.selectors import clinician_choices
    from appointments.schedule import free_slots
    from appointments.selectors import default_appointment_type

    kind = default_appointment_type()
    today = timezone.localdate()
    found = []
    for clinician in clinician_choices().order_by("email"):
        for location in Location.objects.filter(is_active=True).order_by("name"):
            for offset in range(1, days + 1):
                day = today + dt.timedelta(days=offset)
                for slot in free_slots(clinician=clinician, location=location, day=day, appointment_type=kind):
                    found.append((str(clinician.pk), str(location.pk), slot.starts_at.isoformat()))
    return found


def _seed_drafts(owner: Any, count: int = 6) -> list[str]:
    """Draft visits and prescriptions beside the demo's signed ones, so edits and signing can succeed;
    returns the ids of those that can be signed as they are (no safety finding to override: an earlier
    test in the same database may have recorded an allergy)."""
    from accounts.models import Location
    from clinical import services as clinical
    from patients.models import Patient

    location = Location.objects.filter(is_active=True).order_by("name").first()
    drafts = []
    for patient in Patient.objects.filter(is_active=True, date_of_birth__year__lt=2000).order_by("created_at")[:count]:
        visit = clinical.visit_create(patient=patient, actor=owner, location=location, chief_complaint="Cough")
        draft = clinical.prescription_create(
            patient=patient,
            actor=owner,
            visit=visit,
            items=[
                {
                    "drug_name": "Paracetamol",
                    "strength": "500 mg",
                    "dose": "1 tablet",
                    "frequency": "1-0-1",
                    "duration": "3 days",
                }
            ],
        )
        if not clinical.prescription_safety_findings(draft):
            drafts.append(str(draft.pk))
    assert drafts, "no demo patient could be prescribed paracetamol without a safety finding"
    return drafts


def _seed_invoices(owner: Any, count: int = 8) -> None:
    """Issued, unpaid invoices beside the demo's, so payments and credit notes can succeed."""
    from decimal import Decimal

    from billing import services as billing
    from billing.models import PriceItem
    from patients.models import Patient

    item = PriceItem.objects.filter(is_active=True).order_by("name").first()
    for patient in Patient.objects.filter(is_active=True, merged_into__isnull=True).order_by("mrn")[:count]:
        invoice = billing.invoice_create(actor=owner, patient=patient, location=patient.registered_location)
        billing.invoice_add_line(actor=owner, invoice=invoice, item=item, quantity=Decimal("2"))
        billing.invoice_issue(actor=owner, invoice=invoice)


def _seed_unmarked_appointments(owner: Any) -> None:
    """Yesterday's appointments still booked, as a clinic that forgot to mark them leaves them
    (written as history: booking refuses the past), so a no-show can be marked."""
    from accounts.models import Location
    from accounts.selectors import clinician_choices
    from appointments.models import Appointment, AppointmentType
    from patients.models import Patient

    kind = AppointmentType.objects.filter(is_active=True).order_by("position").first()
    clinician = clinician_choices().order_by("pk").first()
    location = Location.objects.filter(is_active=True).order_by("name").first()
    at = (timezone.now() - dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for index, patient in enumerate(Patient.objects.filter(is_active=True).order_by("-created_at")[:3]):
        starts_at = at + dt.timedelta(minutes=30 * index)
        Appointment.objects.create(
            patient=patient,
            clinician=clinician,
            location=location,
            appointment_type=kind,
            starts_at=starts_at,
            ends_at=starts_at + kind.duration,
            booked_by=owner,
            scheduled_at=starts_at - dt.timedelta(days=2),
        )


def _seed_consultations(owner: Any, count: int = 6) -> None:
    """Appointments in consultation now (written as history, as check-in and start happened earlier
    today), so `complete` has enough to accept; each accepted request uses one up."""
    from accounts.models import Location
    from accounts.selectors import clinician_choices
    from appointments.models import Appointment, AppointmentType
    from patients.models import Patient

    kind = AppointmentType.objects.filter(is_active=True).order_by("position").first()
    clinician = clinician_choices().order_by("pk").first()
    location = Location.objects.filter(is_active=True).order_by("name").first()
    now = timezone.now().replace(second=0, microsecond=0)
    for index, patient in enumerate(Patient.objects.filter(is_active=True).order_by("mrn")[:count]):
        starts_at = now - dt.timedelta(minutes=10 + index)
        Appointment.objects.create(
            patient=patient,
            clinician=clinician,
            location=location,
            appointment_type=kind,
            starts_at=starts_at,
            ends_at=starts_at + kind.duration,
            booked_by=owner,
            scheduled_at=starts_at - dt.timedelta(days=1),
            status=Appointment.Status.IN_CONSULTATION,
            is_overbooked=True,  # squeezed in beside the demo's own bookings
            checked_in_at=starts_at,
            started_at=starts_at,
        )


def _upload_a_document(owner: Any) -> None:
    from documents.services import document_upload
    from patients.models import Patient

    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    patient = Patient.objects.order_by("created_at").first()
    document_upload(
        patient=patient,
        actor=owner,
        file=SimpleUploadedFile("report.pdf", pdf, content_type="application/pdf"),
        title="Blood report",
    )


@pytest.fixture(scope="module")
def live_api(committed_test_database: None, django_db_blocker: Any) -> Iterator[LiveApi]:
    from accounts.models import User

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        clinic, _ = demo_seed()
        with tenant_context(clinic):
            owner = User.objects.get(email=DEMO_STAFF[0][1])
            _upload_a_document(owner)
            _seed_drafts(owner)
            # Drafts that only `sign` is pointed at: edits (PATCH may empty a draft's lines) never reach them.
            to_sign = _seed_drafts(owner, count=24)
            _seed_unmarked_appointments(owner)
            _seed_consultations(owner)
            _seed_invoices(owner)
            appointment_settings_update(actor=owner, allow_overbooking=True)  # `overbook` can then succeed
            REAL_IDS.update(_collect_ids(reserved=to_sign))
            REAL_IDS["prescription_to_sign"] = to_sign
            DRAFTS_TO_SIGN[:] = to_sign
            VISITS_OF.update(_visits_by_patient())
            PATIENT_OF_APPOINTMENT.update(_patients_of_appointments())
            SLOTS.extend(_free_slots())
            MEDICINE_KEYS.extend(
                [f"clinic:{drug}" for drug in REAL_IDS.get("drug", [])[:5]]
                + [product.key for product in drug_reference.products()[:: max(1, len(drug_reference.products()) // 8)]]
            )
        token = make_token(type("Seeded", (), {"clinic": clinic})(), owner)
        server = LiveServerThread("127.0.0.1", StaticFilesHandler)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        try:
            if server.error:
                raise server.error
            yield LiveApi(base_url=f"http://127.0.0.1:{server.port}", host=clinic_host(clinic.slug), token=token)
        finally:
            server.terminate()
            REAL_IDS.clear()
            VISITS_OF.clear()
            PATIENT_OF_APPOINTMENT.clear()
            SLOTS.clear()
            MEDICINE_KEYS.clear()
            CREATED.clear()
            connection.set_schema_to_public()
            _delete_files(clinic)
            connection.set_schema_to_public()
            clinic.delete(force_drop=True)
            connection.set_schema_to_public()


# --- the tests ---------------------------------------------------------------------------------------


def test_live_server_publishes_the_schema_under_test(live_api: LiveApi) -> None:
    import requests

    response = requests.get(
        f"{live_api.base_url}/api/v1/schema/",
        headers={"Host": live_api.host, "Accept": "application/vnd.oai.openapi+json"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["paths"] == schema.raw_schema["paths"]


@schema.parametrize()
@HYPOTHESIS
def test_operation_keeps_the_contract(case: Any, live_api: LiveApi) -> None:
    with_real_ids(case)
    response = case.call(base_url=live_api.base_url, headers=live_api.headers)
    remember_created(response)
    live_api.record(case, response)
    if DEBUG and response.status_code in (400, 422) and case.meta.generation.mode == GenerationMode.POSITIVE:
        print(f"refused {case.meta.phase.name.value} {case.operation.label}: {response.text[:300]}")
    case.validate_response(response, headers=live_api.headers)


def test_stateful_workflows_keep_the_contract(live_api: LiveApi) -> None:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            with_real_ids(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": live_api.base_url, "headers": live_api.headers}

        def after_call(self, response: Any, case: Any) -> None:
            remember_created(response)

    Workflow.run(settings=settings(HYPOTHESIS, max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS))


def _mismatch(statuses: Counter[int]) -> bool:
    """Schemathesis' rule: nothing accepted, and at least a tenth of the refusals are about the data
    (not 401/403/404/409/429)."""
    if any(200 <= status < 300 for status in statuses):
        return False
    about_data = sum(n for code, n in statuses.items() if 400 <= code < 500 and code not in NOT_ABOUT_DATA)
    refused = about_data + statuses.get(404, 0)
    return bool(refused) and about_data / refused >= 0.1


def test_schema_valid_requests_are_accepted(live_api: LiveApi) -> None:
    """No operation refuses all its schema-valid requests: neither all phases together, nor one phase
    with at least MIN_PHASE_SAMPLE of them (one or two refusals in a phase are no evidence)."""
    if not live_api.positive:
        pytest.skip("run with test_operation_keeps_the_contract (the whole module)")
    mismatched = []
    for label, phases in sorted(live_api.positive.items()):
        if _mismatch(sum(phases.values(), Counter())):
            mismatched.append(f"{label}: {dict(sum(phases.values(), Counter()))}")
        for phase, statuses in phases.items():
            if sum(statuses.values()) >= MIN_PHASE_SAMPLE and _mismatch(statuses):
                mismatched.append(f"{label} ({phase}): {dict(statuses)}")
    assert not mismatched, "Schema validation mismatch (schema-valid requests all refused):\n" + "\n".join(mismatched)
