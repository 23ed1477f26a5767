"""`make run`: services, migrations, the demo clinic, then web + Celery worker + beat.

Ctrl-C stops every process this started (and the embedded services, if any).
"""

from __future__ import annotations

import os
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


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    with embedded.services() as extra:
        env = {**os.environ, **extra, "DOCOS_PUBLIC_PORT": PORT, "PYTHONUNBUFFERED": "1"}
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
        procs = {
            name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True) for name, cmd in commands.items()
        }
        print(
            f"\n[docos] DocOS is starting: open http://demo.localhost:{PORT}/  (Ctrl-C stops everything)\n", flush=True
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
