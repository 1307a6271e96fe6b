"""Fixtures of the cases-screen tests: a local store (SQLite and PostgreSQL), a clock the test
moves, clerk and supervisor sessions, and cases made through the intake service."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from case_helpers import _CALENDAR, _CATALOGUE, ACCEPTED_AT, Clock, World, make_session

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.cases import CaseService
from clerk_app.services.intake import IntakeService
from clerk_app.services.runtime import open_store
from clerk_app.store.uow import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def world(store: Store) -> World:
    clock = Clock(ACCEPTED_AT)
    return World(
        store,
        clock,
        IntakeService(store, _CATALOGUE, _CALENDAR, clock=clock),
        CaseService(store, _CATALOGUE, _CALENDAR, clock=clock),
        make_session(),
        make_session(window=8, name="李建国"),
        make_session(Role.SUPERVISOR, None, "陈静"),
    )


@pytest.fixture
def new_session() -> Callable[..., UserSession]:
    return make_session
