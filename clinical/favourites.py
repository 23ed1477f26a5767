"""Each doctor's favourite medicines (issue 9): a doctor stars a medicine of the clinic's formulary
or of the reference formulary; their favourites come first in their prescription line's medicine
search (marked "favourite") and are listed on their consultation screen to add with one click.
Per doctor, never per clinic: another doctor's favourite is a 404. Writes are audited."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from clinical import drug_reference, selectors
from clinical.models import FavouriteMedicine, FormularyDrug

FAVOURITES_PER_DOCTOR = 60


def favourites_of(user: User) -> QuerySet[FavouriteMedicine]:
    return FavouriteMedicine.objects.filter(owner=user).select_related("drug").order_by("name", "strength")


def favourite_access(*, user: User, favourite_id: Any) -> FavouriteMedicine:
    """The user's own favourite, or Http404 (another doctor's, a missing or a malformed id alike)."""
    try:
        return FavouriteMedicine.objects.get(pk=favourite_id, owner=user)
    except (FavouriteMedicine.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such favourite") from exc


def _resolve(key: str) -> tuple[FormularyDrug | None, drug_reference.Product | None]:
    """The clinic formulary drug or the reference product a medicine search key names."""
    if key.startswith("clinic:"):
        try:
            return FormularyDrug.objects.get(pk=uuid.UUID(key.removeprefix("clinic:"))), None
        except (FormularyDrug.DoesNotExist, ValueError):
            return None, None
    return None, drug_reference.product(key)


@transaction.atomic
def favourite_add(*, actor: User, key: str, context: AuditContext | None = None) -> FavouriteMedicine:
    """Star the medicine the search key names (idempotent: starring it again returns the same one)."""
    require_capability(actor, "prescriptions.write", "write prescriptions")
    key = (key or "").strip()[:200]
    drug, product = _resolve(key)
    if drug is None and product is None:
        raise ValidationError({"key": "Choose a medicine from the search: this one is not in the formulary."})
    existing = FavouriteMedicine.objects.filter(owner=actor, key=key).first()
    if existing is not None:
        return existing
    if FavouriteMedicine.objects.filter(owner=actor).count() >= FAVOURITES_PER_DOCTOR:
        raise ValidationError({"key": f"You have {FAVOURITES_PER_DOCTOR} favourites; remove one you no longer use."})
    if drug is not None:
        fields = {"drug": drug, "name": drug.name, "strength": drug.strength, "form": drug.form}
    else:
        assert product is not None
        fields = {"name": product.name, "strength": product.strength, "form": product.form}
    favourite = FavouriteMedicine.objects.create(owner=actor, key=key, **fields)
    audit_record(actor=actor, action="favourite_medicine.create", obj=favourite, context=context)
    return favourite


@transaction.atomic
def favourite_remove(*, actor: User, favourite: FavouriteMedicine, context: AuditContext | None = None) -> None:
    require_capability(actor, "prescriptions.write", "write prescriptions")
    if favourite.owner_id != actor.pk:
        raise Http404("No such favourite")
    audit_record(actor=actor, action="favourite_medicine.delete", obj=favourite, context=context)
    favourite.delete()


def _option(favourite: FavouriteMedicine, child_weight_kg: Decimal | None) -> selectors.MedicineOption | None:
    if favourite.drug is not None:
        option = selectors.clinic_option(favourite.drug)
    else:
        product = drug_reference.product(favourite.key)
        if product is None:  # gone from a newer formulary file: not offered
            return None
        option = selectors.reference_option(product, child_weight_kg)
    return dataclasses.replace(option, favourite=True)


def favourite_options(user: User, *, child_weight_kg: Decimal | None = None) -> list[selectors.MedicineOption]:
    """The user's favourites as medicine search answers (for the consultation screen's list)."""
    options = (_option(favourite, child_weight_kg) for favourite in favourites_of(user))
    return [option for option in options if option is not None]


def _matches(option: selectors.MedicineOption, words: list[str]) -> bool:
    haystack = drug_reference.normalize(f"{option.name} {option.generic} {option.strength} {option.form}").split()
    return all(any(token.startswith(word) for token in haystack) for word in words)


def medicine_search(
    query: str, *, user: User, limit: int = selectors.MEDICINE_RESULTS, child_weight_kg: Decimal | None = None
) -> list[selectors.MedicineOption]:
    """The medicine search for one doctor: their favourites matching the query first (by the start of
    any word of the name or the generic, "dol", "para 650"), then selectors.medicine_search without
    repeating them."""
    words = drug_reference.normalize(query).split()
    others = selectors.medicine_search(query, limit=limit, child_weight_kg=child_weight_kg)
    if not words or len(" ".join(words)) < 2:
        return others
    mine = favourite_options(user, child_weight_kg=child_weight_kg)
    starred = [option for option in mine if _matches(option, words)]
    shown, every = {option.key for option in starred}, {option.key for option in mine}
    rest = [dataclasses.replace(option, favourite=option.key in every) for option in others if option.key not in shown]
    return (starred + rest)[:limit]
