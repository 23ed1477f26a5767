"""`make run`: services, migrations, the demo clinic, then web + Celery worker + beat.

Ctrl-C stops every process this started (and the embedded services, if any).
With DATABASE_URL set, a database the server lacks is created first (or one line says what to do).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from docos import embedded

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST, PORT = os.environ.get("DOCOS_HOST", "127.0.0.1"), os.environ.get("DOCOS_PORT", "8000")


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def database_ensure(url: str) -> str | None:
    """Make sure the database DATABASE_URL names exists: create it when the server allows.

    Returns None when the database is there (or was just created), else one line saying what to do."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        psycopg.connect(url, connect_timeout=10).close()
        return None
    except psycopg.Error as exc:
        # psycopg has no SQLSTATE for connection failures; the server's message names the database.
        missing = re.search(r'database "(.+?)" does not exist', str(exc))
        if missing is None:
            return (
                f"cannot connect to the PostgreSQL of DATABASE_URL ({_first_line(exc)}): start it or fix "
                "DATABASE_URL (unset it to use the embedded PostgreSQL)"
            )
    name = str(conninfo_to_dict(url).get("dbname") or missing.group(1))
    problem = ""
    for maintenance_db in ("postgres", "template1"):
        maintenance = make_conninfo(url, dbname=maintenance_db)
        try:
            with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return None  # created meanwhile by someone else
        except psycopg.Error as exc:
            problem = _first_line(exc)
            continue
        print(f"[docos] created database {name!r} (DATABASE_URL named a database the server did not have)", flush=True)
        return None
    return (
        f"database {name!r} does not exist and could not be created ({problem}): create it "
        f"(createdb {name}) or point DATABASE_URL at an existing database"
    )


FAKE_GRAPH_PORT = os.environ.get("DOCOS_FAKE_GRAPH_PORT", "8765")


def whatsapp_demo_env(environ: dict[str, str]) -> dict[str, str]:
    """Unless WhatsApp is configured in the environment, the demo's WhatsApp talks to the fake Graph
    API (`python -m messaging.fake_graph`, started beside the web server): replies from the inbox go
    out and get WhatsApp-like answers, with nothing leaving the machine."""
    if "WHATSAPP_ENABLED" in environ or "WHATSAPP_GRAPH_BASE_URL" in environ:
        return {}
    return {
        "WHATSAPP_ENABLED": "true",
        "WHATSAPP_GRAPH_BASE_URL": f"http://127.0.0.1:{FAKE_GRAPH_PORT}",
        "WHATSAPP_APP_SECRET": "docos-demo-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "docos-demo-verify-token",
    }


FAKE_RAZORPAY_PORT = os.environ.get("DOCOS_FAKE_RAZORPAY_PORT", "8766")


def razorpay_demo_env(environ: dict[str, str]) -> dict[str, str]:
    """Unless Razorpay is configured in the environment, the demo's payment links are made at the fake
    Razorpay (`python -m billing.fake_razorpay --demo`, started beside the web server)."""
    if "RAZORPAY_ENABLED" in environ or "RAZORPAY_BASE_URL" in environ:
        return {}
    return {
        "RAZORPAY_ENABLED": "true",
        "RAZORPAY_BASE_URL": f"http://127.0.0.1:{FAKE_RAZORPAY_PORT}",
        # DocOS's own account at the fake (billing.fake_razorpay_subscriptions' demo values).
        "RAZORPAY_PLATFORM_KEY_ID": "rzp_test_DocOSPlatform01",
        "RAZORPAY_PLATFORM_KEY_SECRET": "docos-demo-platform-key-secret",
        "RAZORPAY_PLATFORM_WEBHOOK_SECRET": "docos-demo-platform-webhook-secret",
    }


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    with embedded.services() as extra:
        whatsapp_env = whatsapp_demo_env(dict(os.environ))
        razorpay_env = razorpay_demo_env(dict(os.environ))
        env = {
            **os.environ,
            **extra,
            **whatsapp_env,
            **razorpay_env,
            "DOCOS_PUBLIC_PORT": PORT,
            "PYTHONUNBUFFERED": "1",
        }
        if "DATABASE_URL" not in extra and (problem := database_ensure(env["DATABASE_URL"])):
            print(f"[docos] {problem}", file=sys.stderr, flush=True)
            return 1
        _manage("migrate_schemas", "--noinput", "-v", "0", env=env)
        _manage("demo_seed", env=env)
        (ROOT / "var").mkdir(exist_ok=True)
        commands = {
            "worker": [
                PY,
                "-m",
                "celery",
                "-A",
                "docos",
                "worker",
                "-Q",
                "default,messaging,pdf,imaging,maintenance",
                "-c",
                "2",
                "--loglevel",
                "INFO",
            ],
            "beat": [
                PY,
                "-m",
                "celery",
                "-A",
                "docos",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            "web": [PY, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
        }
        if whatsapp_env:
            commands["whatsapp"] = [PY, "-m", "messaging.fake_graph", "--port", FAKE_GRAPH_PORT]
        if razorpay_env:
            # The demo link's pay page posts its signed webhooks to the demo clinic's route.
            commands["razorpay"] = [
                PY, "-m", "billing.fake_razorpay", "--demo", "--port", FAKE_RAZORPAY_PORT,
                "--webhook-url", f"http://localhost:{PORT}/webhooks/razorpay/docos-demo-razorpay-route/",
                "--webhook-secret", "docos-demo-webhook-secret",
                "--platform-webhook-url", f"http://localhost:{PORT}/webhooks/razorpay/platform/",
                "--platform-webhook-secret", "docos-demo-platform-webhook-secret",
            ]  # fmt: skip
        procs = {
            name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True) for name, cmd in commands.items()
        }
        print(
            f"\n[docos] DocOS is starting: open http://demo.localhost:{PORT}/  (Ctrl-C stops everything)"
            f"\n[docos] Platform console (DocOS staff, ops@docos.in): http://localhost:{PORT}/platform/\n",
            flush=True,
        )

        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"[docos] {name} exited with {proc.returncode}; stopping the rest", flush=True)
                    exit_code, stopping = proc.returncode or 1, True
            time.sleep(0.5)
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 15
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        print("[docos] stopped", flush=True)
        return exit_code


if __name__ == "__main__":
    sys.exit(main())
