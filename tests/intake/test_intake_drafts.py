"""Drafts of the intake form: kept as typed, per clerk, updated in place, dropped by the outcome
that used them; plus the whole flow on a runtime with the demo hall and a signed-in clerk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from intake_helpers import FOOD_LICENCE, Clock, make_session, person, sample_extras
from sqlalchemy import func, select

from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.demo import DEMO_USERS, ensure_demo
from clerk_app.services.intake import AgentIn, IntakeForm, IntakeService, MaterialIn, MaterialState
from clerk_app.services.runtime import Runtime, open_runtime
from clerk_app.settings import resolve_paths
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Case, IntakeDraft
from clerk_app.store.uow import Store

Form = Callable[..., IntakeForm]


def test_draft_round_trip_update_and_park(
    service: IntakeService, store: Store, clerk: UserSession, clock: Clock
) -> None:
    half = IntakeForm(
        applicant=person(id_number="1101051949", name="张三\u202e三张 😀"),
        matter_codes=(FOOD_LICENCE,),
        materials=(
            MaterialIn("经营场所平面布局图", MaterialState.DEFERRED, due=dt.date(2025, 10, 9), note="a\x00b"),
        ),
        agent=AgentIn(name="李四"),
        note="x" * 10_000,
    )
    first = service.save_draft(clerk, half)
    assert first.form == half  # exactly as typed, hostile characters and all
    other = service.save_draft(clerk, IntakeForm(applicant=person(name="王五")))  # a second applicant, parked
    clock.at += dt.timedelta(minutes=1)
    changed = IntakeForm(
        **{**{f: getattr(half, f) for f in IntakeForm.__dataclass_fields__}, "bundle_code": "YJS-003"}
    )
    again = service.save_draft(clerk, changed, first.id)
    assert (
        again.id == first.id and again.created_at == first.created_at and again.updated_at > first.updated_at
    )
    drafts = service.load_drafts(clerk)
    assert [d.id for d in drafts] == [first.id, other.id]
    assert drafts[0].form == changed and drafts[1].label == "王五"
    assert service.load_drafts(make_session()) == []  # another clerk sees none of them
    with store.unit_of_work() as uow:  # drafts are local: nothing goes to the outbox
        assert uow.session.scalar(select(func.count()).select_from(OutboxEntry)) == 0
    service.discard_draft(clerk, other.id)
    assert [d.id for d in service.load_drafts(clerk)] == [first.id]


def test_outcome_drops_its_draft_in_the_same_unit_of_work(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    form = complete_form()
    draft = service.save_draft(clerk, form)
    bad = complete_form(applicant=person(phone="12"))
    with pytest.raises(Exception, match="联系电话"):
        service.accept(clerk, bad, draft_id=draft.id)
    assert [d.id for d in service.load_drafts(clerk)] == [draft.id]  # kept when the outcome fails
    service.accept(clerk, form, draft_id=draft.id)
    assert service.load_drafts(clerk) == []
    with store.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(IntakeDraft)) == 0


def test_draft_of_another_clerk_is_not_overwritten(service: IntakeService, clerk: UserSession) -> None:
    draft = service.save_draft(clerk, IntakeForm(applicant=person()))
    with pytest.raises(Exception, match="其他工作人员"):
        service.save_draft(make_session(), IntakeForm(), draft.id)


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    rt = open_runtime(resolve_paths(data_dir))
    ensure_demo(rt.central, rt.local)
    yield rt
    rt.close()


def test_signed_in_clerk_accepts_on_the_workstation_store(runtime: Runtime) -> None:
    user = DEMO_USERS[0]
    session = AuthService(runtime).login(3, user.username, user.password)
    service = IntakeService(runtime.local)
    codes = (FOOD_LICENCE,)
    form = IntakeForm(
        applicant=person(),
        matter_codes=codes,
        materials=tuple(MaterialIn(m.key) for m in service.materials_for(codes)),
        extra=sample_extras(codes),
    )
    draft = service.save_draft(session, form)
    result = service.accept(session, form, draft_id=draft.id)
    assert result.case_number[8:11] == "003"
    assert result.promised_date is not None and result.promised_date > dt.date.today() - dt.timedelta(days=1)
    with runtime.local.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.clerk_id == session.user_id and case.clerk_name == user.display_name
        assert case.origin == runtime.device_id
