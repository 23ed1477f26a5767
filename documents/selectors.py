"""Reads of patient documents, consent forms, certificates and their templates.

Every list is scoped to the acting user's locations (a user restricted to some locations sees only
the records made at them); a missing id, another clinic's id (another schema: simply absent) and
another location's id all raise the same Http404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from accounts.selectors import scope_to_user_locations
from docos.ids import parse_uuid
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument
from patients.models import Patient


def patient_get(patient_id: Any) -> Patient:
    """The patient a document is filed for (404 if unknown in this clinic)."""
    pk = parse_uuid(patient_id)
    patient = Patient.objects.select_related("registered_location").filter(pk=pk).first() if pk else None
    if patient is None:
        raise Http404("No such patient")
    return patient


# --- uploaded documents ------------------------------------------------------------------------------


def documents_visible_to(user: User) -> QuerySet[PatientDocument]:
    documents = PatientDocument.objects.select_related("patient", "uploaded_by", "location")
    return scope_to_user_locations(documents, user)


def document_list(*, user: User, patient: Patient | None = None, category: str = "") -> QuerySet[PatientDocument]:
    documents = documents_visible_to(user)
    if patient is not None:
        documents = documents.filter(patient=patient)
    if category in PatientDocument.Category.values:
        documents = documents.filter(category=category)
    return documents.order_by("-created_at")


def document_get(*, user: User, document_id: Any) -> PatientDocument:
    pk = parse_uuid(document_id)
    document = documents_visible_to(user).filter(pk=pk).first() if pk else None
    if document is None:
        raise Http404("No such document")
    return document


# --- consent forms -----------------------------------------------------------------------------------


def consents_visible_to(user: User) -> QuerySet[ConsentForm]:
    forms = ConsentForm.objects.select_related("patient", "template", "location", "prepared_by", "document")
    return scope_to_user_locations(forms, user)


def consent_list(*, user: User, patient: Patient | None = None) -> QuerySet[ConsentForm]:
    forms = consents_visible_to(user)
    if patient is not None:
        forms = forms.filter(patient=patient)
    return forms.order_by("-signed_at")


def consent_get(*, user: User, consent_id: Any) -> ConsentForm:
    pk = parse_uuid(consent_id)
    form = consents_visible_to(user).filter(pk=pk).first() if pk else None
    if form is None:
        raise Http404("No such consent form")
    return form


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


def certificates_visible_to(user: User) -> QuerySet[Certificate]:
    certificates = Certificate.objects.select_related("patient", "template", "location", "doctor", "document")
    return scope_to_user_locations(certificates, user)


def certificate_list(*, user: User, patient: Patient | None = None, kind: str = "") -> QuerySet[Certificate]:
    certificates = certificates_visible_to(user)
    if patient is not None:
        certificates = certificates.filter(patient=patient)
    if kind in CertificateTemplate.Kind.values:
        certificates = certificates.filter(kind=kind)
    return certificates.order_by("-signed_at")


def certificate_get(*, user: User, certificate_id: Any) -> Certificate:
    pk = parse_uuid(certificate_id)
    certificate = certificates_visible_to(user).filter(pk=pk).first() if pk else None
    if certificate is None:
        raise Http404("No such certificate")
    return certificate


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
