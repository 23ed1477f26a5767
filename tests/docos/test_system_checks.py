"""System checks: the key ring must be present and well formed; production refuses committed secrets."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from docos.crypto import generate_key_spec
from docos.devkeys import DEV_ENCRYPTION_KEYS, TEST_ENCRYPTION_KEYS

BASE_DIR = Path(__file__).resolve().parents[2]
KEY16 = base64.b64encode(b"0" * 16).decode()
KEY32 = base64.b64encode(b"1" * 32).decode()


def _docos_errors() -> list[str]:
    return sorted(m.id for m in run_checks() if m.id and m.id.startswith("docos.") and m.is_serious())


@pytest.mark.parametrize(
    "ring",
    [
        "",
        " , ",
        "no-colon-here",
        "k1:not*base64",
        f"k1:{KEY16}",
        f"k1:{KEY32},k1:{KEY32}",
        f"bad kid:{KEY32}",
        f":{KEY32}",
        f"{'k' * 33}:{KEY32}",
    ],
)
def test_missing_or_malformed_key_ring_fails_the_system_check(ring):
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring):
        assert _docos_errors() == ["docos.E001"]


def test_management_commands_refuse_to_start_with_a_malformed_ring():
    with override_settings(DOCOS_ENCRYPTION_KEYS="k1:short"), pytest.raises(SystemCheckError, match=r"docos\.E001"):
        call_command("check")


def test_well_formed_ring_passes():
    with override_settings(DOCOS_ENCRYPTION_KEYS=f"{generate_key_spec('k2')},{TEST_ENCRYPTION_KEYS}"):
        assert _docos_errors() == []


@pytest.mark.parametrize("committed", [DEV_ENCRYPTION_KEYS, TEST_ENCRYPTION_KEYS])
def test_production_refuses_the_committed_dev_and_test_keys_under_any_key_id(committed):
    renamed = "prod7:" + committed.partition(":")[2]
    for ring in (committed, renamed, f"{generate_key_spec('p1')},{renamed}"):
        with override_settings(DOCOS_PRODUCTION=True, DOCOS_ENCRYPTION_KEYS=ring, SECRET_KEY=secrets.token_urlsafe(64)):
            assert _docos_errors() == ["docos.E002"], ring
    with override_settings(DOCOS_PRODUCTION=False, DOCOS_ENCRYPTION_KEYS=committed):
        assert _docos_errors() == []


def test_production_refuses_the_development_secret_key():
    with override_settings(
        DOCOS_PRODUCTION=True,
        DOCOS_ENCRYPTION_KEYS=generate_key_spec("p1"),
        SECRET_KEY="dev-insecure-secret-key-change-me-0123456789abcdef",
    ):
        assert _docos_errors() == ["docos.E003"]


def _prod_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DOCOS_", "SENTRY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="docos.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DOCOS_ENCRYPTION_KEYS=generate_key_spec("prod1"),
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docos"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        DOCOS_TRUSTED_PROXIES="10.0.0.0/8",
    )
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_deploy_with_production_settings_reports_no_issues():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_prod_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr and "ERRORS" not in result.stderr


def test_production_settings_refuse_the_test_key_at_start_up():
    result = _manage("check", env=_prod_env(DOCOS_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS))
    assert result.returncode != 0
    assert "docos.E002" in result.stderr


def test_production_settings_require_their_secrets():
    env = _prod_env()
    del env["DOCOS_ENCRYPTION_KEYS"]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "Set the DOCOS_ENCRYPTION_KEYS environment variable" in result.stderr
