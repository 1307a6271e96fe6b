"""Fixtures of the cases-screen tests: a local store (SQLite and PostgreSQL), a clock the test
moves, clerk and supervisor sessions, and cases made through the intake service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import Role
from clerk_app.services import intake as intake_service
from clerk_app.services.auth import UserSession
from clerk_app.services.cases import CaseService
from clerk_app.services.intake import (
    ApplicantIn,
    CaseResult,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
)
from clerk_app.services.runtime import open_store
from clerk_app.store.uow import Store

CST = dt.timezone(dt.timedelta(hours=8))
#: 2025-09-30 10:00 in the hall: with 5 working days the promise is 2025-10-14 (DOMAIN.md)
ACCEPTED_AT = dt.datetime(2025, 9, 30, 10, 0, tzinfo=CST)
FOOD_LICENCE = "113501000300100158000105005000005"  # 食品经营许可, promised 5 working days
VALID_ID = "11010519491231002X"
OTHER_ID = "320311197707060018"
VALID_CREDIT = "91350100M000100Y43"

_CATALOGUE = load_demo_catalogue()
_CALENDAR = WorkCalendar()


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)

    def set(self, *args: int) -> None:
        self.at = dt.datetime(*args, tzinfo=CST)  # type: ignore[misc]


def make_session(role: Role = Role.CLERK, window: int | None = 7, name: str = "王晓燕") -> UserSession:
    return UserSession(uuid.uuid4(), f"user{uuid.uuid4().hex[:6]}", name, role, window, "示范政务服务中心")


@dataclass
class World:
    store: Store
    clock: Clock
    intake: IntakeService
    cases: CaseService
    clerk: UserSession
    other_clerk: UserSession
    supervisor: UserSession

    def form(
        self,
        *,
        name: str = "张三",
        id_number: str = VALID_ID,
        phone: str = "13800138000",
        missing: int = 0,
        organisation: bool = False,
        deferred: bool = False,
    ) -> IntakeForm:
        codes = (FOOD_LICENCE,)
        materials = list(self.intake.materials_for(codes))
        marks = []
        for index, m in enumerate(materials):
            if index < missing and m.required:
                continue
            if deferred and m.deferrable and not any(x.state == MaterialState.DEFERRED for x in marks):
                due = (self.clock().astimezone(CST) + dt.timedelta(days=1)).date()
                marks.append(MaterialIn(m.key, MaterialState.DEFERRED, due=due))
            else:
                marks.append(MaterialIn(m.key, MaterialState.RECEIVED))
        if organisation:
            applicant = ApplicantIn(
                kind="organisation",
                id_number=VALID_CREDIT,
                name=name,
                phone=phone,
                legal_representative="李四",
            )
        else:
            applicant = ApplicantIn(name=name, id_type="111", id_number=id_number, phone=phone)
        form = IntakeForm(applicant=applicant, matter_codes=codes, materials=tuple(marks))
        return _with_extras(form, codes)

    def accepted(self, who: UserSession | None = None, **kw: object) -> CaseResult:
        return self.intake.accept(who or self.clerk, self.form(**kw))  # type: ignore[arg-type]

    def correction(self, who: UserSession | None = None, **kw: object) -> CaseResult:
        return self.intake.request_correction(who or self.clerk, self.form(missing=2, **kw))  # type: ignore[arg-type]


def _with_extras(form: IntakeForm, codes: tuple[str, ...]) -> IntakeForm:
    """The form with a sample value for every required matter-specific field (where the intake
    form has them)."""
    fields_of = getattr(intake_service, "extra_fields_of", None)
    if fields_of is None or "extra" not in IntakeForm.__dataclass_fields__:
        return form
    samples = {"number": "10", "date": "2025-10-08", "text": "示例"}
    values = tuple(
        (f.name, f.choices[0] if f.choices else samples.get(str(f.type), "示例"))
        for f in fields_of(_CATALOGUE.matter(code) for code in codes)
        if f.required
    )
    return dataclasses.replace(form, extra=values)  # type: ignore[call-arg, unused-ignore]


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
