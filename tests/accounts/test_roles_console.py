"""Roles: built-in roles are read-only; custom roles bundle capabilities their creator holds."""

from __future__ import annotations

from accounts.models import Role
from tests.accounts.console_helpers import audit_events, make_role, make_user, role


def test_roles_page_lists_builtin_roles(clinic_a, client_for):
    html = client_for(clinic_a, "owner").get("/settings/roles/").content.decode()
    for name in ("Owner", "Administrator", "Doctor", "Nurse", "Front desk", "Pharmacist"):
        assert name in html
    assert "Built-in" in html


def test_owner_creates_a_custom_cashier_role(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "owner").post(
        "/settings/roles/new/",
        {
            "name": "Cashier",
            "description": "Invoices and refunds",
            "capabilities": ["billing.view", "billing.collect", "billing.refund"],
        },
    )
    assert response.status_code == 302
    with in_tenant(clinic_a):
        accounts = Role.objects.get(name="Cashier")
    assert accounts.slug == "cashier"
    assert not accounts.is_builtin
    assert accounts.capabilities == ["billing.collect", "billing.refund", "billing.view"]
    (event,) = audit_events(clinic_a, "role.create")
    assert event.metadata["capabilities"] == accounts.capabilities
    # The new role can be given to staff straight away.
    html = client_for(clinic_a, "owner").get("/settings/staff/invite/").content.decode()
    assert ">Cashier<" in html


def test_role_needs_a_unique_name_and_at_least_one_capability(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    response = client.post("/settings/roles/new/", {"name": "nurse", "capabilities": ["patients.view"]})
    assert "A role named nurse already exists." in response.content.decode()
    response = client.post("/settings/roles/new/", {"name": "Empty"})
    assert "Tick at least one capability." in response.content.decode()


def test_unknown_capability_is_rejected(clinic_a, client_for):
    response = client_for(clinic_a, "owner").post(
        "/settings/roles/new/", {"name": "Hacker", "capabilities": ["root.everything"]}
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in response.content.decode()


def test_manager_cannot_create_a_role_with_capabilities_they_lack(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "administrator").post(
        "/settings/roles/new/", {"name": "Signer", "capabilities": ["patients.view", "prescriptions.sign"]}
    )
    assert response.status_code == 200
    assert "You can only give capabilities you have yourself" in response.content.decode()
    with in_tenant(clinic_a):
        assert not Role.objects.filter(name="Signer").exists()


def test_capabilities_the_manager_lacks_are_shown_disabled(clinic_a, client_for):
    html = client_for(clinic_a, "administrator").get("/settings/roles/new/").content.decode()
    assert 'value="prescriptions.sign" id="cap-prescriptions-sign" disabled' in html
    assert 'value="billing.refund" id="cap-billing-refund">' in html


def test_builtin_roles_are_read_only(clinic_a, client_for):
    nurse_role = role(clinic_a, "nurse")
    client = client_for(clinic_a, "owner")
    page = client.get(f"/settings/roles/{nurse_role.pk}/").content.decode()
    assert "Built-in roles are read-only" in page
    assert "Create role" not in page and "Save role" not in page
    response = client.post(f"/settings/roles/{nurse_role.pk}/", {"name": "Nurse", "capabilities": ["patients.view"]})
    assert "Built-in roles cannot be changed" in response.content.decode()
    assert role(clinic_a, "nurse").capabilities == nurse_role.capabilities
    client.post(f"/settings/roles/{nurse_role.pk}/delete/")
    assert role(clinic_a, "nurse")


def test_custom_role_is_edited_and_changes_are_audited(clinic_a, client_for):
    custom = make_role(clinic_a, "Lab", ["patients.view"])
    response = client_for(clinic_a, "owner").post(
        f"/settings/roles/{custom.pk}/",
        {"name": "Lab technician", "capabilities": ["patients.view", "documents.upload"]},
    )
    assert response.status_code == 302
    updated = role(clinic_a, "lab")
    assert updated.name == "Lab technician"
    assert updated.capabilities == ["documents.upload", "patients.view"]
    (event,) = audit_events(clinic_a, "role.update")
    assert event.metadata == {"added": ["documents.upload"], "removed": []}


def test_manager_cannot_edit_a_custom_role_holding_more_than_they_do(clinic_a, client_for):
    custom = make_role(clinic_a, "Clinician", ["patients.view", "clinical.sign"])
    client = client_for(clinic_a, "administrator")
    assert "You cannot edit this role" in client.get(f"/settings/roles/{custom.pk}/").content.decode()
    response = client.post(f"/settings/roles/{custom.pk}/", {"name": "Clinician", "capabilities": ["patients.view"]})
    assert "You cannot edit the Clinician role" in response.content.decode()
    assert role(clinic_a, "clinician").capabilities == ["clinical.sign", "patients.view"]


def test_custom_role_in_use_cannot_be_deleted_until_unused(clinic_a, client_for, in_tenant):
    custom = make_role(clinic_a, "Temp", ["patients.view"])
    holder = make_user(clinic_a, "temp@alpha.example.in", "temp")
    client = client_for(clinic_a, "owner")
    response = client.post(f"/settings/roles/{custom.pk}/delete/", follow=True)
    assert "1 staff member has the Temp role" in response.content.decode()
    with in_tenant(clinic_a):
        assert Role.objects.filter(pk=custom.pk).exists()
        holder.role = None
        holder.save(update_fields=["role"])
    assert client.post(f"/settings/roles/{custom.pk}/delete/").status_code == 302
    with in_tenant(clinic_a):
        assert not Role.objects.filter(pk=custom.pk).exists()
    assert audit_events(clinic_a, "role.delete")[0].metadata["slug"] == "temp"
