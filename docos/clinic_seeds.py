"""What a new clinic starts with beyond its roles, locations and owner.

Apps above `clinics` register a seed in their AppConfig.ready (`register_clinic_seed`); clinic_create
runs every seed inside the new clinic's schema and its creation transaction, so a failed seed
leaves no clinic behind. Seeds are the way to ship starting rows: the template schema a clinic is
cloned from holds no rows (tests/clinics/test_clinic_create.py checks it), so a data migration
cannot do it for new clinics. A seed must be idempotent: migrations may run it for existing ones.
"""

from __future__ import annotations

from collections.abc import Callable

_seeds: dict[str, Callable[[], object]] = {}


def register_clinic_seed(name: str, seed: Callable[[], object]) -> None:
    _seeds[name] = seed


def run_clinic_seeds() -> None:
    """Every registered seed, in the current (new) clinic's schema."""
    for seed in _seeds.values():
        seed()
