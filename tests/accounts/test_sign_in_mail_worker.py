"""The production path of sign-in mail: request -> commit -> broker -> a real Celery worker, which
draws the code in the clinic's schema and stores its hash once the mail is sent."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import LoginCode
from docos.tenancy import clinic_host
from tests.accounts.login_helpers import request_code

pytest_plugins = ["tests.accounts.auth_fixtures"]


def _code_rows(clinic, django_db_blocker) -> list[LoginCode]:
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        rows = list(LoginCode.objects.filter(user=clinic.owner))
    connection.set_schema_to_public()
    return rows


def test_a_code_request_is_mailed_by_the_worker(celery_worker, throwaway_clinic, django_db_blocker, auth_state_clean):
    client = Client(HTTP_HOST=clinic_host(throwaway_clinic.clinic.slug))
    with django_db_blocker.unblock():
        response = request_code(client, throwaway_clinic.owner.email)
    connection.set_schema_to_public()
    assert response.status_code == 302 and response["Location"] == "/login/code"
    celery_worker.wait_until(
        lambda: any(row.code_hash for row in _code_rows(throwaway_clinic, django_db_blocker)), timeout=60
    )
    [row] = _code_rows(throwaway_clinic, django_db_blocker)
    assert len(row.code_hash) == 64
    assert "accounts.login_code_email" in celery_worker.log(tail=20000)
