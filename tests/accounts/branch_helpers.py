"""A clinic with a manager restricted to one branch, and staff at each branch (for guard tests)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Role, User
from tests.accounts.console_helpers import make_role, make_user
from tests.conftest import SeededClinic

MANAGER_CAPS = ["staff.manage", "patients.view", "appointments.view", "documents.upload"]


@dataclass
class Branches:
    manager: User  # staff.manage, works at Main branch only
    main_clerk: User  # Reception role, Main branch
    east_clerk: User  # Reception role, East branch
    reception: Role  # custom role within the manager's capabilities


def branches(seeded: SeededClinic) -> Branches:
    east, main = seeded.locations  # sorted by name
    make_role(seeded, "Branch manager", MANAGER_CAPS)
    reception = make_role(seeded, "Reception", ["patients.view", "appointments.view"])
    return Branches(
        manager=make_user(seeded, "branch-manager@alpha.example.in", "branch-manager", locations=[main]),
        main_clerk=make_user(seeded, "main-clerk@alpha.example.in", "reception", locations=[main]),
        east_clerk=make_user(seeded, "east-clerk@alpha.example.in", "reception", locations=[east]),
        reception=reception,
    )
