"""Helpers of the cases-screen tests (not a test module): sessions, and the World that makes
cases through the intake service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from hall_helpers import _CALENDAR, _CATALOGUE, ACCEPTED_AT, CST, FOOD_LICENCE, VALID_CREDIT, VALID_ID, Clock

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
from clerk_app.store.uow import Store

__all__ = [
    "ACCEPTED_AT",
    "CST",
    "FOOD_LICENCE",
    "OTHER_ID",
    "VALID_CREDIT",
    "VALID_ID",
    "_CALENDAR",
    "_CATALOGUE",
    "CaseService",
    "Clock",
    "World",
    "make_session",
]  # fmt: skip

OTHER_ID = "320311197707060018"


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
