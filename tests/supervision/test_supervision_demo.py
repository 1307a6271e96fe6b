"""The demo hall's generated supervision history (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from supervision_helpers import open_demo_runtime, session_for

from clerk_app.services.complaints import ComplaintService, LedgerQuery, Status
from clerk_app.services.ratings import RatingService, shared_calendar
from clerk_app.services.runtime import Runtime
from clerk_app.services.supervision_demo import _service_days, seed_supervision_history
from clerk_app.services.supervision_reports import Period, PeriodKind, SupervisionReports, monitor_snapshot
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.supervision import Rating, Rectification, RectificationEvent

NOW = dt.datetime(2025, 11, 28, 3, 0, tzinfo=dt.UTC)  # Friday 28 November 2025, 11:00 in the hall


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    yield from open_demo_runtime(tmp_path / "data", db_url)


def test_thirty_days_of_history_that_follows_the_rules(runtime: Runtime) -> None:
    written = seed_supervision_history(runtime.local, now=NOW)
    assert seed_supervision_history(runtime.local, now=NOW) == 0  # once only
    # 29 October – 27 November 2025: 3 + 5 + 5 + 5 + 4 = 22 working days, 67–112 ratings each
    days = _service_days(shared_calendar(), dt.date(2025, 11, 28), 30)
    assert (len(days), days[0], days[-1]) == (22, dt.date(2025, 10, 29), dt.date(2025, 11, 27))
    assert 22 * 67 <= written <= 22 * 112
    supervisor = session_for(runtime, "chenjing", None)
    with runtime.local.unit_of_work() as uow:
        session = uow.session
        assert session.scalar(select(func.count()).select_from(Rating)) == written
        bad = session.scalar(
            select(func.count()).select_from(Rating).where(Rating.level.in_(["不满意", "非常不满意"]))
        )
        rects = session.scalars(select(Rectification)).all()
        assert bad and len(rects) == bad
        closed = [r for r in rects if r.status == "closed"]
        assert closed and all(r.follow_ups >= 1 and r.cause_category and r.action_taken for r in closed)
        assert any(r.status == "open" for r in rects)
        follow_ups = session.scalar(
            select(func.count()).select_from(RectificationEvent).where(RectificationEvent.kind == "follow_up")
        )
        assert follow_ups == sum(r.follow_ups for r in rects)
        # written as this workstation's own changes: they travel to the central store
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) > written
    report = SupervisionReports(runtime, clock=lambda: NOW).report(
        supervisor, Period.of(PeriodKind.RANGE, dt.date(2025, 10, 29), dt.date(2025, 11, 27))
    )
    assert report.ratings == written and report.bad == bad
    assert report.satisfaction_rate is not None and 0.9 < report.satisfaction_rate < 1.0
    assert report.complaints >= 2 and len(report.by_window) == 5
    cases = ComplaintService(runtime, clock=lambda: NOW).search(supervisor, LedgerQuery(open_only=True))
    waiting = [c for c in cases if c.status is Status.REGISTERED]
    assert len(waiting) == 2 and sum(c.over_target(NOW) for c in waiting) == 1
    assert monitor_snapshot(runtime, supervisor, NOW).complaints_over_target(NOW) == 1
    assert RatingService(runtime, clock=lambda: NOW).rectifications(supervisor)  # every row reads back
