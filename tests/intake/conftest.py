"""Fixtures of the intake tests: a local store (SQLite and PostgreSQL), a fixed clock, clerk
sessions and forms that the demo catalogue accepts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import pytest

from clerk_app.domain.catalogue import FieldType
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.intake import (
    ApplicantIn,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
    extra_fields_of,
)
from clerk_app.services.runtime import open_store
from clerk_app.store.uow import Store

CST = dt.timezone(dt.timedelta(hours=8))
#: 2025-09-30 10:00 in the hall: with 5 working days the promise is 2025-10-14 (DOMAIN.md)
ACCEPTED_AT = dt.datetime(2025, 9, 30, 10, 0, tzinfo=CST)

FOOD_LICENCE = "113501000300100158000105005000005"  # 食品经营许可, promised 5 working days
SOLE_TRADER = "113501000300100158000105004000004"  # 个体工商户设立登记, 即办件
RESTAURANT_BUNDLE = "YJS-003"  # 开餐馆
VALID_ID = "11010519491231002X"
BAD_CHECK_ID = "110105194912310021"
VALID_CREDIT = "91350100M000100Y43"

_CATALOGUE = load_demo_catalogue()
_CALENDAR = WorkCalendar()


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)


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


def make_session(role: Role = Role.CLERK, window: int | None = 7, name: str = "王晓燕") -> UserSession:
    return UserSession(uuid.uuid4(), "wangxy", name, role, window, "示范政务服务中心")


@pytest.fixture
def clerk() -> UserSession:
    return make_session()


def person(**changes: str) -> ApplicantIn:
    base = {
        "name": "张三",
        "id_type": "111",
        "id_number": VALID_ID,
        "phone": "138 0013 8000",
        "address": "福州市鼓楼区",
    }
    base.update(changes)
    return ApplicantIn(**base)


def all_received(service: IntakeService, codes: tuple[str, ...], bundle: str = "") -> tuple[MaterialIn, ...]:
    return tuple(MaterialIn(m.key, MaterialState.RECEIVED) for m in service.materials_for(codes, bundle))


def sample_extras(codes: tuple[str, ...], bundle: str = "") -> tuple[tuple[str, str], ...]:
    """A valid value for every required matter-specific field of ``codes`` (and the bundle)."""
    samples = {
        FieldType.CHOICE: "",
        FieldType.NUMBER: "10",
        FieldType.DATE: "2025-10-08",
        FieldType.TEXT: "示例",
    }
    chosen = list(_CATALOGUE.bundle(bundle).matter_codes) if bundle else []
    chosen.extend(codes)
    return tuple(
        (f.name, f.choices[0] if f.type is FieldType.CHOICE else samples[f.type])
        for f in extra_fields_of(_CATALOGUE.matter(code) for code in chosen)
        if f.required
    )


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
