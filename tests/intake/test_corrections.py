"""Correction checklist (补正): a partial return keeps the case waiting and re-issues the list of
what is still missing; the clock starts (or resumes) only when every required material is in."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_helpers import _CALENDAR, _CATALOGUE, FOOD_LICENCE, Clock, make_session, person
from sqlalchemy import select

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, refill
from clerk_app.services.auth import UserSession
from clerk_app.services.cases import CaseService
from clerk_app.services.corrections import CorrectionService
from clerk_app.services.documents import CaseDocuments
from clerk_app.services.errors import UserError
from clerk_app.services.intake import CaseResult, IntakeForm, IntakeService, MaterialIn, MaterialState
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.services.runtime import open_store
from clerk_app.store.models import AuditEntry
from clerk_app.store.models.cases import Case, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store

Form = Callable[..., IntakeForm]


def _corrections(store: Store, clock: Clock, desk: CaseDocuments | None = None) -> CorrectionService:
    cases = CaseService(store, _CATALOGUE, _CALENDAR, clock=clock)
    return CorrectionService(store, cases, notices=desk, catalogue=_CATALOGUE, clock=clock)


def _lacking(service: IntakeService, clerk: UserSession, missing: int) -> CaseResult:
    """A food-licence case asked to correct ``missing`` required materials before acceptance."""
    codes = (FOOD_LICENCE,)
    materials = service.materials_for(codes)
    required = [m for m in materials if m.required]
    absent = {m.key for m in required[:missing]}
    marks = tuple(MaterialIn(m.key, MaterialState.RECEIVED) for m in materials if m.key not in absent)
    form = IntakeForm(
        applicant=person(), matter_codes=codes, materials=marks, extra=(("food_category", "预包装食品销售"),)
    )
    return service.request_correction(clerk, form)


def _states(store: Store, number: str) -> tuple[str, dict[str, str], int]:
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_number == number)).one()
        rows = uow.session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id))
        events = uow.session.scalars(select(CaseEventRecord).where(CaseEventRecord.case_id == case.id)).all()
        return case.status, {m.name: m.state for m in rows}, len(events)


def test_partial_return_keeps_waiting_then_the_last_one_accepts(
    service: IntakeService, store: Store, clock: Clock, clerk: UserSession
) -> None:
    asked = _lacking(service, clerk, 3)
    corrections = _corrections(store, clock)
    checklist = corrections.checklist(clerk, asked.case_id)
    assert [i.name for i in checklist.outstanding] == [m.name for m in asked.missing]
    assert checklist.required_keys == tuple(m.key for m in asked.missing)
    first, second, third = checklist.outstanding

    partial = corrections.receive(clerk, asked.case_id, [first.key, second.key], "带来两份")
    assert not partial.complete and partial.status == "correction_requested"
    assert partial.brought == (first.name, second.name)
    assert [i.key for i in partial.remaining] == [third.key]
    status, states, events = _states(store, asked.case_number)
    assert status == "correction_requested" and events == 1  # no status change, no event
    assert states[first.name] == states[second.name] == "received" and states[third.name] == "missing"
    with store.unit_of_work() as uow:
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.correction_partial")
        ).one()
        assert audit.target == asked.case_number and audit.detail["remaining"] == [third.key]
    assert [i.key for i in corrections.checklist(clerk, asked.case_id).outstanding] == [third.key]

    done = corrections.receive(clerk, asked.case_id, [third.key])
    assert done.complete and done.status == "accepted" and done.remaining == ()
    status, states, events = _states(store, asked.case_number)
    assert status == "accepted" and set(states.values()) == {"received"} and events == 2
    with store.unit_of_work() as uow:
        case = uow.session.get(Case, asked.case_id)
        assert case is not None and case.accepted_at is not None and case.promised_date is not None
    with pytest.raises(UserError, match="不在等待补正"):
        corrections.checklist(clerk, asked.case_id)


def test_correction_during_review_resumes_the_clock_only_when_complete(
    service: IntakeService, store: Store, clock: Clock, clerk: UserSession, complete_form: Form
) -> None:
    accepted = service.accept(clerk, complete_form(extra=(("food_category", "预包装食品销售"),)))
    cases = CaseService(store, _CATALOGUE, _CALENDAR, clock=clock)
    cases.start_review(clerk, accepted.case_id)
    keys = [m.key for m in accepted.materials if m.required][:2]
    cases.request_correction(clerk, accepted.case_id, keys, "复印件不清晰")
    corrections = _corrections(store, clock)
    partial = corrections.receive(clerk, accepted.case_id, keys[:1])
    assert not partial.complete and _states(store, accepted.case_number)[0] == "correction_requested"
    done = corrections.receive(clerk, accepted.case_id, keys[1:])
    assert done.complete and done.status == "in_review"


def test_wrong_ticks_are_refused_and_nothing_changes(
    service: IntakeService, store: Store, clock: Clock, clerk: UserSession
) -> None:
    asked = _lacking(service, clerk, 2)
    corrections = _corrections(store, clock)
    with pytest.raises(UserError, match="请勾选"):
        corrections.receive(clerk, asked.case_id, [])
    with pytest.raises(UserError, match="不在这件办件的补正清单中"):
        corrections.receive(clerk, asked.case_id, ["no-such-material"])
    with pytest.raises(UserError, match="控制字符"):
        corrections.receive(clerk, asked.case_id, [asked.missing[0].key], "bad\u202enote")
    assert set(_states(store, asked.case_number)[1].values()) == {"received", "missing"}
    assert len(corrections.checklist(clerk, asked.case_id).outstanding) == 2


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'local.sqlite'}")
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    yield local, central
    local.dispose()
    central.dispose()


def test_partial_return_reissues_the_remaining_list_on_paper(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    refill(local, central, DocType.CORRECTION.value, 2025, NumberingSettings(5, 1))
    clerk = make_session()
    intake = IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock)
    asked = _lacking(intake, clerk, 2)
    desk = CaseDocuments(
        Archive(tmp_path / "archive"), local.device_id, catalogue=_CATALOGUE, calendar=_CALENDAR
    )
    corrections = _corrections(local, clock, desk)
    brought, still = asked.missing
    receipt = corrections.receive(clerk, asked.case_id, [brought.key])
    assert [d.doc_type for d in receipt.documents] == ["correction"]
    notice = receipt.documents[0]
    text = re.sub(
        r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(notice.pdf)).pages)
    )
    assert notice.title == "补正材料通知书" and asked.case_number in text
    assert still.name in text and brought.name not in text

    # the last one: the case is accepted by the cases service; no 受理通知书 number is left yet
    done = corrections.receive(clerk, asked.case_id, [still.key])
    assert done.complete and done.status == "accepted" and done.documents == ()
    assert any("受理通知书未能出具" in w for w in done.warnings)


def test_correction_completed_before_acceptance_issues_the_acceptance_notice(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    for kind in (DocType.CORRECTION, *NoticeIssuer.doc_types("accept")):
        refill(local, central, kind.value, 2025, NumberingSettings(5, 1))
    clerk = make_session()
    asked = _lacking(IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock), clerk, 1)
    desk = CaseDocuments(
        Archive(tmp_path / "archive"), local.device_id, catalogue=_CATALOGUE, calendar=_CALENDAR
    )
    done = _corrections(local, clock, desk).receive(clerk, asked.case_id, [asked.missing[0].key])
    assert done.complete and done.status == "accepted" and not done.warnings
    assert [d.doc_type for d in done.documents] == ["acceptance"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    note=st.one_of(
        st.text(max_size=60),
        st.sampled_from(["'; DROP TABLE cases; --", "\u202e\u200f", "😀👨‍👩‍👧", "\x00", "长" * 10_000]),
    ),
    keys=st.lists(st.sampled_from(["", "营业执照副本", "x" * 300, "\u202e", "'; --"]), max_size=3),
)
def test_hostile_input_never_half_records(
    service: IntakeService, store: Store, clock: Clock, clerk: UserSession, note: str, keys: list[str]
) -> None:
    asked = _lacking(service, clerk, 2)
    corrections = _corrections(store, clock)
    brought = [*keys, asked.missing[0].key] if len(keys) % 2 else keys
    try:
        receipt = corrections.receive(clerk, asked.case_id, brought, note)
    except UserError as exc:
        assert exc.message.strip()
        assert len(corrections.checklist(clerk, asked.case_id).outstanding) == 2  # nothing recorded
    else:
        assert not receipt.complete and len(receipt.remaining) == 1
