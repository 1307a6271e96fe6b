"""The demo hall's generated supervision history (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from supervision_helpers import open_demo_runtime, session_for

from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.services.complaints import ComplaintService, LedgerQuery, Status
from clerk_app.services.intake_rules import IntakeRules
from clerk_app.services.ratings import CHINA, RatingService, shared_calendar
from clerk_app.services.runtime import Runtime
from clerk_app.services.supervision_demo import _service_days, seed_supervision_history
from clerk_app.services.supervision_reports import Period, PeriodKind, SupervisionReports, monitor_snapshot
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Case, CaseEventRecord
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.models.supervision import Rating, Rectification, RectificationEvent

NOW = dt.datetime(2025, 11, 28, 3, 0, tzinfo=dt.UTC)  # Friday 28 November 2025, 11:00 in the hall


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    yield from open_demo_runtime(tmp_path / "data", db_url)


def test_thirty_days_of_history_that_follows_the_rules(runtime: Runtime) -> None:
    started = time.process_time()
    written = seed_supervision_history(runtime.local, central=runtime.central, now=NOW)
    seconds = time.process_time() - started
    assert seed_supervision_history(runtime.local, central=runtime.central, now=NOW) == 0  # once only
    # 29 October – 27 November 2025: 3 + 5 + 5 + 5 + 4 = 22 working days
    days = _service_days(shared_calendar(), dt.date(2025, 11, 28), 30)
    assert (len(days), days[0], days[-1]) == (22, dt.date(2025, 10, 29), dt.date(2025, 11, 27))
    # five clerks at windows 1, 6, 11, 16 and 21 serve about 35 applicants each a day, about
    # half of the services are rated
    assert 22 * 60 <= written <= 22 * 120
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
        ratings = session.execute(select(Rating.service_ref, Rating.window_number, Rating.clerk_id)).all()
        cases = session.scalars(select(Case)).all()
        session.expunge_all()  # read after the unit of work
        case_events = session.execute(select(CaseEventRecord.case_id, CaseEventRecord.event)).all()
        # written as this workstation's own changes: they travel to the central store
        outbox = session.scalar(select(func.count()).select_from(OutboxEntry))
        assert outbox is not None and outbox > written + len(cases) + len(case_events)
    with runtime.central.unit_of_work() as uow:
        tickets = uow.session.scalars(select(Ticket)).all()
        history = uow.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.event, TicketEvent.at, TicketEvent.detail).order_by(
                TicketEvent.at
            )
        ).all()
        uow.session.expunge_all()
    _check_tickets(tickets, history, days)
    # every rating is of a finished ticket, at its window, by its clerk
    served = {(f"{t.service_day:%Y%m%d}/{t.number}"): t for t in tickets if t.state == "done"}
    for ref, window, clerk in ratings:
        assert ref in served and (served[ref].window_number, served[ref].clerk_id) == (window, clerk)
    assert written < len(served)
    _check_cases(cases, case_events, served)
    _check_reports(runtime, written, bad, len(cases), len(tickets))
    print(f"demo history: {len(tickets)} tickets, {len(cases)} cases, {written} ratings, {seconds:.2f} s CPU")


def _check_reports(runtime: Runtime, written: int, bad: int, cases: int, tickets: int) -> None:
    supervisor = session_for(runtime, "chenjing", None)
    month = Period.of(PeriodKind.RANGE, dt.date(2025, 10, 29), dt.date(2025, 11, 27))
    reports = SupervisionReports(runtime, clock=lambda: NOW)
    report = reports.report(supervisor, month)
    assert report.ratings == written and report.bad == bad
    assert report.satisfaction_rate is not None and 0.9 < report.satisfaction_rate < 1.0
    assert report.complaints >= 2 and len(report.by_window) == 5
    assert report.cases == cases and report.on_time_rate is not None and 0.8 < report.on_time_rate < 1.0
    assert {g.key for g in report.by_department} >= {"公安局", "市场监督管理局", "不动产登记中心", "税务局"}
    queue = reports.queue_stats(supervisor, month)
    assert queue is not None and queue.tickets == tickets
    assert queue.overall.waiting.median is not None
    assert dt.timedelta(minutes=4) < queue.overall.waiting.median < dt.timedelta(minutes=15)
    assert queue.overall.service.median is not None
    assert dt.timedelta(minutes=6) < queue.overall.service.median < dt.timedelta(minutes=18)
    assert {g.key for g in queue.by_window} == {"1", "6", "11", "16", "21"}
    cases_open = ComplaintService(runtime, clock=lambda: NOW).search(supervisor, LedgerQuery(open_only=True))
    waiting = [c for c in cases_open if c.status is Status.REGISTERED]
    assert len(waiting) == 2 and sum(c.over_target(NOW) for c in waiting) == 1
    assert monitor_snapshot(runtime, supervisor, NOW).complaints_over_target(NOW) == 1
    assert monitor_snapshot(runtime, supervisor, NOW).cases_overdue >= 1
    assert RatingService(runtime, clock=lambda: NOW).rectifications(supervisor)  # every row reads back


def _check_tickets(tickets: Sequence[Ticket], history: Sequence[Any], days: list[dt.date]) -> None:
    assert 22 * 120 <= len(tickets) <= 22 * 250
    assert {t.service_day for t in tickets} == set(days)  # working days only
    states = Counter(t.state for t in tickets)
    assert set(states) == {"done", "no_show", "cancelled"} and states["done"] > 0.9 * len(tickets)
    steps: dict[Any, list[str]] = {}
    versions: dict[Any, list[int]] = {}
    for ticket_id, event, _at, detail in history:
        steps.setdefault(ticket_id, []).append(event)
        versions.setdefault(ticket_id, []).append(detail["version"])
    expected = {
        "done": ["issue", "call", "start", "finish"],
        "no_show": ["issue", "call", "recall", "no_show"],
        "cancelled": ["issue", "cancel"],
    }
    numbers: set[tuple[dt.date, str]] = set()
    for t in tickets:
        assert steps[t.id] == expected[t.state]
        assert versions[t.id] == list(range(1, t.version + 1))
        assert t.issued_at.astimezone(CHINA).time() >= dt.time(8, 50)
        if t.state != "cancelled":
            assert t.issued_at < t.called_at and t.window_number in (1, 6, 11, 16, 21)
            assert t.clerk_id is not None and t.finished_at is not None and t.called_at < t.finished_at
        numbers.add((t.service_day, t.number))
    assert len(numbers) == len(tickets)  # numbers are unique per day


def _check_cases(cases: Sequence[Case], events: Sequence[Any], served: dict[str, Ticket]) -> None:
    calendar = shared_calendar()
    rules = IntakeRules(load_demo_catalogue(), calendar)
    by_number = {(f"{t.service_day:%Y%m%d}", t.number, t.window_number): t for t in served.values()}
    kinds = Counter(e.event for e in events)
    assert kinds["accept"] + kinds["complete_on_spot"] == len(cases)
    late = undecided_past = 0
    for case in cases:
        day = case.received_at.astimezone(CHINA)
        ticket = by_number[(f"{day:%Y%m%d}", case.ticket_number, case.window_number)]
        assert ticket.started_at <= case.received_at <= ticket.finished_at
        matter = rules.catalogue.matter(case.matter_codes[0])
        promised, _provisional = rules.promised([matter], case.received_at)
        assert case.promised_due == promised  # from the deadline engine
        if case.decided_at is not None and case.promised_due is not None:
            late += case.decided_at > case.promised_due
        if case.decided_at is None and case.promised_due is not None:
            undecided_past += case.promised_due < NOW
    assert Counter(c.status for c in cases).keys() >= {"delivered", "in_review", "refused"}
    assert 0 < late < 0.15 * len(cases) and undecided_past > 0
