"""The later steps at the window through the service (SQLite and PostgreSQL): each legal step is
one unit of work with one insert-only event (time, actor, window, reason) and its outbox entries;
each illegal one is refused in plain words and writes nothing; suspensions push the promise back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from case_helpers import ACCEPTED_AT, CST, FOOD_LICENCE, World
from sqlalchemy import func, select

from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.deadlines import Suspension, compute_deadline
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.cases import CaseDetail, CaseQuery, suspensions_of
from clerk_app.services.errors import UserError
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Case, CaseEventRecord, CaseMaterial


def _count(world: World, model: type) -> int:
    with world.store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _refused(world: World, step: Callable[[], object], words: str) -> None:
    """``step`` is refused with ``words`` in the message, and nothing is written."""
    events, outbox = _count(world, CaseEventRecord), _count(world, OutboxEntry)
    with pytest.raises(UserError, match=words):
        step()
    assert (_count(world, CaseEventRecord), _count(world, OutboxEntry)) == (events, outbox)


def _last_event(detail: CaseDetail, event: str, who: UserSession) -> None:
    last = detail.events[-1]
    assert last.event == event and last.actor_name == who.display_name
    assert last.window_number == who.window_number


def _in_review(world: World) -> uuid.UUID:
    case_id = world.accepted().case_id
    detail = world.cases.start_review(world.clerk, case_id)
    assert detail.row.status == "in_review"
    return case_id


def test_correction_before_acceptance_accepts_and_starts_the_clock(world: World) -> None:
    case_id = world.correction().case_id
    world.clock.set(2025, 10, 9, 9, 30)  # the first working day after the National Day holiday
    outbox = _count(world, OutboxEntry)
    detail = world.cases.receive_correction(world.clerk, case_id, note="申请人补交齐全")
    assert detail.row.status == "accepted" and detail.row.accepted_at is not None
    assert detail.row.promised_due is not None
    # 5 working days from 10-09: 10-10, the adjusted working Saturday 10-11, 10-13, 10-14, 10-15
    assert detail.row.promised_due.astimezone(CST).date() == dt.date(2025, 10, 15)
    assert [e.event for e in detail.events] == ["request_correction", "accept"]
    _last_event(detail, "accept", world.clerk)
    assert detail.events[-1].reason == "申请人补交齐全"
    assert all(m.state == "received" for m in detail.materials)
    assert _count(world, OutboxEntry) > outbox  # synced rows changed in the same transaction
    _refused(world, lambda: world.cases.receive_correction(world.clerk, case_id), "不能“补正完成、恢复审查”")


def test_correction_received_must_bring_every_required_material(world: World) -> None:
    case_id = world.correction().case_id
    detail = world.cases.detail(world.clerk, case_id)
    missing = [m.key for m in detail.materials if m.state == "missing"]
    assert len(missing) == 2
    _refused(
        world, lambda: world.cases.receive_correction(world.clerk, case_id, missing[:1]), "仍缺少必需材料"
    )
    _refused(world, lambda: world.cases.receive_correction(world.clerk, case_id, ["没有这份"]), "不属于")
    assert world.cases.receive_correction(world.clerk, case_id, missing).row.status == "accepted"


def test_correction_during_review_suspends_the_clock_and_pushes_the_promise(world: World) -> None:
    case_id = _in_review(world)  # accepted 2025-09-30, promised 2025-10-14
    world.clock.set(2025, 10, 9, 10, 0)
    key = world.cases.detail(world.clerk, case_id).materials[0].key
    detail = world.cases.request_correction(world.clerk, case_id, [key], "申请书签字不全")
    assert detail.row.status == "correction_requested"
    assert detail.events[-1].reason.startswith("需补正材料：食品经营许可申请书")
    # suspended since 10-09: on 10-13 the stored promise (10-14) would warn, the suspension keeps it normal
    world.clock.set(2025, 10, 13, 9, 0)
    row = world.cases.search(world.clerk, CaseQuery(deadline=("normal",))).rows[0]
    assert row.case_id == case_id and row.deadline_status == "normal"
    detail = world.cases.receive_correction(world.clerk, case_id)
    assert detail.row.status == "in_review"
    # 10-09, 10-10 and the adjusted working Saturday 10-11 did not count: 10-14 + 3 working days
    calendar = WorkCalendar()
    expected = compute_deadline(
        ACCEPTED_AT.replace(tzinfo=None),
        load_demo_catalogue().matter(FOOD_LICENCE).promised_limit,
        calendar,
        [Suspension(dt.date(2025, 10, 9), dt.date(2025, 10, 12))],
    )
    assert expected.due_date == dt.date(2025, 10, 17)
    assert detail.row.promised_due is not None
    assert detail.row.promised_due.astimezone(CST).date() == dt.date(2025, 10, 17)
    assert detail.row.deadline_status == "normal" and detail.row.workdays_left == 4
    assert ("承诺办结时间", "2025-10-17 17:30") in detail.events[-1].detail


def test_special_procedure_suspends_and_resumes(world: World) -> None:
    case_id = _in_review(world)
    world.clock.set(2025, 10, 10, 9, 0)
    _refused(world, lambda: world.cases.start_special(world.clerk, case_id, " "), "必须填写原因")
    detail = world.cases.start_special(world.clerk, case_id, "现场核查")
    assert detail.row.status == "special_procedure"
    world.clock.set(2025, 10, 13, 9, 0)
    detail = world.cases.end_special(world.clerk, case_id)
    assert detail.row.status == "in_review"
    assert detail.row.promised_due is not None
    assert detail.row.promised_due.astimezone(CST).date() == dt.date(2025, 10, 16)  # 10-10 and 10-11
    with world.store.unit_of_work() as uow:
        events = uow.session.scalars(select(CaseEventRecord).where(CaseEventRecord.case_id == case_id)).all()
        assert suspensions_of(events, dt.date(2025, 10, 13)) == [
            Suspension(dt.date(2025, 10, 10), dt.date(2025, 10, 12), "special_procedure")  # type: ignore[arg-type]
        ]


def test_decisions_obey_the_state_machine_and_roles(world: World) -> None:
    accepted = world.accepted().case_id
    _refused(
        world,
        lambda: world.cases.decide(world.clerk, accepted, "approve"),
        "当前为“受理”状态，不能“准予许可”",
    )
    case_id = _in_review(world)
    _refused(
        world,
        lambda: world.cases.decide(world.clerk, case_id, "refuse", "材料不实", "《行政许可法》第三十八条"),
        "只能由值班负责人操作",
    )
    _refused(world, lambda: world.cases.decide(world.supervisor, case_id, "refuse", "材料不实"), "法律依据")
    _refused(
        world,
        lambda: world.cases.decide(world.supervisor, case_id, "refuse", "", "第三十八条"),
        "必须填写原因",
    )
    _refused(
        world,
        lambda: world.cases.decide(world.supervisor, case_id, "approve_tolerance", "容缺"),
        "没有容缺材料",
    )
    detail = world.cases.decide(world.supervisor, case_id, "refuse", "材料不实", "《行政许可法》第三十八条")
    assert detail.row.status == "refused" and detail.reason == "材料不实"
    assert detail.legal_basis == "《行政许可法》第三十八条" and detail.row.deadline_status is None
    _last_event(detail, "refuse", world.supervisor)
    with world.store.unit_of_work() as uow:
        assert uow.session.get(Case, case_id).decided_at is not None  # type: ignore[union-attr]
    approved = _in_review(world)
    assert world.cases.decide(world.clerk, approved, "approve").row.status == "approved"


def test_approval_on_tolerance_then_materials_confirmed(world: World) -> None:
    case_id = world.accepted(deferred=True).case_id
    world.cases.start_review(world.clerk, case_id)
    _refused(
        world, lambda: world.cases.decide(world.clerk, case_id, "approve_tolerance", "容缺"), "值班负责人"
    )
    detail = world.cases.decide(world.supervisor, case_id, "approve_tolerance", "容缺材料承诺三日内补交")
    assert detail.row.status == "approved_tolerance"
    detail = world.cases.confirm_tolerance(world.clerk, case_id)
    assert detail.row.status == "approved" and all(m.state == "received" for m in detail.materials)


def test_delivery_by_pickup_or_mail(world: World) -> None:
    undecided = _in_review(world)
    _refused(
        world,
        lambda: world.cases.deliver(world.clerk, undecided, "pickup", signature_note="本人签收"),
        "不能“送达”",
    )
    case_id = _in_review(world)
    world.cases.decide(world.clerk, case_id, "approve")
    _refused(world, lambda: world.cases.deliver(world.clerk, case_id, "pickup"), "签收说明")
    _refused(
        world, lambda: world.cases.deliver(world.clerk, case_id, "mail", tracking_number="12"), "快递单号"
    )
    _refused(
        world,
        lambda: world.cases.deliver(world.clerk, case_id, "mail", tracking_number="SF1234567890"),
        "邮寄地址",
    )
    detail = world.cases.deliver(
        world.clerk, case_id, "mail", tracking_number="sf 1234 5678 90", address="福州市鼓楼区五四路 1 号"
    )
    assert detail.row.status == "delivered" and detail.delivery == "mail"
    assert ("快递单号", "SF1234567890") in detail.events[-1].detail
    assert ("送达方式", "邮寄") in detail.events[-1].detail
    other = _in_review(world)
    world.cases.decide(world.clerk, other, "approve")
    detail = world.cases.deliver(
        world.clerk, other, "pickup", signature_note="申请人当场签字", recipient="张三"
    )
    assert ("签收人", "张三") in detail.events[-1].detail and detail.events[-1].reason == "申请人当场签字"


def test_archive_and_withdrawal(world: World, new_session: Callable[..., UserSession]) -> None:
    case_id = _in_review(world)
    _refused(world, lambda: world.cases.archive(world.clerk, case_id), "不能“归档”")
    _refused(world, lambda: world.cases.withdraw(world.clerk, case_id, ""), "必须填写原因")
    detail = world.cases.withdraw(world.clerk, case_id, "申请人主动撤回")
    assert detail.row.status == "withdrawn" and detail.reason == "申请人主动撤回"
    _refused(world, lambda: world.cases.withdraw(world.clerk, case_id, "再次撤回"), "不能“撤件”")
    admin = new_session(Role.ADMIN, None, "系统管理员")
    assert world.cases.archive(admin, case_id).row.status == "archived"  # anyone may archive
    _refused(world, lambda: world.cases.archive(world.clerk, case_id), "已处于“归档”状态")
    with pytest.raises(PermissionDenied):
        world.cases.withdraw(admin, world.accepted().case_id, "理由")
    decided = _in_review(world)
    world.cases.decide(world.clerk, decided, "approve")
    _refused(world, lambda: world.cases.withdraw(world.clerk, decided, "太晚了"), "不能“撤件”")


def test_every_step_writes_exactly_one_event(world: World) -> None:
    case_id = world.accepted().case_id
    steps: list[Callable[[], CaseDetail]] = [
        lambda: world.cases.start_review(world.clerk, case_id),
        lambda: world.cases.decide(world.clerk, case_id, "approve", "审查通过"),
        lambda: world.cases.deliver(world.clerk, case_id, "pickup", signature_note="本人签收"),
        lambda: world.cases.archive(world.clerk, case_id, "卷宗归档"),
    ]
    for number, step in enumerate(steps, start=2):
        world.clock.at += dt.timedelta(minutes=5)
        detail = step()
        assert len(detail.events) == number
        _last_event(detail, detail.events[-1].event, world.clerk)
        assert detail.events[-1].at == world.clock()
    assert [e.to_state for e in detail.events] == [
        "accepted",
        "in_review",
        "approved",
        "delivered",
        "archived",
    ]
    assert [e.from_label for e in detail.events[1:]] == ["受理", "审查", "办结（准予）", "送达"]
    assert detail.allowed == ()


def test_hostile_text_and_unknown_cases_are_refused(world: World) -> None:
    case_id = world.accepted().case_id
    _refused(world, lambda: world.cases.start_review(world.clerk, case_id, "\u202e恶意"), "控制字符")
    _refused(world, lambda: world.cases.start_review(world.clerk, case_id, "长" * 2001), "过长")
    _refused(world, lambda: world.cases.start_review(world.clerk, uuid.uuid4()), "找不到")
    with world.store.unit_of_work() as uow:
        assert uow.session.get(Case, case_id).status == "accepted"  # type: ignore[union-attr]
        assert uow.session.scalar(select(func.count()).select_from(CaseMaterial)) == 6
