"""Hostile text into every intake field through the service: control characters, 10,000-character
strings, SQL, right-to-left marks, emoji. The service either completes the outcome or refuses it
with a UserError; it never raises anything else and never leaves a half-saved case behind."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_helpers import FOOD_LICENCE, Clock, person
from sqlalchemy import func, select

from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.intake import AgentIn, CaseResult, IntakeForm, IntakeService
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Applicant, Case, CaseCounter, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store

PIECES = [
    "'; DROP TABLE cases; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM case_applicants;--",
    "%s %(x)s {0} {name}",
    "\u202e\u200f\u2066",
    "\u200b\ufeff",
    "😀👨‍👩‍👧🇨🇳",
    "\x00\x01\x07\x1b[31m\x7f",
    "\r\n\t",
    "\u2028\u2029",
    "张三",
    "11010519491231002X",
    "13800138000",
    "ﷺ" * 3,
    " ",
]

hostile = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Co", "Cn")), max_size=12),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join),
    st.tuples(st.sampled_from(["长", "a", "😀", "\u202e", "'", "\x00"]), st.integers(9_990, 10_000)).map(
        lambda t: t[0] * t[1]
    ),
)

APPLICANT_FIELDS = [f.name for f in dataclasses.fields(person())]
AGENT_FIELDS = [f.name for f in dataclasses.fields(AgentIn())]
FORM_FIELDS = [
    "bundle_code",
    "delivery",
    "delivery_address",
    "other_region",
    "ticket_number",
    "ticket_id",
    "note",
]
MATERIAL_FIELDS = ["key", "state", "form", "note"]
TARGETS = (
    [f"applicant.{n}" for n in APPLICANT_FIELDS]
    + [f"agent.{n}" for n in AGENT_FIELDS]
    + FORM_FIELDS
    + [f"material.{n}" for n in MATERIAL_FIELDS]
    + ["matter_codes", "reason", "legal_basis", "extra.food_category", "extra_key"]
)
OUTCOMES = ["accept", "correction", "refuse", "on_the_spot", "draft"]


def _apply(form: IntakeForm, changes: dict[str, str]) -> tuple[IntakeForm, str, str]:
    reason, basis = "不符合受理条件", "《行政许可法》第三十二条"
    applicant, agent = form.applicant, AgentIn("李四", "111", "320311770706001", "13900001111")
    materials = list(form.materials)
    top: dict[str, Any] = {}
    for target, text in changes.items():
        area, _, name = target.partition(".")
        if area == "applicant":
            applicant = dataclasses.replace(applicant, **{name: text})
        elif area == "agent":
            agent = dataclasses.replace(agent, **{name: text})
        elif area == "material":
            materials[0] = dataclasses.replace(materials[0], **{name: text})
        elif target == "matter_codes":
            top["matter_codes"] = (text, FOOD_LICENCE)
        elif target == "reason":
            reason = text
        elif target == "legal_basis":
            basis = text
        elif area == "extra":  # a matter-specific field of the catalogue
            top["extra"] = ((name, text),)
        elif target == "extra_key":
            top["extra"] = ((text, "x"), ("food_category", "预包装食品销售"))
        else:
            top[target] = text
    new = dataclasses.replace(form, applicant=applicant, agent=agent, materials=tuple(materials), **top)
    return new, reason, basis


def _forbidden(ch: str) -> bool:
    if ch in "\n\t":
        return False
    return ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f" or (
        unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp")
    )


def _totals(store: Store) -> dict[str, int]:
    with store.unit_of_work() as uow:
        s = uow.session

        def count(model: type) -> int:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

        totals = {m.__tablename__: count(m) for m in (Applicant, Case, CaseMaterial, CaseEventRecord)}
        totals["outbox_cases"] = int(
            s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.table_name == "cases"))
            or 0
        )
        # no case without exactly one event and its material list
        for case in s.scalars(select(Case)):
            events = s.scalar(select(func.count()).where(CaseEventRecord.case_id == case.id))
            materials = s.scalar(select(func.count()).where(CaseMaterial.case_id == case.id))
            assert events == 1 and materials and materials > 0, case.case_number
        totals["counter"] = int(s.scalar(select(func.coalesce(func.sum(CaseCounter.last), 0))) or 0)
        return totals


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(st.sampled_from(TARGETS), hostile, min_size=1, max_size=4),
    outcome=st.sampled_from(OUTCOMES),
)
def test_hostile_text_never_crashes_and_never_half_saves(
    service: IntakeService,
    store: Store,
    clerk: UserSession,
    complete_form: Callable[..., IntakeForm],
    changes: dict[str, str],
    outcome: str,
) -> None:
    form, reason, basis = _apply(complete_form(), changes)
    before = _totals(store)
    result: object = None
    try:
        if outcome == "accept":
            result = service.accept(clerk, form)
        elif outcome == "correction":
            result = service.request_correction(clerk, form, note=reason)
        elif outcome == "refuse":
            result = service.refuse(clerk, form, reason, basis)
        elif outcome == "on_the_spot":
            result = service.done_on_the_spot(clerk, form)
        else:
            draft = service.save_draft(clerk, form)
            assert draft.form == form  # whatever was typed comes back exactly
            service.discard_draft(clerk, draft.id)
    except UserError as exc:
        assert exc.message.strip()
    after = _totals(store)
    if isinstance(result, CaseResult):
        assert after["cases"] == before["cases"] + 1
        assert after["case_events"] == before["case_events"] + 1
        assert after["outbox_cases"] == before["outbox_cases"] + 1
        assert after["counter"] == before["counter"] + 1
        with store.unit_of_work() as uow:
            case = uow.session.scalars(select(Case).where(Case.id == result.case_id)).one()
            applicant = uow.session.get(Applicant, case.applicant_id)
            assert applicant is not None and applicant.name == result.applicant_name
            stored = [getattr(row, c.key) for row in (case, applicant) for c in row.__table__.columns]
            stored.extend([*case.extra.keys(), *case.extra.values()])
            for text in (v for v in stored if isinstance(v, str)):
                assert not any(_forbidden(ch) for ch in text), text[:80]
    else:
        assert after == before


def test_failure_inside_the_unit_of_work_leaves_nothing(
    service: IntakeService,
    store: Store,
    clerk: UserSession,
    complete_form: Callable[..., IntakeForm],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _totals(store)

    def boom(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(IntakeService, "_result", staticmethod(boom))
    with pytest.raises(RuntimeError):
        service.accept(clerk, complete_form())
    assert _totals(store) == before
    monkeypatch.undo()
    assert service.accept(clerk, complete_form()).case_number[11:15] == "0001"  # the number was not used up


def test_clock_near_midnight_uses_the_hall_day(
    service: IntakeService, clerk: UserSession, clock: Clock, complete_form: Callable[..., IntakeForm]
) -> None:
    clock.at = dt.datetime(2025, 9, 29, 16, 30, tzinfo=dt.UTC)  # 00:30 on the 30th in the hall
    assert service.accept(clerk, complete_form()).case_number.startswith("20250930")
