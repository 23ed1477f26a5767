"""The demo clinic `make run` creates. Each app may add a `demo.py` with `seed(clinic)`; they run in
INSTALLED_APPS order inside the demo clinic's schema, only when the clinic is first created."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from accounts.services import platform_staff_save
from clinics.models import Clinic
from clinics.services import clinic_create
from docos.tenancy import clinic_url

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-clinic-2026"
DEMO_STAFF = [
    # (role, email, name, registration number, qualifications, the one branch they work at or "" for all)
    ("owner", "owner@demo.docos.in", "Dr. Vikram Rao", "KMC-48213", "MBBS, MD (Internal Medicine)", ""),
    ("administrator", "admin@demo.docos.in", "Meera Krishnan", "", "", ""),
    ("doctor", "doctor@demo.docos.in", "Dr. Ananya Iyer", "KMC-61577", "MBBS, DNB (Family Medicine)", ""),
    ("nurse", "nurse@demo.docos.in", "Priya Nair", "", "GNM", ""),
    ("front_desk", "frontdesk@demo.docos.in", "Rahul Verma", "", "", ""),
    ("accounts", "accounts@demo.docos.in", "Kavya Reddy", "", "B.Com, CA Inter", ""),
    ("pharmacist", "pharmacist@demo.docos.in", "Farhan Sheikh", "", "B.Pharm", ""),
    ("doctor", "indiranagar@demo.docos.in", "Dr. Sameer Khan", "KMC-70342", "MBBS, MD (Paediatrics)", "Indiranagar"),
]

# DocOS's own operator, for the platform console on the public domain (/platform/). Platform staff
# always sign in with a TOTP code too: add this (demo-only) secret to an authenticator app.
DEMO_PLATFORM_STAFF = ("ops@docos.in", "Nandini Rao")
DEMO_PLATFORM_TOTP = "DOCOSDEMOPLATFORMOPSTOTP"

# The nurse uses DocOS in Hindi (her own choice on her account page); everyone else in English.
DEMO_LANGUAGES = {"nurse@demo.docos.in": "hi"}

# Each branch prints its own address, phone and establishment registration on its documents.
DEMO_BRANCHES = {
    "Koramangala": {
        "address": "14, 80 Feet Road, Koramangala 4th Block, Bengaluru 560034",
        "phone": "+918041234567",
        "registration_number": "KPME/BBMP/2019/04127",
    },
    "Indiranagar": {
        "address": "221, 100 Feet Road, HAL 2nd Stage, Indiranagar, Bengaluru 560038",
        "phone": "+918049876543",
        "registration_number": "KPME/BBMP/2023/11862",
    },
}


def demo_seed() -> tuple[Clinic, bool]:
    existing = Clinic.objects.filter(slug=DEMO_SLUG).first()
    if existing:
        return existing, False
    _, owner_email, owner_name, reg, qual, _ = DEMO_STAFF[0]
    with transaction.atomic():
        created = clinic_create(
            slug=DEMO_SLUG,
            name="Sunrise Family Clinic",
            owner_email=owner_email,
            owner_name=owner_name,
            owner_password=DEMO_PASSWORD,
            gstin="29AAGCS1234K1Z7",
            billing_address="14, 80 Feet Road, Koramangala 4th Block, Bengaluru 560034",
            billing_state="Karnataka",
            locations=("Koramangala", "Indiranagar"),
        )
        clinic = created.clinic
        with tenant_context(clinic):
            User.objects.filter(pk=created.owner.pk).update(
                registration_number=reg, qualifications=qual, phone="+919845012345"
            )
            for name, details in DEMO_BRANCHES.items():
                Location.objects.filter(name=name).update(**details)
            for role, email, name, reg_no, quals, branch in DEMO_STAFF[1:]:
                user = User.objects.create_user(
                    email,
                    DEMO_PASSWORD,
                    full_name=name,
                    role=Role.objects.get(slug=role),
                    registration_number=reg_no,
                    qualifications=quals,
                    language=DEMO_LANGUAGES.get(email, ""),
                )
                if branch:
                    user.locations.set(Location.objects.filter(name=branch))
            for config in apps.get_app_configs():
                try:
                    module = importlib.import_module(f"{config.name}.demo")
                except ModuleNotFoundError:
                    continue
                if module.__name__ != __name__ and hasattr(module, "seed"):
                    module.seed(clinic)
        # DocOS's plans and the clinic's own (active) subscription, in the public schema.
        from clinics import demo_subscription

        demo_subscription.seed(clinic)
        platform_staff_save(
            email=DEMO_PLATFORM_STAFF[0],
            password=DEMO_PASSWORD,
            full_name=DEMO_PLATFORM_STAFF[1],
            totp_secret=DEMO_PLATFORM_TOTP,
        )
    return clinic, True


def demo_banner(clinic: Clinic) -> str:
    lines = [f"Demo clinic: {clinic.name}  ->  {clinic_url(clinic)}", f"Password for every demo login: {DEMO_PASSWORD}"]
    lines += [
        f"  {role:<14} {email:<28} {name}"
        + (f" (works at {branch} only)" if branch else "")
        + (" (uses DocOS in Hindi)" if email in DEMO_LANGUAGES else "")
        for role, email, name, _, _, branch in DEMO_STAFF
    ]
    public = clinic_url(clinic, "/platform/").replace(f"//{clinic.slug}.", "//", 1)
    lines += [
        f"Platform console (DocOS staff): {public}",
        f"  {'platform':<14} {DEMO_PLATFORM_STAFF[0]:<28} {DEMO_PLATFORM_STAFF[1]} (same password; TOTP secret "
        f"{DEMO_PLATFORM_TOTP}: add it to an authenticator app)",
    ]
    return "\n".join(lines)
