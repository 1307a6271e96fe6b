"""Shared fixtures: offscreen Qt, an in-memory keyring, temporary data directories, and stores on
SQLite and on the real PostgreSQL server (a fresh database per test session).

PostgreSQL tests are marked ``postgres``. When CLERK_REQUIRE_POSTGRES=1 (set by .ci/run) an
unreachable server fails them instead of skipping them.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CLERK_APP_NO_SYSTEM_KEYRING", "1")

import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest

from clerk_app import i18n

PG_ADMIN_URL = os.environ.get("CLERK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CLERK_REQUIRE_POSTGRES") == "1"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A secure-enough keyring for tests: lives in memory, never touches the machine's own."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def chinese_ui() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("zh_CN")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CLERK_APP_DATA_DIR", str(folder))
    return folder


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_available()
    if problem:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({problem})"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"clerk_t_{uuid.uuid4().hex[:12]}"
    roles = "SELECT rolname FROM pg_roles WHERE rolname LIKE 'ws\\_%'"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        before = {r[0] for r in conn.execute(roles)}
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # the workstation roles the test registered (their rights went with the database)
            for (role,) in conn.execute(roles).fetchall():
                if role not in before:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(f'DROP ROLE "{role}"')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a store test on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'store.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def station(qapp: object, data_dir: Path) -> Iterator[object]:
    """A workstation on the demo hall, signed out (the GUI tests sign in). The GUI is imported
    here, not at the top of this file: most tests never need it."""
    from clerk_app.gui import app as gui_app
    from clerk_app.gui.workstation import Workstation
    from clerk_app.services.demo import ensure_demo
    from clerk_app.services.runtime import open_runtime
    from clerk_app.settings import resolve_paths

    gui_app.configure(qapp, "zh_CN")  # type: ignore[arg-type]
    runtime = open_runtime(resolve_paths(data_dir))
    ensure_demo(runtime.central, runtime.local)
    ws = Workstation(runtime, qapp)  # type: ignore[arg-type]
    ws.errors.interactive = False
    yield ws
    if ws.window is not None:
        ws.window.close()
    ws.shutdown()
