"""Fixtures of the intake tests: a local store (SQLite and PostgreSQL), a fixed clock, clerk
sessions and forms that the demo catalogue accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from intake_helpers import (
    _CALENDAR,
    _CATALOGUE,
    ACCEPTED_AT,
    FOOD_LICENCE,
    Clock,
    all_received,
    make_session,
    person,
    sample_extras,
)

from clerk_app.services.auth import UserSession
from clerk_app.services.intake import IntakeForm, IntakeService
from clerk_app.services.runtime import open_store
from clerk_app.store.uow import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(ACCEPTED_AT)


@pytest.fixture
def service(store: Store, clock: Clock) -> IntakeService:
    return IntakeService(store, _CATALOGUE, _CALENDAR, clock=clock)


@pytest.fixture
def clerk() -> UserSession:
    return make_session()


@pytest.fixture
def complete_form(service: IntakeService) -> Callable[..., IntakeForm]:
    def build(codes: tuple[str, ...] = (FOOD_LICENCE,), **changes: object) -> IntakeForm:
        form = IntakeForm(
            applicant=person(),
            matter_codes=codes,
            materials=all_received(service, codes),
            extra=sample_extras(codes),
        )
        return IntakeForm(**{**{f: getattr(form, f) for f in IntakeForm.__dataclass_fields__}, **changes})

    return build
