"""好差评 ratings and the rectification of bad ones, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from supervision_helpers import Clock, open_demo_runtime, session_for

from clerk_app.security.roles import PermissionDenied
from clerk_app.services.errors import UserError
from clerk_app.services.ratings import (
    GBT_39046_CODES,
    PROVINCIAL_CODES,
    Cause,
    Channel,
    Level,
    RatingInput,
    RatingResult,
    RatingService,
    SupervisionSettings,
    save_settings,
)
from clerk_app.services.runtime import Runtime
from clerk_app.store.models import AuditEntry, OutboxEntry
from clerk_app.store.models.supervision import Rating, Rectification, RectificationEvent
from clerk_app.store.uow import CaptureError


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    yield from open_demo_runtime(tmp_path / "data", db_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(runtime: Runtime, clock: Clock) -> RatingService:
    return RatingService(runtime, clock=clock)


def _rate(service: RatingService, runtime: Runtime, ref: str, level: Level, **extra: Any) -> RatingResult:
    clerk = session_for(runtime, "wangxy", 3)
    return service.record(clerk, RatingInput(ref, level, **extra))


def test_level_is_stored_by_name_and_codes_are_export_mappings(
    service: RatingService, runtime: Runtime
) -> None:
    result = _rate(
        service, runtime, "ticket:A001", Level.VERY_SATISFIED, overall=5, attitude=4, comment="很好"
    )
    with runtime.local.unit_of_work() as uow:
        row = uow.session.scalars(select(Rating)).one()
        assert (row.level, row.overall, row.attitude, row.efficiency) == ("非常满意", 5, 4, None)
        assert row.clerk_name == "王晓燕" and row.window_number == 3 and row.channel == "pad"
        # a synced, captured change: it travels to the central store
        assert uow.session.scalar(select(func.count()).select_from(OutboxEntry)) == 1
    assert result.rectification is None
    assert GBT_39046_CODES[Level.VERY_SATISFIED] == "1" and GBT_39046_CODES[Level.VERY_DISSATISFIED] == "5"
    assert PROVINCIAL_CODES[Level.VERY_SATISFIED] == "5" and PROVINCIAL_CODES[Level.VERY_DISSATISFIED] == "1"
    assert PROVINCIAL_CODES[Level.BASICALLY_SATISFIED] == GBT_39046_CODES[Level.BASICALLY_SATISFIED] == "3"


def test_one_rating_per_service(service: RatingService, runtime: Runtime) -> None:
    _rate(service, runtime, "ticket:A002", Level.SATISFIED)
    with pytest.raises(UserError, match="只能评价一次"):
        _rate(service, runtime, " ticket:A002 ", Level.VERY_DISSATISFIED)
    # the store itself refuses a second row for the service, whoever writes it
    with runtime.local.unit_of_work() as uow:
        uow.session.add(Rating(service_ref="ticket:A002", level="满意", channel="pad", comment=""))
        with pytest.raises(IntegrityError):
            uow.flush()
    with runtime.local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Rectification)) == 0


def test_ratings_are_insert_only(service: RatingService, runtime: Runtime) -> None:
    _rate(service, runtime, "ticket:A003", Level.SATISFIED)
    with runtime.local.unit_of_work() as uow:
        row = uow.session.scalars(select(Rating)).one()
        row.level = Level.VERY_SATISFIED.value
        with pytest.raises(CaptureError, match="insert-only"):
            uow.flush()


def test_sub_scores_are_one_to_five(service: RatingService, runtime: Runtime) -> None:
    with pytest.raises(UserError, match="1 到 5"):
        _rate(service, runtime, "ticket:A004", Level.SATISFIED, efficiency=6)


def test_bad_rating_opens_a_rectification_due_in_fifteen_working_days(
    service: RatingService, runtime: Runtime
) -> None:
    result = _rate(
        service,
        runtime,
        "case:2025-0001",
        Level.DISSATISFIED,
        comment="等了很久",
        applicant_phone="13800000000",
    )
    rect = result.rectification
    assert rect is not None and rect.level is Level.DISSATISFIED
    # accepted 2025-09-30; 1–8 October are holidays, 11 October a working Saturday:
    # working days 9,10,11,13,14,15,16,17,20,21,22,23,24,27,28 → the 15th is 28 October
    assert rect.due_date == dt.date(2025, 10, 28)
    assert rect.assignee_name == "陈静" and rect.status == "open" and not rect.overdue
    assert rect.comment == "等了很久" and rect.applicant_phone == "13800000000"
    good = _rate(service, runtime, "case:2025-0002", Level.BASICALLY_SATISFIED)
    assert good.rectification is None
    worst = _rate(service, runtime, "case:2025-0003", Level.VERY_DISSATISFIED)
    assert worst.rectification is not None
    supervisor = session_for(runtime, "chenjing", None)
    assert len(service.rectifications(supervisor, open_only=True)) == 2


def test_rectification_deadline_follows_the_setting(service: RatingService, runtime: Runtime) -> None:
    admin = session_for(runtime, "admin", None)
    save_settings(runtime, admin, SupervisionSettings(rectification_days=5))
    rect = _rate(service, runtime, "case:2025-0004", Level.VERY_DISSATISFIED).rectification
    assert rect.due_date == dt.date(2025, 10, 14)  # the 5th working day after 30 September
    clerk = session_for(runtime, "wangxy", 3)
    with pytest.raises(PermissionDenied):
        save_settings(runtime, clerk, SupervisionSettings(rectification_days=7))


def test_cannot_close_without_follow_up_and_only_a_supervisor_closes(
    service: RatingService, runtime: Runtime, clock: Clock
) -> None:
    rect = _rate(service, runtime, "ticket:B001", Level.VERY_DISSATISFIED, comment="态度差").rectification
    supervisor = session_for(runtime, "chenjing", None)
    clerk = session_for(runtime, "wangxy", 3)
    service.record_cause(supervisor, rect.id, cause=Cause.ATTITUDE, action="约谈窗口人员，重新培训")
    with pytest.raises(UserError, match="没有回访记录"):
        service.close(supervisor, rect.id)
    with pytest.raises(PermissionDenied):
        service.close(clerk, rect.id)
    with pytest.raises(PermissionDenied):
        service.record_follow_up(clerk, rect.id, reached=True, note="…")
    with pytest.raises(UserError, match="回访情况"):
        service.record_follow_up(supervisor, rect.id, reached=False, note="   ")
    clock.advance(days=1)
    view = service.record_follow_up(supervisor, rect.id, reached=False, note="电话无人接听")
    assert view.follow_ups == 1 and not view.reached
    clock.advance(hours=2)
    view = service.record_follow_up(supervisor, rect.id, reached=True, note="已致歉，申请人表示理解")
    assert view.follow_ups == 2 and view.reached
    view = service.record_re_rating(supervisor, rect.id, Level.SATISFIED)
    assert view.re_rating is Level.SATISFIED
    closed = service.close(supervisor, rect.id, "整改完成")
    assert closed.closed and closed.closed_by == "陈静" and not closed.overdue
    with pytest.raises(UserError, match="已办结"):
        service.record_follow_up(supervisor, rect.id, reached=True, note="再次回访")
    detail, events = service.rectification(supervisor, rect.id)
    assert detail.cause is Cause.ATTITUDE
    assert [e.kind for e in events] == ["opened", "rectified", "follow_up", "follow_up", "re_rated", "closed"]
    assert [e.reached for e in events if e.kind == "follow_up"] == [False, True]
    with runtime.local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(RectificationEvent)) == 6
        actions = uow.session.scalars(select(AuditEntry.action)).all()
        assert "rectification.closed" in actions


def test_close_needs_cause_and_action(service: RatingService, runtime: Runtime) -> None:
    rect = _rate(service, runtime, "ticket:B002", Level.DISSATISFIED).rectification
    supervisor = session_for(runtime, "chenjing", None)
    service.record_follow_up(supervisor, rect.id, reached=True, note="已沟通")
    with pytest.raises(UserError, match="整改措施"):
        service.close(supervisor, rect.id)
    with pytest.raises(UserError, match="整改措施"):
        service.record_cause(supervisor, rect.id, cause=Cause.OTHER, action=" ")


def test_overdue_is_flagged_after_the_due_date(
    service: RatingService, runtime: Runtime, clock: Clock
) -> None:
    rect = _rate(service, runtime, "ticket:B003", Level.DISSATISFIED).rectification
    supervisor = session_for(runtime, "chenjing", None)
    clock.now = dt.datetime(2025, 10, 28, 15, 59, tzinfo=dt.UTC)  # 23:59 on the due date in the hall
    assert not service.rectifications(supervisor)[0].overdue
    clock.now = dt.datetime(2025, 10, 28, 16, 0, tzinfo=dt.UTC)  # 00:00 on 29 October in the hall
    assert service.rectifications(supervisor)[0].overdue
    service.record_follow_up(supervisor, rect.id, reached=True, note="已沟通")
    service.record_cause(supervisor, rect.id, cause=Cause.EFFICIENCY, action="优化流程")
    assert not service.close(supervisor, rect.id).overdue  # closed late, no longer flagged as open


def test_clerks_see_only_their_own_ratings(service: RatingService, runtime: Runtime) -> None:
    wang = session_for(runtime, "wangxy", 3)
    li = session_for(runtime, "lijg", 4)
    service.record(wang, RatingInput("ticket:C001", Level.SATISFIED))
    service.record(li, RatingInput("ticket:C002", Level.DISSATISFIED, channel=Channel.QR))
    assert [r.service_ref for r in service.ratings(wang)] == ["ticket:C001"]
    assert [r.service_ref for r in service.ratings(li)] == ["ticket:C002"]
    supervisor = session_for(runtime, "chenjing", None)
    assert {r.service_ref for r in service.ratings(supervisor)} == {"ticket:C001", "ticket:C002"}
    with pytest.raises(PermissionDenied):
        service.rectifications(wang)
    with pytest.raises(PermissionDenied):
        service.ratings(session_for(runtime, "admin", None))


def test_csv_export_opens_in_excel_with_both_code_lists(service: RatingService, runtime: Runtime) -> None:
    _rate(service, runtime, "ticket:D001", Level.VERY_SATISFIED, comment="服务热情, 效率高")
    _rate(service, runtime, "ticket:D002", Level.VERY_DISSATISFIED)
    supervisor = session_for(runtime, "chenjing", None)
    for scheme, first, second in (("gbt39046", "1", "5"), ("provincial", "5", "1")):
        data = service.export_csv(supervisor, scheme)
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][:4] == ["服务编号", "评价时间", "评价等级", "等级代码"]
        assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
            ("ticket:D001", "非常满意", first),
            ("ticket:D002", "非常不满意", second),
        ]
        assert rows[1][-1] == "服务热情, 效率高" and rows[1][1] == "2025-09-30 10:00:00"
    with pytest.raises(ValueError, match="scheme"):
        service.export_csv(supervisor, "other")
