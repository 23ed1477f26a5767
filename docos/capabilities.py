"""The one registry of capabilities (`feature.action`) and the built-in roles that bundle them.

Views, DRF permissions and template menus all read from here. Adding an endpoint means naming
the capability it needs; an endpoint that names none is denied (see tests/test_url_capabilities.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    code: str
    label: str
    group: str


CAPABILITIES: dict[str, Capability] = {
    c.code: c
    for c in [
        Capability("patients.view", "View patient demographics", "Patients"),
        Capability("patients.edit", "Register and edit patients", "Patients"),
        Capability("patients.merge", "Merge duplicate patients", "Patients"),
        Capability("patients.import", "Import patient lists", "Patients"),
        Capability(
            "patients.cross_branch",
            "Open a patient of another branch (with a reason; audited, time-limited)",
            "Patients",
        ),
        Capability("clinical.view", "Read visits and clinical notes", "Clinical"),
        Capability("clinical.edit", "Write visits and clinical notes", "Clinical"),
        Capability("clinical.sign", "Sign visits", "Clinical"),
        Capability("prescriptions.view", "View prescriptions", "Clinical"),
        Capability("prescriptions.write", "Draft prescriptions", "Clinical"),
        Capability("prescriptions.sign", "Sign prescriptions", "Clinical"),
        Capability("documents.view", "View and download patient documents", "Clinical"),
        Capability("documents.upload", "Upload patient documents", "Clinical"),
        Capability("consents.manage", "Prepare and sign consent forms", "Clinical"),
        Capability("certificates.sign", "Sign certificates", "Clinical"),
        Capability("imaging.view", "View imaging studies (DICOM) and their images", "Imaging"),
        Capability("imaging.upload", "Upload DICOM files, folders and ZIPs", "Imaging"),
        Capability("imaging.share", "Share imaging studies by link and revoke the links", "Imaging"),
        Capability("appointments.view", "View appointments and schedules", "Appointments"),
        Capability("appointments.manage", "Book, reschedule and cancel appointments", "Appointments"),
        Capability("schedules.manage", "Edit clinician schedules and holidays", "Appointments"),
        Capability("billing.view", "View invoices and payments", "Billing"),
        Capability("billing.collect", "Create invoices and collect payments", "Billing"),
        Capability("billing.refund", "Refund payments and issue credit notes", "Billing"),
        Capability("billing.manage", "Edit the price list and billing numbering", "Billing"),
        Capability("messaging.view", "Read the WhatsApp inbox", "Messaging"),
        Capability("messaging.send", "Send WhatsApp messages", "Messaging"),
        Capability("pharmacy.dispense", "Dispense medicines", "Pharmacy"),
        Capability("settings.manage", "Manage clinic settings, locations and security", "Administration"),
        Capability("staff.manage", "Invite staff and change roles", "Administration"),
        Capability("audit.view", "Read and export the audit log", "Administration"),
        Capability("data.export", "Export clinic data", "Administration"),
        Capability(
            "clinic.close",
            "Close the clinic: export everything and delete it after a cooling-off period (owner only)",
            "Administration",
        ),
        Capability(
            "privacy.manage",
            "Handle patients' privacy requests (access, correction, erasure), restrictions and legal holds",
            "Administration",
        ),
    ]
}

ALL = frozenset(CAPABILITIES)

_CLINICAL_READ = {"patients.view", "clinical.view", "prescriptions.view", "documents.view", "appointments.view"}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "owner": ("Owner", ALL),
    "administrator": (
        "Administrator",
        ALL
        - {
            "clinical.edit",
            "clinical.sign",
            "prescriptions.sign",
            "certificates.sign",
            "privacy.manage",
            "clinic.close",
        },
    ),
    "doctor": (
        "Doctor",
        frozenset(
            _CLINICAL_READ
            | {
                "patients.edit",
                "patients.cross_branch",
                "clinical.edit",
                "clinical.sign",
                "prescriptions.write",
                "prescriptions.sign",
                "documents.upload",
                "imaging.view",
                "imaging.upload",
                "imaging.share",
                "consents.manage",
                "certificates.sign",
                "appointments.manage",
                "billing.view",
                "messaging.view",
                "messaging.send",
            }
        ),
    ),
    "nurse": (
        "Nurse",
        frozenset(
            _CLINICAL_READ
            | {
                "patients.edit",
                "patients.cross_branch",
                "clinical.edit",
                "documents.upload",
                "imaging.view",
                "imaging.upload",
                "consents.manage",
                "appointments.manage",
            }
        ),
    ),
    "front_desk": (
        "Front desk",
        frozenset(
            {
                "patients.view",
                "patients.edit",
                "patients.cross_branch",
                "appointments.view",
                "appointments.manage",
                "billing.view",
                "billing.collect",
                "messaging.view",
                "messaging.send",
                "documents.upload",
                "imaging.upload",
            }
        ),
    ),
    "accounts": (
        "Accounts",
        frozenset(
            {
                "patients.view",
                "billing.view",
                "billing.collect",
                "billing.refund",
                "billing.manage",
                "messaging.view",
                "messaging.send",
            }
        ),
    ),
    "pharmacist": (
        "Pharmacist",
        frozenset({"patients.view", "prescriptions.view", "pharmacy.dispense", "billing.collect"}),
    ),
}

# Capabilities that administer the clinic (settings, staff, audit, export). Decisions about
# "admins" (2FA requirement, who may manage whom) use these, never role slugs: a custom role may
# carry them too.
ADMINISTRATION_CAPABILITIES = frozenset(c.code for c in CAPABILITIES.values() if c.group == "Administration")


def validate_capabilities(codes: set[str] | list[str]) -> list[str]:
    unknown = sorted(set(codes) - ALL)
    if unknown:
        raise ValueError(f"Unknown capabilities: {', '.join(unknown)}")
    return sorted(set(codes))


def grouped() -> dict[str, list[Capability]]:
    groups: dict[str, list[Capability]] = {}
    for cap in CAPABILITIES.values():
        groups.setdefault(cap.group, []).append(cap)
    return groups
