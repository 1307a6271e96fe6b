"""The 办不成事 ledger and 12345 complaints, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from supervision_helpers import START, Clock, open_demo_runtime, session_for

from clerk_app.security.roles import PermissionDenied
from clerk_app.services.complaints import (
    Category,
    ComplaintInput,
    ComplaintService,
    Complexity,
    LedgerQuery,
    Source,
    Status,
)
from clerk_app.services.errors import UserError
from clerk_app.services.ratings import SupervisionSettings, save_settings
from clerk_app.services.runtime import Runtime
from clerk_app.store.base import Base
from clerk_app.store.models import AuditEntry
from clerk_app.store.models.supervision import ComplaintEvent

SUPERVISION_TABLES = {
    "ratings",
    "rectifications",
    "rectification_events",
    "complaint_cases",
    "complaint_events",
}


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    yield from open_demo_runtime(tmp_path / "data", db_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(runtime: Runtime, clock: Clock) -> ComplaintService:
    return ComplaintService(runtime, clock=clock)


def _entry(**changes: object) -> ComplaintInput:
    values: dict[str, object] = {
        "request": "营业执照变更需要的房屋证明开不出来",
        "category": Category.MATERIALS,
        "applicant_name": "刘芳",
        "applicant_phone": "13912345678",
        "window_number": 5,
        "department": "市场监督管理局",
        "matter_name": "营业执照变更登记",
    }
    values.update(changes)
    return ComplaintInput(**values)  # type: ignore[arg-type]


def test_migration_matches_the_models(runtime: Runtime) -> None:
    with runtime.local.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(diff: object) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None)
            table = getattr(getattr(part, "table", None), "name", None)
            if table in SUPERVISION_TABLES:
                return str(table)
            if name in SUPERVISION_TABLES:
                return str(name)
            if isinstance(part, str) and part in SUPERVISION_TABLES:
                return part
        return None

    ours = [d for d in diffs if table_of(d) is not None]
    assert ours == []


def test_register_timer_hand_over_resolve_feed_back_close(
    service: ComplaintService, runtime: Runtime, clock: Clock
) -> None:
    clerk = session_for(runtime, "wangxy", 5)
    supervisor = session_for(runtime, "chenjing", None)
    case = service.register(clerk, _entry())
    assert case.status is Status.REGISTERED and case.number.startswith("BC20250930-")
    assert case.registered_by == "王晓燕" and case.window_minutes == 20
    clock.advance(minutes=12)
    assert case.elapsed(clock()) == dt.timedelta(minutes=12) and not case.over_target(clock())
    clock.advance(minutes=9)
    assert case.over_target(clock())  # 21 minutes and nobody acted
    with pytest.raises(PermissionDenied):
        service.hand_over(clerk, case.id, department="不动产登记中心", complexity=Complexity.COMPLEX)
    handed = service.hand_over(
        supervisor, case.id, department="不动产登记中心", complexity=Complexity.COMPLEX, note="协调出具证明"
    )
    assert handed.status is Status.HANDED_OVER and handed.handover_department == "不动产登记中心"
    assert handed.due_date == dt.date(2025, 10, 14)  # 5 working days across the National Day holidays
    clock.advance(hours=3)
    assert handed.elapsed(clock()) == dt.timedelta(minutes=21)  # the timer stopped at the hand-over
    with pytest.raises(UserError, match="不能进行此操作"):
        service.record_feedback(supervisor, case.id, "已电话告知")  # nothing resolved yet
    resolved = service.resolve(supervisor, case.id, "不动产登记中心出具了证明，当天办结变更")
    assert resolved.status is Status.RESOLVED
    with pytest.raises(UserError, match="尚未向申请人反馈"):
        service.close(supervisor, case.id)
    service.record_feedback(supervisor, case.id, "电话告知申请人，申请人满意")
    with pytest.raises(PermissionDenied):
        service.close(clerk, case.id)
    closed = service.close(supervisor, case.id)
    assert closed.status is Status.CLOSED and closed.closed_by == "陈静" and not closed.open
    _view, events = service.get(supervisor, case.id)
    assert [(e.kind, e.status) for e in events] == [
        ("registered", Status.REGISTERED),
        ("handed_over", Status.HANDED_OVER),
        ("resolved", Status.RESOLVED),
        ("feedback", Status.RESOLVED),
        ("closed", Status.CLOSED),
    ]
    with runtime.local.unit_of_work() as uow:
        assert len(uow.session.scalars(select(ComplaintEvent)).all()) == 5


def test_due_dates_per_complexity_follow_the_settings(service: ComplaintService, runtime: Runtime) -> None:
    clerk = session_for(runtime, "wangxy", 5)
    supervisor = session_for(runtime, "chenjing", None)
    due = {}
    for level in Complexity:
        case = service.register(clerk, _entry())
        due[level] = service.hand_over(supervisor, case.id, department="税务局", complexity=level).due_date
    assert due == {
        Complexity.SIMPLE: dt.date(2025, 9, 30),
        Complexity.COMPLEX: dt.date(2025, 10, 14),
        Complexity.SPECIAL: dt.date(2025, 10, 21),
    }
    save_settings(runtime, supervisor, SupervisionSettings(complex_days=3, window_minutes=15))
    case = service.register(clerk, _entry())
    assert case.window_minutes == 15
    handed = service.hand_over(supervisor, case.id, department="税务局", complexity=Complexity.COMPLEX)
    assert handed.due_date == dt.date(2025, 10, 11)  # the adjusted working Saturday counts


def test_overdue_hand_over_is_flagged(service: ComplaintService, runtime: Runtime, clock: Clock) -> None:
    supervisor = session_for(runtime, "chenjing", None)
    case = service.register(supervisor, _entry())
    service.hand_over(supervisor, case.id, department="公安局", complexity=Complexity.COMPLEX)
    clock.now = dt.datetime(2025, 10, 14, 12, 0, tzinfo=dt.UTC)
    assert not service.search(supervisor)[0].overdue
    clock.now = dt.datetime(2025, 10, 15, 1, 0, tzinfo=dt.UTC)
    assert service.search(supervisor)[0].overdue


def test_negative_answer_needs_a_written_reason_and_is_reported(
    service: ComplaintService, runtime: Runtime
) -> None:
    clerk = session_for(runtime, "wangxy", 5)
    supervisor = session_for(runtime, "chenjing", None)
    case = service.register(clerk, _entry(category=Category.POLICY))
    with pytest.raises(UserError, match="理由"):
        service.negative_answer(clerk, case.id, "不行")
    answered = service.negative_answer(clerk, case.id, "该地块属于规划限制区域，依法不能办理变更")
    assert answered.status is Status.NEGATIVE and answered.reported
    assert [c.number for c in service.negative_reports(supervisor)] == [case.number]
    with pytest.raises(PermissionDenied):
        service.negative_reports(clerk)
    with pytest.raises(UserError, match="不能进行此操作"):
        service.resolve(supervisor, case.id, "改为解决")
    service.record_feedback(supervisor, case.id, "当面解释政策依据")
    assert service.close(supervisor, case.id).status is Status.CLOSED
    with runtime.local.unit_of_work() as uow:
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "complaint.negative_answer")
        ).one()
        assert audit.target == case.number and "规划限制" in audit.detail["reason"]


def test_hotline_and_pad_cases_enter_the_same_ledger(service: ComplaintService, runtime: Runtime) -> None:
    clerk = session_for(runtime, "lijg", 7)
    supervisor = session_for(runtime, "chenjing", None)
    with pytest.raises(UserError, match="工单编号"):
        service.register(supervisor, _entry(source=Source.HOTLINE))
    hotline = service.register(
        supervisor,
        _entry(source=Source.HOTLINE, hotline_ref="12345-2025-0930-0088", request="社保转移一直没办好"),
    )
    pad = service.ask_for_supervisor(clerk, service_ref="ticket:A017", matter_name="居民身份证换领")
    assert pad.source is Source.PAD and pad.window_number == 7 and "7 号窗口" in pad.request
    assert pad.case_ref == "ticket:A017" and pad.status is Status.REGISTERED
    with pytest.raises(UserError, match="诉求"):
        service.register(clerk, _entry(request="  "))
    assert {c.number for c in service.search(supervisor)} == {hotline.number, pad.number}
    hotlines = service.search(supervisor, LedgerQuery(source=Source.HOTLINE))
    assert [c.number for c in hotlines] == [hotline.number]
    assert [c.number for c in service.search(supervisor, LedgerQuery(text="0088"))] == [hotline.number]
    assert [c.number for c in service.search(supervisor, LedgerQuery(text="身份证"))] == [pad.number]
    assert service.search(supervisor, LedgerQuery(day_from=dt.date(2025, 10, 1))) == []
    assert len(service.search(supervisor, LedgerQuery(day_from=START.date(), day_to=START.date()))) == 2
    assert service.search(supervisor, LedgerQuery(status=Status.CLOSED)) == []
    with pytest.raises(PermissionDenied):
        service.search(clerk)


def test_ledger_csv_export_is_utf8_with_bom(
    service: ComplaintService, runtime: Runtime, clock: Clock
) -> None:
    supervisor = session_for(runtime, "chenjing", None)
    first = service.register(supervisor, _entry(applicant_name="刘芳"))
    clock.advance(minutes=1)
    service.register(supervisor, _entry(applicant_name="张伟", category=Category.SYSTEM))
    clock.advance(minutes=7)
    service.resolve(supervisor, first.id, "当场协调解决")
    data = service.export_csv(supervisor)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["编号", "来源", "12345 工单号"] and len(rows) == 3
    by_name = {r[header.index("申请人")]: r for r in rows[1:]}
    assert by_name["刘芳"][header.index("状态")] == "已解决"
    assert by_name["刘芳"][header.index("首次处理用时（分钟）")] == "8.0"
    assert by_name["张伟"][header.index("类别")] == "系统或数据问题"
    only = service.export_csv(supervisor, LedgerQuery(category=Category.SYSTEM))
    assert len(list(csv.reader(io.StringIO(only.decode("utf-8-sig"))))) == 2
