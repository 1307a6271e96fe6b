"""Shared helpers of the queue tests (not a test module)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession

START = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall


class StepClock:
    """A clock that moves one second per reading (thread-safe), for deterministic order."""

    def __init__(self, start: dt.datetime = START, step: dt.timedelta = dt.timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            self.now += self.step
            return self.now


def clerk(window: int, role: Role = Role.CLERK) -> UserSession:
    return UserSession(uuid.UUID(int=window), f"clerk{window}", f"窗口{window}", role, window, "测试大厅")


_keys = itertools.count()


def key() -> str:
    return f"k{next(_keys)}-{uuid.uuid4().hex[:8]}"
