"""A patient's record as a FHIR R4 document Bundle, validated with fhir.resources' R4B models.

The Bundle is a `document`: its first entry is a Composition (as ABDM's NRCeS profiles such as
OPConsultRecord and Prescription expect), which lists the other entries in sections: the Patient,
the clinic (Organization) and its clinicians (Practitioner), Encounters (visits), vital signs as
Observations (LOINC codes, UCUM units), Conditions (diagnoses, ICD-10 where coded),
MedicationRequests (prescription lines), Procedures (when recorded), Consents (signed consent forms
and the DPDP consent log's decisions), DocumentReferences
(uploads and signed PDFs, pointing at their files in the archive) and Appointments.

References are `urn:uuid:` full URLs inside the Bundle. Building goes through the R4B model
classes (`Bundle.model_validate`), so a structurally invalid bundle fails here, not at the reader.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from appointments.models import Appointment
from clinical.models import Prescription, Visit
from documents.models import ConsentForm, PatientDocument, SignedDocument
from patients import registry
from patients.models import ConsentAction, ConsentGivenBy, ConsentPurpose, Patient, PatientConsent

NRCES = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
GENDER = {"F": "female", "M": "male", "O": "other", "U": "unknown"}
APPOINTMENT_STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "checked_in": "checked-in",
    "in_consultation": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
MEDICATION_STATUS = {"draft": "draft", "signed": "active", "superseded": "cancelled"}
# (field, LOINC code, display, UCUM unit)
VITALS = (
    ("pulse", "8867-4", "Heart rate", "/min"),
    ("temperature_c", "8310-5", "Body temperature", "Cel"),
    ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    ("weight_kg", "29463-7", "Body weight", "kg"),
    ("height_cm", "8302-2", "Body height", "cm"),
)
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}


def _urn(pk: Any) -> str:
    return f"urn:uuid:{pk}"


def _when(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    number = float(value) if isinstance(value, Decimal) else value
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


class _Builder:
    def __init__(self, patient: Patient, clinic_name: str) -> None:
        self.patient = patient
        self.clinic_name = clinic_name
        self.entries: list[dict[str, Any]] = []
        self.sections: dict[str, list[str]] = {}
        self.practitioners: dict[Any, str] = {}
        self.org = _urn(uuid.uuid5(uuid.NAMESPACE_URL, f"docos-organization:{clinic_name}"))
        self.ids = registry.patient_ids(patient)

    def add(self, resource: dict[str, Any], section: str | None = None, pk: Any = None) -> str:
        url = _urn(pk or uuid.uuid4())
        resource.setdefault("id", url.removeprefix("urn:uuid:"))
        self.entries.append({"fullUrl": url, "resource": resource})
        if section:
            self.sections.setdefault(section, []).append(url)
        return url

    def practitioner(self, user: Any) -> str:
        if user.pk not in self.practitioners:
            self.practitioners[user.pk] = self.add(
                {"resourceType": "Practitioner", "name": [{"text": user.full_name}]}, pk=user.pk
            )
        return self.practitioners[user.pk]

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": _urn(self.patient.pk), "display": self.patient.full_name}

    def patient_resource(self) -> None:
        p = self.patient
        identifiers = [{"type": {"text": "MRN"}, "system": "urn:docos:mrn", "value": p.mrn}]
        if p.abha_number:
            identifiers.append({"type": {"text": "ABHA number"}, "system": ABHA_SYSTEM, "value": p.abha_number})
        telecom = [
            {"system": system, "value": value, "use": "mobile" if system == "phone" else "home"}
            for system, value in (("phone", p.phone), ("email", p.email))
            if value
        ]
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "meta": {"profile": [NRCES + "Patient"]},
            "identifier": identifiers,
            "name": [
                {"text": p.full_name, "given": [p.given_name], **({"family": p.family_name} if p.family_name else {})}
            ],
            "gender": GENDER.get(p.sex, "unknown"),
            "telecom": telecom,
        }
        if p.date_of_birth:
            resource["birthDate"] = p.date_of_birth.isoformat()
        if p.address or p.city or p.pin_code:
            resource["address"] = [
                {
                    "text": p.address,
                    "city": p.city or None,
                    "state": p.state or None,
                    "postalCode": p.pin_code or None,
                    "country": "IN",
                }
            ]
        self.add(resource, pk=p.pk)

    def visits(self) -> None:
        for visit in Visit.objects.filter(patient_id__in=self.ids).select_related("clinician").order_by("visit_at"):
            doctor = self.practitioner(visit.clinician)
            encounter = self.add(
                {
                    "resourceType": "Encounter",
                    "meta": {"profile": [NRCES + "Encounter"]},
                    "status": "finished" if visit.status == Visit.Status.SIGNED else "in-progress",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                        "display": "ambulatory",
                    },
                    "subject": self.subject,
                    "period": {"start": _when(visit.visit_at)},
                    "participant": [{"individual": {"reference": doctor}}],
                    **({"reasonCode": [{"text": visit.chief_complaint}]} if visit.chief_complaint else {}),
                },
                "encounters",
                pk=visit.pk,
            )
            self._vitals(visit, encounter)
            for diagnosis in visit.diagnoses or []:
                text = str(diagnosis.get("text") or diagnosis.get("icd10") or "").strip()
                if not text:
                    continue
                code: dict[str, Any] = {"text": text}
                if diagnosis.get("icd10"):
                    code["coding"] = [{"system": ICD10, "code": diagnosis["icd10"], "display": text}]
                self.add(
                    {
                        "resourceType": "Condition",
                        "meta": {"profile": [NRCES + "Condition"]},
                        "code": code,
                        "subject": self.subject,
                        "encounter": {"reference": encounter},
                        "recordedDate": _when(visit.visit_at),
                    },
                    "conditions",
                )
            if visit.procedures_performed:
                self.add(
                    {
                        "resourceType": "Procedure",
                        "meta": {"profile": [NRCES + "Procedure"]},
                        "status": "completed",
                        "code": {"text": visit.procedures_performed},
                        "subject": self.subject,
                        "encounter": {"reference": encounter},
                        "performedDateTime": _when(visit.visit_at),
                    },
                    "procedures",
                )

    def _vitals(self, visit: Visit, encounter: str) -> None:
        def observation(code: str, display: str, **value: Any) -> None:
            self.add(
                {
                    "resourceType": "Observation",
                    "meta": {"profile": [NRCES + "ObservationVitalSigns"]},
                    "status": "final",
                    "category": [VITAL_SIGNS],
                    "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
                    "subject": self.subject,
                    "encounter": {"reference": encounter},
                    "effectiveDateTime": _when(visit.visit_at),
                    **value,
                },
                "vitals",
            )

        if visit.bp_systolic and visit.bp_diastolic:
            observation(
                "85354-9",
                "Blood pressure panel",
                component=[
                    {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
                     "valueQuantity": _quantity(visit.bp_systolic, "mm[Hg]")},
                    {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
                     "valueQuantity": _quantity(visit.bp_diastolic, "mm[Hg]")},
                ],
            )  # fmt: skip
        for name, code, display, unit in VITALS:
            value = getattr(visit, name)
            if value is not None:
                observation(code, display, valueQuantity=_quantity(value, unit))

    def prescriptions(self) -> None:
        prescriptions = (
            Prescription.objects.filter(patient_id__in=self.ids)
            .select_related("prescriber")
            .prefetch_related("items")
            .order_by("created_at")
        )
        for rx in prescriptions:
            doctor = self.practitioner(rx.prescriber)
            for item in rx.items.all():
                text = " ".join(part for part in (item.dose, item.frequency, item.duration, item.instructions) if part)
                self.add(
                    {
                        "resourceType": "MedicationRequest",
                        "meta": {"profile": [NRCES + "MedicationRequest"]},
                        "status": MEDICATION_STATUS.get(rx.status, "unknown"),
                        "intent": "order",
                        "medicationCodeableConcept": {
                            "text": " ".join(p for p in (item.drug_name, item.strength) if p)
                        },
                        "subject": self.subject,
                        **({"encounter": {"reference": _urn(rx.visit_id)}} if rx.visit_id else {}),
                        "authoredOn": _when(rx.signed_at or rx.created_at),
                        "requester": {"reference": doctor},
                        **({"dosageInstruction": [{"text": text}]} if text else {}),
                    },
                    "medications",
                )

    def documents(self) -> dict[Any, str]:
        signed_urls: dict[Any, str] = {}
        for doc in PatientDocument.objects.filter(patient_id__in=self.ids).order_by("created_at"):
            self.add(
                {
                    "resourceType": "DocumentReference",
                    "meta": {"profile": [NRCES + "DocumentReference"]},
                    "status": "current",
                    "type": {"text": doc.get_category_display()},
                    "subject": self.subject,
                    "date": _when(doc.created_at),
                    "description": doc.title,
                    "content": [
                        {"attachment": {"contentType": doc.content_type, "title": doc.title, "size": doc.size}}
                    ],
                },
                "documents",
                pk=doc.pk,
            )
        for signed in SignedDocument.objects.filter(patient_id__in=self.ids).order_by("signed_at"):
            signed_urls[signed.pk] = self.add(
                {
                    "resourceType": "DocumentReference",
                    "meta": {"profile": [NRCES + "DocumentReference"]},
                    "status": "current",
                    "type": {"text": f"Signed {signed.get_kind_display().lower()}"},
                    "subject": self.subject,
                    "date": _when(signed.signed_at),
                    "description": f"{signed.get_kind_display()} {signed.verification_code}",
                    "content": [
                        {
                            "attachment": {
                                "contentType": "application/pdf",
                                "title": signed.verification_code,
                                "size": signed.size,
                            }
                        }
                    ],
                },
                "documents",
                pk=signed.pk,
            )
        return signed_urls

    def consents(self, signed_urls: dict[Any, str]) -> None:
        for consent in (
            ConsentForm.objects.filter(patient_id__in=self.ids).select_related("template").order_by("signed_at")
        ):
            resource: dict[str, Any] = {
                "resourceType": "Consent",
                "status": "active",
                "scope": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]
                },
                "category": [{"text": consent.template.get_kind_display()}],
                "patient": self.subject,
                "dateTime": _when(consent.signed_at),
                "organization": [{"reference": self.org}],
                "policyRule": {"text": f"{consent.template.name}, version {consent.template.version}"},
            }
            if consent.document_id in signed_urls:
                resource["sourceReference"] = {"reference": signed_urls[consent.document_id]}
            self.add(resource, "consents", pk=consent.pk)

    def consent_log(self) -> None:
        """The DPDP consent log (patients.consents): one Consent per decision, `active` for the
        latest per purpose, `inactive` for those it replaced; a withdrawal is a `deny` provision."""
        rows = PatientConsent.objects.filter(patient_id__in=self.ids).order_by("-recorded_at")
        seen: set[str] = set()
        for row in rows:
            current = row.purpose not in seen
            seen.add(row.purpose)
            label = ConsentPurpose(row.purpose).label
            if row.given_by == ConsentGivenBy.GUARDIAN:
                relation = f" ({row.guardian_relation})" if row.guardian_relation else ""
                performer = {"display": f"{row.guardian_name}{relation}, guardian"}
            else:
                performer = self.subject
            scope = "treatment" if row.purpose == ConsentPurpose.TREATMENT else "patient-privacy"
            resource: dict[str, Any] = {
                "resourceType": "Consent",
                "status": "active" if current else "inactive",
                "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": scope}]},
                "category": [
                    {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}], "text": label}
                ],
                "patient": self.subject,
                "dateTime": _when(row.recorded_at),
                "performer": [performer],
                "organization": [{"reference": self.org}],
                "policyRule": {"text": f"Privacy notice, version {row.notice_version or 'not recorded'}"},
                "provision": {
                    "type": "permit" if row.action == ConsentAction.GRANTED else "deny",
                    "purpose": [{"system": "urn:docos:consent-purpose", "code": row.purpose, "display": label}],
                },
            }
            self.add(resource, "consents", pk=row.pk)

    def appointments(self) -> None:
        appointments = (
            Appointment.objects.filter(patient_id__in=self.ids)
            .select_related("clinician", "appointment_type")
            .order_by("starts_at")
        )
        for appt in appointments:
            doctor = self.practitioner(appt.clinician)
            self.add(
                {
                    "resourceType": "Appointment",
                    "meta": {"profile": [NRCES + "Appointment"]},
                    "status": APPOINTMENT_STATUS.get(appt.status, "booked"),
                    "serviceType": [{"text": appt.appointment_type.name}],
                    "start": _when(appt.starts_at),
                    "end": _when(appt.ends_at),
                    "participant": [
                        {"actor": self.subject, "status": "accepted"},
                        {"actor": {"reference": doctor}, "status": "accepted"},
                    ],
                },
                "appointments",
                pk=appt.pk,
            )


SECTION_TITLES = {
    "encounters": ("Encounters", "371531000", "Report of clinical encounter"),
    "vitals": ("Vital signs", "1184593002", "Vital sign document section"),
    "conditions": ("Diagnoses", "439401001", "Diagnosis"),
    "procedures": ("Procedures", "371525003", "Clinical procedure report"),
    "medications": ("Medications", "440545006", "Prescription record"),
    "documents": ("Documents", "419891008", "Record artifact"),
    "consents": ("Consents", "371537001", "Consent form"),
    "appointments": ("Appointments", "721145008", "Appointment"),
}


def patient_bundle(patient: Patient, *, clinic_name: str) -> dict[str, Any]:
    """The patient's record as a validated FHIR R4 document Bundle (a JSON-able dict)."""
    builder = _Builder(patient, clinic_name)
    builder.patient_resource()
    builder.add({"resourceType": "Organization", "name": clinic_name}, pk=builder.org.removeprefix("urn:uuid:"))
    builder.visits()
    builder.prescriptions()
    signed = builder.documents()
    builder.consents(signed)
    builder.consent_log()
    builder.appointments()
    now = timezone.localtime()
    composition = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [NRCES + "OPConsultRecord"]},
        "status": "final",
        "type": {"coding": [{"system": SNOMED, "code": "371530004", "display": "Clinical consultation report"}],
                 "text": "Patient record (DPDP access request)"},
        "subject": builder.subject,
        "date": now.isoformat(),
        "author": [{"reference": builder.org, "display": clinic_name}],
        "title": f"Health record of {patient.full_name}",
        "custodian": {"reference": builder.org},
        "section": [
            {
                "title": SECTION_TITLES[key][0],
                "code": {
                    "coding": [{"system": SNOMED, "code": SECTION_TITLES[key][1], "display": SECTION_TITLES[key][2]}]
                },
                "entry": [{"reference": url} for url in urls],
            }
            for key, urls in builder.sections.items()
            if urls
        ],
    }  # fmt: skip
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": now.isoformat()},
        "identifier": {"system": "urn:docos:export", "value": str(uuid.uuid4())},
        "type": "document",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": _urn(composition["id"]), "resource": composition}, *builder.entries],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
