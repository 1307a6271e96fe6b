"""Shared helpers of the supervision tests (not a test module)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.tasks import TaskRunner
from clerk_app.security.roles import Role
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.demo import ensure_demo
from clerk_app.services.runtime import Runtime, open_central, open_store
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import User

#: 2025-09-30 10:00 in the hall (UTC+8): the day before the National Day holidays
START = dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC)


class Clock:
    """A settable clock for the services."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += dt.timedelta(**delta)


def open_demo_runtime(folder: Path, local_url: str | None = None) -> Iterator[Runtime]:
    """A runtime whose local store is ``local_url`` (SQLite or PostgreSQL) with the demo hall."""
    paths = resolve_paths(folder).ensure()
    local = open_store(local_url or sqlite_url(paths.local_store))
    central_url = sqlite_url(paths.embedded_central)
    central = open_central(central_url, local)
    runtime = Runtime(paths, Settings(), local, central, central_url)
    ensure_demo(central, local)
    try:
        yield runtime
    finally:
        runtime.close()


def session_for(runtime: Runtime, username: str, window: int | None) -> UserSession:
    with runtime.local.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return UserSession(user.id, user.username, user.display_name, Role(user.role), window, "演示大厅")


class Contexts:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.errors = ErrorReporter(runtime.paths.crash_reports)
        self.errors.interactive = False
        self.tasks = TaskRunner(self.errors)
        self.auth = AuthService(runtime)

    def of(self, username: str, window: int | None) -> PageContext:
        session = session_for(self.runtime, username, window)
        return PageContext(self.runtime, session, self.tasks, self.errors, self.auth)
