from django_tenants.utils import tenant_context

from accounts.models import Role
from audit.models import AuditEvent


def test_seeded_clinics_have_builtin_roles_and_separate_schemas(clinic_a, clinic_b):
    with tenant_context(clinic_a.clinic):
        assert Role.objects.filter(is_builtin=True).count() == 7
        assert AuditEvent.objects.filter(action="clinic.create").count() == 1
    assert clinic_a.schema != clinic_b.schema


def test_home_requires_login_and_renders_for_staff(clinic_a, client_for):
    anonymous = client_for(clinic_a)
    assert anonymous.get("/").status_code == 302
    response = client_for(clinic_a, "doctor").get("/")
    assert response.status_code == 200
    assert b"Alpha Clinic" in response.content


def test_healthz_and_readyz(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": True, "redis": True}
