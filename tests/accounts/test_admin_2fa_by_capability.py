"""Required 2FA follows administrative capabilities, not role names; nobody changes their own role."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts import services
from accounts.login import two_factor_required
from clinics.models import Clinic
from docos.capabilities import ADMINISTRATION_CAPABILITIES
from tests.accounts.console_helpers import fresh, get_user, make_role, make_user
from tests.accounts.login_helpers import password_login
from tests.accounts.test_staff_guards import edit_data
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


def require_2fa(seeded):
    Clinic.objects.filter(pk=seeded.clinic.pk).update(require_2fa_for_admins=True)
    seeded.clinic.refresh_from_db()


def test_the_administration_group_is_what_the_review_names():
    # privacy.manage: the rights workbench exports whole records, so it needs two-step login too.
    # clinic.close: closing the clinic exports everything and deletes it (owner only).
    named = {"settings.manage", "staff.manage", "audit.view", "data.export", "privacy.manage", "clinic.close"}
    assert named == ADMINISTRATION_CAPABILITIES


@pytest.mark.parametrize("capability", sorted(ADMINISTRATION_CAPABILITIES))
def test_a_custom_role_with_any_administrative_capability_must_set_up_2fa(clinic_a, client_for, capability):
    make_role(clinic_a, "Back office", ["patients.view", capability])
    user = make_user(clinic_a, "backoffice@alpha.example.in", "back-office")
    require_2fa(clinic_a)
    client = client_for(clinic_a)
    assert password_login(client, user.email, PASSWORD)["Location"] == "/"
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/two-factor"
    assert two_factor_required(fresh(clinic_a, user), clinic_a.clinic)


def test_a_custom_role_without_administrative_capabilities_is_not_asked(clinic_a, client_for):
    make_role(clinic_a, "Lab technician", ["patients.view", "documents.upload"])
    user = make_user(clinic_a, "lab@alpha.example.in", "lab-technician")
    require_2fa(clinic_a)
    client = client_for(clinic_a)
    password_login(client, user.email, PASSWORD)
    assert client.get("/").status_code == 200


def test_an_administrator_cannot_give_themselves_another_role(clinic_a, client_for):
    """The old escape: a custom role with the same power but another name dodged required 2FA."""
    administrator = clinic_a.users["administrator"]
    escape = make_role(clinic_a, "Office manager", ["staff.manage", "patients.view"])
    response = client_for(clinic_a, "administrator").post(
        f"/settings/staff/{administrator.pk}/", edit_data(clinic_a, administrator, role=str(escape.pk))
    )
    assert response.status_code == 200
    assert "You cannot change your own role" in response.content.decode()
    assert get_user(clinic_a, pk=administrator.pk).role.slug == "administrator"
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError, match="your own role"):
        me = fresh(clinic_a, administrator)
        services.staff_update(user=me, actor=me, role=escape)


def test_one_may_still_edit_ones_own_details(clinic_a, client_for):
    owner = clinic_a.users["owner"]
    response = client_for(clinic_a, "owner").post(
        f"/settings/staff/{owner.pk}/", edit_data(clinic_a, owner, full_name="Dr. Alpha Owner")
    )
    assert response.status_code == 302
    assert get_user(clinic_a, pk=owner.pk).full_name == "Dr. Alpha Owner"
