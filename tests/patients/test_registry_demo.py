import re
import sys
import types

from patients import demo
from patients.models import Patient


def test_demo_seed_registers_realistic_patients(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        created = demo.seed_patients()
        patients = list(Patient.objects.all())
        assert demo.seed_patients() == []  # only once
    assert 38 <= len(created) == len(patients) <= 45
    assert all(re.fullmatch(r"\+91[6-9]\d{9}", p.phone) for p in patients if p.phone)
    assert all(re.fullmatch(r"560\d{3}", p.pin_code) and p.city == "Bengaluru" for p in patients)
    minors = [p for p in patients if p.is_minor]
    assert len(minors) >= 2
    assert all(p.guardian_name and p.guardian_relation and p.guardian_phone for p in minors)
    assert all(p.contact_number == p.guardian_phone for p in minors)
    consented = [p for p in patients if p.whatsapp_consent_at]
    assert len(consented) > len(patients) * 0.7
    assert any(p.allergies for p in patients) and any(p.dob_is_estimated for p in patients)
    assert len({p.name_key for p in patients}) == len(patients)


def test_demo_seed_hands_over_to_the_clinical_demo(clinic_a, in_tenant, monkeypatch):
    calls = []
    fake = types.ModuleType("clinical.demo")
    fake.seed = lambda clinic: calls.append(clinic)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "clinical.demo", fake)
    with in_tenant(clinic_a):
        demo.seed(clinic_a.clinic)
    assert calls == [clinic_a.clinic]
