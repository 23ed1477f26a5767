"""Commands run next to `make run` (manage.py in another terminal) find its embedded services, and
`make run` creates a missing DATABASE_URL database (or says in one line what to do)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql
from psycopg.conninfo import make_conninfo

from docos import embedded, launcher

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("django_db_setup")  # database_url() names the test database


def dead_pid() -> int:
    """A pid that no process has (a short-lived child that has been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def database_url() -> str:
    """A URL of this run's test database (DATABASE_URL names its server)."""
    return f"{os.environ['DATABASE_URL'].rsplit('/', 1)[0]}/{connection.settings_dict['NAME']}"


def redis_url() -> str:
    return str(settings.REDIS_URL)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "embedded.json"


# --- publishing and finding running services ------------------------------------------------------


def test_published_services_of_a_live_process_are_found(state_file):
    urls = {"DATABASE_URL": database_url(), "REDIS_URL": redis_url()}
    embedded.publish(urls, state_file=state_file)
    assert embedded.running_services(state_file) == urls
    embedded.unpublish(state_file=state_file)
    assert embedded.running_services(state_file) == {}
    assert not state_file.exists()


def test_services_stay_published_while_any_holder_lives(state_file):
    urls = {"REDIS_URL": redis_url()}
    embedded.publish(urls, pid=os.getppid(), state_file=state_file)  # e.g. `make run`
    embedded.publish(urls, state_file=state_file)  # e.g. `make test` attached to the same servers
    embedded.unpublish(state_file=state_file)
    assert embedded.running_services(state_file) == urls
    assert json.loads(state_file.read_text())["REDIS_URL"]["pids"] == [os.getppid()]


def test_a_dead_holder_is_ignored(state_file):
    embedded.publish({"REDIS_URL": redis_url()}, pid=dead_pid(), state_file=state_file)
    assert embedded.running_services(state_file) == {}


def test_a_server_that_does_not_answer_is_ignored(state_file):
    embedded.publish(
        {
            "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
            "DATABASE_URL": f"postgres://postgres@{quote('/nonexistent/socket/dir', safe='')}/docos",
        },
        state_file=state_file,
    )
    assert embedded.running_services(state_file) == {}


def test_a_port_that_answers_but_is_not_redis_is_ignored(state_file):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        embedded.publish({"REDIS_URL": f"redis://127.0.0.1:{server.getsockname()[1]}/0"}, state_file=state_file)
        assert embedded.running_services(state_file) == {}


def test_postgres_over_a_unix_socket_is_found(state_file, tmp_path):
    # The embedded PostgreSQL listens on var/pg/.s.PGSQL.5432; a listening socket stands in for it.
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / ".s.PGSQL.5432"))
        server.listen()
        url = f"postgres://postgres@{quote(str(tmp_path), safe='')}/docos"
        embedded.publish({"DATABASE_URL": url}, state_file=state_file)
        assert embedded.running_services(state_file) == {"DATABASE_URL": url}


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"REDIS_URL": "redis://x"}', '{"OTHER": {"url": "x"}}'])
def test_a_missing_or_garbled_state_file_finds_nothing(state_file, content):
    assert embedded.running_services(state_file) == {}
    state_file.write_text(content)
    assert embedded.running_services(state_file) == {}


# --- manage.py ----------------------------------------------------------------------------------------


def test_use_running_fills_only_unset_urls(state_file):
    embedded.publish({"DATABASE_URL": database_url(), "REDIS_URL": redis_url()}, state_file=state_file)
    environ = {"REDIS_URL": "redis://elsewhere:6379/1"}
    assert embedded.use_running(environ, state_file) == ["DATABASE_URL"]
    assert environ == {"DATABASE_URL": database_url(), "REDIS_URL": "redis://elsewhere:6379/1"}


@pytest.mark.parametrize(
    ("argv", "environ", "wanted"),
    [
        (["manage.py", "clinic_create"], {}, True),
        (["manage.py", "migrate_schemas"], {"DATABASE_URL": "postgres://x/y"}, True),  # Redis still unset
        (["manage.py", "clinic_create"], {"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x"}, False),
        (["manage.py", "clinic_create"], {"DJANGO_SETTINGS_MODULE": "docos.settings.prod"}, False),
        (["manage.py"], {}, False),
        (["manage.py", "help"], {}, False),
    ],
)
def test_when_manage_py_wants_the_embedded_services(argv, environ, wanted):
    assert embedded._wants_services(argv, environ) is wanted


def test_manage_py_uses_the_services_a_running_process_published(tmp_path):
    """A real manage.py process, its URLs unset, reaches the servers published in var/embedded.json
    (here: this test's own PostgreSQL and Redis, published by this process)."""
    state = Path(embedded.STATE_FILE)
    if state.exists():
        pytest.skip("var/embedded.json exists: an embedded `make run` or `make test` is running in this checkout")
    embedded.publish({"DATABASE_URL": database_url(), "REDIS_URL": redis_url()})
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["DJANGO_SETTINGS_MODULE"] = "docos.settings.dev"
        script = (
            "from django.conf import settings; from django.db import connection; "
            "from django_redis import get_redis_connection; "
            "connection.ensure_connection(); get_redis_connection('default').ping(); "
            "print(settings.DATABASES['default']['NAME'], settings.REDIS_URL)"
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        embedded.unpublish()
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [database_url().rsplit("/", 1)[-1], redis_url()]


# --- make run with a DATABASE_URL whose database does not exist ----------------------------------------


def test_a_missing_database_is_created_once():
    name = f"docos_ensure_{uuid.uuid4().hex[:10]}"
    url = make_conninfo(database_url(), dbname=name)
    try:
        assert launcher.database_ensure(url) is None
        assert launcher.database_ensure(url) is None  # now it exists: nothing to do
        psycopg.connect(url).close()
    finally:
        with psycopg.connect(database_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_an_existing_database_is_left_alone(capsys):
    assert launcher.database_ensure(database_url()) is None
    assert "created" not in capsys.readouterr().out


def test_an_unreachable_server_is_one_line():
    problem = launcher.database_ensure(f"postgres://postgres@127.0.0.1:{closed_port()}/docos")
    assert problem is not None and "\n" not in problem
    assert problem.startswith("cannot connect to the PostgreSQL of DATABASE_URL")


def test_a_database_that_cannot_be_created_is_one_line():
    role = f"docos_nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    try:
        url = make_conninfo(database_url(), user=role, dbname=f"{role}_db")
        problem = launcher.database_ensure(url)
        assert problem is not None and "\n" not in problem
        assert f"database '{role}_db' does not exist and could not be created" in problem
        assert f"createdb {role}_db" in problem
    finally:
        with psycopg.connect(database_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
