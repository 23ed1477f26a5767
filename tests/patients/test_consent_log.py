"""The consent log's rules (patients.consents): the latest decision per purpose wins, a minor's
WhatsApp reminders and marketing need the guardian's consent, every decision is audited with ids
only, and the WhatsApp fields on the patient stay a mirror of the `whatsapp_reminders` purpose."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from patients import consents
from patients.models import PatientConsent
from patients.services import patient_record_whatsapp_consent, patient_record_whatsapp_opt_out
from tests.appointments.helpers import make_patient, user
from tests.clock import CLINIC_MORNING

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=False) as traveller:
        yield traveller


def test_the_latest_decision_per_purpose_wins(clinic_a, pinned):
    patient = make_patient(clinic_a, consent=False)
    desk = user(clinic_a, "front_desk")
    with tenant_context(clinic_a.clinic):
        assert consents.consent_allows(patient, "marketing") == (False, "no_marketing_consent")
        consents.consent_record(patient=patient, purpose="marketing", channel="in_person", actor=desk)
        assert consents.consent_allows(patient, "marketing") == (True, "")
        # Same instant (pinned clock): the later insert is still the later decision.
        consents.consent_withdraw(patient=patient, purpose="marketing", channel="phone", actor=desk)
        assert consents.consent_allows(patient, "marketing") == (False, "consent_withdrawn")
        consents.consent_record(patient=patient, purpose="marketing", channel="paper", actor=desk)
        assert consents.consent_allows(patient, "marketing") == (True, "")
        # Other purposes are independent.
        assert consents.consent_allows(patient, "ai_assistance") == (False, "no_consent")
        rows = list(PatientConsent.objects.filter(patient=patient, purpose="marketing"))
        assert [r.action for r in rows] == ["granted", "withdrawn", "granted"]
        assert len({r.recorded_at for r in rows}) == 3


def test_a_minor_needs_the_guardians_consent_for_reminders_and_marketing_not_treatment(clinic_a, pinned):
    child = make_patient(
        clinic_a,
        consent=False,
        given_name="Aarav",
        family_name="Iyer",
        date_of_birth=dt.date(2015, 6, 1),
        guardian_name="Suresh Iyer",
        guardian_relation="Father",
        guardian_phone="+919845011122",
    )
    desk = user(clinic_a, "front_desk")
    with tenant_context(clinic_a.clinic):
        for purpose in ("whatsapp_reminders", "marketing", "treatment"):
            consents.consent_record(patient=child, purpose=purpose, channel="in_person", actor=desk)
        assert consents.consent_allows(child, "whatsapp_reminders") == (False, "guardian_consent_needed")
        assert consents.consent_allows(child, "marketing") == (False, "guardian_consent_needed")
        assert consents.consent_allows(child, "treatment") == (True, "")
        row = consents.consent_record(
            patient=child, purpose="whatsapp_reminders", channel="in_person", actor=desk, given_by="guardian"
        )
        # The guardian named on the record, unless another is given.
        assert (row.guardian_name, row.guardian_relation) == ("Suresh Iyer", "Father")
        assert consents.consent_allows(child, "whatsapp_reminders") == (True, "")
    # The same grant by the patient is enough once they are 18.
    adult = make_patient(clinic_a, consent=False, date_of_birth=dt.date(2008, 12, 9))
    with tenant_context(clinic_a.clinic):
        consents.consent_record(patient=adult, purpose="marketing", channel="in_person", actor=desk)
        assert consents.consent_allows(adult, "marketing") == (True, "")


def test_a_guardian_decision_needs_a_guardian_name(clinic_a):
    patient = make_patient(clinic_a, consent=False)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError) as err:
        consents.consent_record(patient=patient, purpose="treatment", channel="paper", actor=None, given_by="guardian")
    assert "guardian_name" in err.value.message_dict


def test_unknown_purpose_or_channel_is_refused(clinic_a):
    patient = make_patient(clinic_a, consent=False)
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError) as err:
            consents.consent_record(patient=patient, purpose="telemarketing", channel="fax", actor=None)
        assert set(err.value.message_dict) == {"purpose", "channel"}
        assert not PatientConsent.objects.filter(patient=patient).exists()


def test_whatsapp_decisions_keep_the_patient_fields_in_step_and_are_audited_without_phi(clinic_a, pinned):
    patient = make_patient(clinic_a, consent=False)
    desk = user(clinic_a, "front_desk")
    with tenant_context(clinic_a.clinic):
        row = consents.consent_record(
            patient=patient, purpose="whatsapp_reminders", channel="paper", actor=desk, note="Signed form 12"
        )
        patient.refresh_from_db()
        assert patient.whatsapp_consent_at == row.recorded_at and patient.whatsapp_opted_out_at is None
        assert (patient.whatsapp_consent_source, patient.whatsapp_consent_taken_by_id) == ("paper", desk.pk)
        assert patient.whatsapp_consent_notice_version == row.notice_version != ""
        out = consents.consent_withdraw(patient=patient, purpose="whatsapp_reminders", channel="phone", actor=desk)
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at == out.recorded_at
        events = list(AuditEvent.objects.filter(action__startswith="patient.consent_").order_by("seq"))
        assert [e.action for e in events] == ["patient.consent_granted", "patient.consent_withdrawn"]
        assert events[0].object_id == str(row.pk)
        assert events[0].metadata["patient_id"] == str(patient.pk)
        assert events[0].metadata["purpose"] == "whatsapp_reminders"
        text = str([e.metadata for e in events])
        assert "Asha" not in text and "Signed form" not in text and "+91" not in text
        # The note is stored encrypted.
        assert PatientConsent.objects.get(pk=row.pk).note == "Signed form 12"


def test_the_older_whatsapp_services_write_log_rows(clinic_a, pinned):
    child = make_patient(
        clinic_a, consent=False, date_of_birth=dt.date(2016, 1, 1), guardian_name="Lakshmi Nair",
        guardian_relation="Mother", guardian_phone="+919845033344",
    )  # fmt: skip
    with tenant_context(clinic_a.clinic):
        patient_record_whatsapp_consent(patient=child, actor=None, source="whatsapp")
        consents.consent_record(patient=child, purpose="marketing", channel="whatsapp", actor=None, given_by="guardian")
        (grant,) = PatientConsent.objects.filter(patient=child, purpose="whatsapp_reminders")
        assert (grant.action, grant.channel, grant.given_by, grant.guardian_name) == (
            "granted", "whatsapp", "guardian", "Lakshmi Nair",
        )  # fmt: skip
        assert consents.consent_allows(child, "whatsapp_reminders") == (True, "")
        patient_record_whatsapp_opt_out(patient=child, actor=None, source="whatsapp")
        # An opt-out stops marketing too.
        assert consents.consent_allows(child, "whatsapp_reminders") == (False, "consent_withdrawn")
        assert consents.consent_allows(child, "marketing") == (False, "consent_withdrawn")


def test_a_patient_without_log_rows_is_judged_by_the_older_fields(clinic_a):
    agreed = make_patient(clinic_a)
    never = make_patient(clinic_a, consent=False)
    with tenant_context(clinic_a.clinic):
        assert consents.consent_allows(agreed, "whatsapp_reminders") == (True, "")
        assert consents.consent_allows(never, "whatsapp_reminders") == (False, "no_whatsapp_consent")
