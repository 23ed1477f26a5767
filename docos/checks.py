"""System checks for the shared kernel: the encryption key ring, production secrets, trusted proxies.

They run with every management command (migrate, runserver, check), so a deployment with a
missing or malformed key ring stops at start-up instead of failing on the first encrypted read.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from docos import crypto
from docos.devkeys import WELL_KNOWN_KEY_SPECS

INSECURE_SECRET_KEY_PREFIXES = ("dev-insecure-", "django-insecure-")


def _well_known_keys() -> set[bytes]:
    keys: set[bytes] = set()
    for spec in WELL_KNOWN_KEY_SPECS:
        keys.update(crypto.key_ring_material(spec).values())
    return keys


def is_production() -> bool:
    return bool(getattr(settings, "DOCOS_PRODUCTION", False))


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    spec = getattr(settings, "DOCOS_ENCRYPTION_KEYS", "")
    try:
        material = crypto.key_ring_material(spec)
    except crypto.KeyRingError as exc:
        return [
            Error(
                f"The encryption key ring is missing or malformed: {exc}",
                hint="Set DOCOS_ENCRYPTION_KEYS to 'kid:base64key[,oldkid:base64key...]' with 32 random bytes "
                "per key, e.g. k1:$(python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')",
                id="docos.E001",
            )
        ]
    if is_production():
        leaked = sorted(kid for kid, key in material.items() if key in _well_known_keys())
        if leaked:
            return [
                Error(
                    f"DOCOS_ENCRYPTION_KEYS contains a development/test key (key id {', '.join(leaked)}); "
                    "those keys are committed to the repository and protect nothing.",
                    hint="Generate a fresh key, put it first, and run `manage.py encryption_rotate`.",
                    id="docos.E002",
                )
            ]
    return []


@register(Tags.security)
def check_production_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if is_production() and str(settings.SECRET_KEY).startswith(INSECURE_SECRET_KEY_PREFIXES):
        return [
            Error(
                "DJANGO_SECRET_KEY is the development default.",
                hint="Set DJANGO_SECRET_KEY to at least 50 random characters.",
                id="docos.E003",
            )
        ]
    return []


@register(Tags.security)
def check_trusted_proxies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DOCOS_TRUSTED_PROXIES must parse; production behind a proxy should name it."""
    entries = list(getattr(settings, "DOCOS_TRUSTED_PROXIES", []) or [])
    bad = []
    for entry in entries:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            bad.append(str(entry))
    if bad:
        return [
            Error(
                f"DOCOS_TRUSTED_PROXIES has entries that are not IP addresses or networks: {', '.join(bad)}.",
                hint="Use a comma-separated list like 10.0.0.0/8,192.0.2.10.",
                id="docos.E004",
            )
        ]
    if is_production() and not entries:
        return [
            Warning(
                "DOCOS_TRUSTED_PROXIES is empty: behind a TLS proxy every request appears to come from the "
                "proxy, so per-address sign-in limits block everyone at once and the audit log records the "
                "proxy's address.",
                hint="Set DOCOS_TRUSTED_PROXIES to the addresses (or CIDR ranges) of your proxies / load "
                "balancers. If clients really connect directly, silence docos.W001.",
                id="docos.W001",
            )
        ]
    return []
