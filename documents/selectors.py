"""Reads of patient documents, consent forms, certificates and their templates.

Scoped by patients.access: a user restricted to some branches sees the records made at them, or all
of a patient's they opened at their branch; the same Http404 for missing and forbidden ids.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from docos.ids import parse_uuid
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument
from patients.access import record_access, scope_patient_records
from patients.models import Patient

# --- uploaded documents ------------------------------------------------------------------------------


def _documents() -> QuerySet[PatientDocument]:
    return PatientDocument.objects.select_related("patient", "uploaded_by", "location")


def documents_visible_to(user: User) -> QuerySet[PatientDocument]:
    return scope_patient_records(_documents(), user)


def document_list(*, user: User, patient: Patient | None = None, category: str = "") -> QuerySet[PatientDocument]:
    documents = documents_visible_to(user)
    if patient is not None:
        documents = documents.filter(patient=patient)
    if category in PatientDocument.Category.values:
        documents = documents.filter(category=category)
    return documents.order_by("-created_at")


def document_access(*, user: User, document_id: Any, what: str = "document") -> PatientDocument:
    """The document, or Http404 (see patients.access for the rule)."""
    return record_access(_documents(), user=user, record_id=document_id, label="document", what=what)


# --- consent forms -----------------------------------------------------------------------------------


def _consents() -> QuerySet[ConsentForm]:
    return ConsentForm.objects.select_related("patient", "template", "location", "prepared_by", "document")


def consents_visible_to(user: User) -> QuerySet[ConsentForm]:
    return scope_patient_records(_consents(), user)


def consent_list(*, user: User, patient: Patient | None = None) -> QuerySet[ConsentForm]:
    forms = consents_visible_to(user)
    if patient is not None:
        forms = forms.filter(patient=patient)
    return forms.order_by("-signed_at")


def consent_access(*, user: User, consent_id: Any, what: str = "consent") -> ConsentForm:
    """The consent form, or Http404 (see patients.access for the rule)."""
    return record_access(_consents(), user=user, record_id=consent_id, label="consent form", what=what)


def consent_templates(*, include_inactive: bool = False) -> QuerySet[ConsentTemplate]:
    templates = ConsentTemplate.objects.all()
    if not include_inactive:
        templates = templates.filter(is_active=True)
    return templates.order_by("-is_active", "name")


def consent_template_get(template_id: Any, *, active_only: bool = False) -> ConsentTemplate:
    pk = parse_uuid(template_id)
    templates = consent_templates(include_inactive=not active_only)
    template = templates.filter(pk=pk).first() if pk else None
    if template is None:
        raise Http404("No such consent template")
    return template


# --- certificates ------------------------------------------------------------------------------------


def _certificates() -> QuerySet[Certificate]:
    return Certificate.objects.select_related("patient", "template", "location", "doctor", "document")


def certificates_visible_to(user: User) -> QuerySet[Certificate]:
    return scope_patient_records(_certificates(), user)


def certificate_list(*, user: User, patient: Patient | None = None, kind: str = "") -> QuerySet[Certificate]:
    certificates = certificates_visible_to(user)
    if patient is not None:
        certificates = certificates.filter(patient=patient)
    if kind in CertificateTemplate.Kind.values:
        certificates = certificates.filter(kind=kind)
    return certificates.order_by("-signed_at")


def certificate_access(*, user: User, certificate_id: Any, what: str = "certificate") -> Certificate:
    """The certificate, or Http404 (see patients.access for the rule)."""
    return record_access(_certificates(), user=user, record_id=certificate_id, label="certificate", what=what)


def certificate_templates(*, include_inactive: bool = False) -> QuerySet[CertificateTemplate]:
    templates = CertificateTemplate.objects.all()
    if not include_inactive:
        templates = templates.filter(is_active=True)
    return templates.order_by("-is_active", "name")


def certificate_template_get(template_id: Any, *, active_only: bool = False) -> CertificateTemplate:
    pk = parse_uuid(template_id)
    templates = certificate_templates(include_inactive=not active_only)
    template = templates.filter(pk=pk).first() if pk else None
    if template is None:
        raise Http404("No such certificate template")
    return template
