"""Revoking someone else's API token takes the same standing as changing their access."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts import services
from accounts.models import ApiToken
from tests.accounts.api_helpers import make_token
from tests.accounts.branch_helpers import branches
from tests.accounts.console_helpers import fresh


def token_of(seeded, user) -> ApiToken:
    make_token(seeded, user, name="Integration")
    with tenant_context(seeded.clinic):
        return ApiToken.objects.get(user=user, name="Integration")


def is_revoked(seeded, token) -> bool:
    with tenant_context(seeded.clinic):
        return ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_an_administrator_cannot_revoke_the_owners_token(clinic_a, client_for):
    owner = clinic_a.users["owner"]
    token = token_of(clinic_a, owner)
    client = client_for(clinic_a, "administrator")
    response = client.post(f"/settings/staff/{owner.pk}/tokens/{token.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "reach further than yours" in response.content.decode()
    assert not is_revoked(clinic_a, token)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError):
        services.api_token_revoke(token=token, actor=fresh(clinic_a, clinic_a.users["administrator"]))
    assert not is_revoked(clinic_a, token)


def test_a_branch_manager_cannot_revoke_a_token_of_another_branch(clinic_a, client_for):
    b = branches(clinic_a)
    token = token_of(clinic_a, b.east_clerk)
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError):
        services.api_token_revoke(token=token, actor=fresh(clinic_a, b.manager))
    # The console does not even show that colleague (see test_staff_directory_scoping).
    client = client_for(clinic_a).login_as(b.manager)
    assert client.post(f"/settings/staff/{b.east_clerk.pk}/tokens/{token.pk}/revoke/").status_code == 404
    assert not is_revoked(clinic_a, token)


def test_managers_still_revoke_tokens_of_staff_they_manage_and_owners_their_own(clinic_a, client_for):
    b = branches(clinic_a)
    local = token_of(clinic_a, b.main_clerk)
    with tenant_context(clinic_a.clinic):
        services.api_token_revoke(token=local, actor=fresh(clinic_a, b.manager))
    assert is_revoked(clinic_a, local)
    own = token_of(clinic_a, clinic_a.users["owner"])
    client = client_for(clinic_a, "owner")
    assert client.post(f"/settings/tokens/{own.pk}/revoke/").status_code == 302
    assert is_revoked(clinic_a, own)
