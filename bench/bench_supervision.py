"""The month report over 30 days of a 24-window hall, on SQLite and on PostgreSQL. Goal: under 2 s.

Data: 40,000 tickets with their call/start/finish history (waiting and service times per
category, window and clerk), 30 days of generated supervision history (``seed_supervision_history``)
with about 40,000 ratings (every service rated), their rectifications and 办不成事 cases, and 12,000
cases for the per-matter/window/clerk and on-time figures. Timed: the supervision report plus the
queue statistics, as the report page asks for them.

Baseline, measured in the same run on the same database: one plain SQL ``GROUP BY level`` over the
month's ratings — the least any satisfaction report has to do.

PostgreSQL needs ``CLERK_TEST_PG_URL`` (default postgresql://postgres@127.0.0.1:5432/test); it is
skipped (and says so) when the server is unreachable.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.demo import ensure_demo
from clerk_app.services.runtime import Runtime, open_central, open_store
from clerk_app.services.supervision_demo import seed_supervision_history
from clerk_app.services.supervision_reports import Period, PeriodKind, SupervisionReports
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import User
from clerk_app.store.models.cases import Applicant, Case

ADMIN_URL = os.environ.get("CLERK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2025, 11, 28, 9, 0, tzinfo=dt.UTC)
MONTH = Period.of(PeriodKind.RANGE, dt.date(2025, 10, 29), dt.date(2025, 11, 27))
GOAL_S = 2.0


@contextmanager
def _postgres() -> Iterator[str | None]:
    try:
        import psycopg

        name = f"clerk_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:  # unreachable: the PostgreSQL figures are skipped
        yield None
        return
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _runtime(folder: Path, url: str) -> Runtime:
    """Local and central store on one database: the report reads ratings and cases locally and
    the ticket history centrally; on one machine both are the same file or database."""
    paths = resolve_paths(folder).ensure()
    local = open_store(url)
    central = open_central(url, local)
    ensure_demo(central, local)
    return Runtime(paths, Settings(), local, central, url)


def _seed_tickets(runtime: Runtime, count: int) -> int:
    """``count`` tickets over the working days of the month, each called, started and finished
    at one of 24 windows (four history rows a ticket), written in bulk."""
    import random

    from clerk_app.services.ratings import shared_calendar
    from clerk_app.store.models.queue import Ticket, TicketEvent

    rng = random.Random(11)
    days = [
        MONTH.first + dt.timedelta(days=n)
        for n in range((MONTH.last - MONTH.first).days + 1)
        if shared_calendar().is_workday(MONTH.first + dt.timedelta(days=n))
    ]
    clerks = [uuid.uuid4() for _ in range(24)]
    synced = {"origin": "bench", "version": 1, "hlc": "0", "deleted": False}
    made = 0
    for index, day in enumerate(days):
        share = count // len(days) + (1 if index < count % len(days) else 0)
        tickets, events = [], []
        opening = dt.datetime.combine(day, dt.time(9), dt.timezone(dt.timedelta(hours=8)))
        for seq in range(1, share + 1):
            category = rng.choice("AAAABCDE")
            window = rng.randint(1, 24)
            issued = opening + dt.timedelta(minutes=rng.randint(0, 470))
            called = issued + dt.timedelta(minutes=rng.randint(0, 40), seconds=rng.randint(0, 59))
            started = called + dt.timedelta(seconds=rng.randint(10, 90))
            finished = started + dt.timedelta(minutes=rng.randint(3, 25))
            tid = uuid.uuid4()
            tickets.append(
                {
                    "id": tid, **synced, "service_day": day, "number": f"{category}{seq:05d}", "seq": seq,
                    "category": category, "priority": False, "priority_kind": "", "appointment_at": None,
                    "case_ref": "", "state": "done", "window_number": window,
                    "clerk_id": clerks[window - 1], "routed_window": None, "routed_at": None,
                    "return_window": None, "recall_count": 0, "call_reason": "", "issued_at": issued,
                    "called_at": called, "started_at": started, "finished_at": finished,
                    "offline": False, "issued_by": "kiosk",
                }
            )  # fmt: skip
            for event, at, before, after in (
                ("issue", issued, "", "issued"),
                ("call", called, "issued", "called"),
                ("start", started, "called", "serving"),
                ("finish", finished, "serving", "done"),
            ):
                kiosk = event == "issue"  # taken at the kiosk: no window, no clerk
                events.append(
                    {
                        "id": uuid.uuid4(), **synced, "ticket_id": tid, "event": event, "from_state": before,
                        "to_state": after, "window_number": None if kiosk else window,
                        "clerk_id": None if kiosk else clerks[window - 1], "at": at, "reason": "",
                        "detail": {},
                    }
                )  # fmt: skip
        with runtime.central.unit_of_work(capture=False) as uow:
            uow.session.execute(insert(Ticket), tickets)
            uow.session.execute(insert(TicketEvent), events)
            uow.commit()
        made += len(tickets)
    return made


def _seed_cases(runtime: Runtime, count: int) -> None:
    import random

    rng = random.Random(7)
    with runtime.local.unit_of_work(capture=False) as uow:
        applicant = Applicant(
            kind="person", id_type="111", id_number="11010519491231002X", name="张三",
            origin="bench", version=1, hlc="0", deleted=False,
        )  # fmt: skip
        uow.session.add(applicant)
        uow.session.flush()
        rows = []
        for n in range(count):
            received = NOW - dt.timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 480))
            due = received + dt.timedelta(days=rng.randint(0, 10))
            decided = received + dt.timedelta(days=rng.randint(0, 12)) if rng.random() < 0.8 else None
            rows.append(
                {
                    "id": uuid.uuid4(), "origin": "bench", "version": 1, "hlc": "0", "deleted": False,
                    "case_number": f"B{n:06d}", "applicant_id": applicant.id,
                    "matter_codes": [f"M{rng.randint(1, 60):03d}"], "bundle_code": "",
                    "status": "approved" if decided else "in_review", "received_at": received,
                    "accepted_at": received, "promised_due": due, "provisional": False,
                    "decided_at": decided, "clerk_id": uuid.uuid4(), "clerk_name": f"工作人员{n % 24}",
                    "window_number": 1 + n % 24,
                }
            )  # fmt: skip
        uow.session.execute(insert(Case), rows)
        uow.commit()


def _measure(runtime: Runtime, repeats: int) -> tuple[float, float, int, float]:
    with runtime.local.unit_of_work() as uow:
        user = uow.session.scalars(select(User).where(User.username == "chenjing")).one()
        who = UserSession(user.id, user.username, user.display_name, Role.SUPERVISOR, None, "")
    reports = SupervisionReports(runtime, clock=lambda: NOW)
    times, base, queue_times = [], [], []
    ratings = 0
    for _ in range(repeats):
        start = time.perf_counter()
        report = reports.report(who, MONTH)
        middle = time.perf_counter()
        queue = reports.queue_stats(who, MONTH)
        times.append(time.perf_counter() - start)
        queue_times.append(time.perf_counter() - middle)
        assert queue is not None
        ratings = report.ratings
        start = time.perf_counter()
        with runtime.local.engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT level, count(*) FROM ratings"
                    " WHERE rated_at >= :a AND rated_at < :b GROUP BY level"
                ),
                {"a": MONTH.start, "b": MONTH.end},
            ).all()
        base.append(time.perf_counter() - start)
    return statistics.median(times), statistics.median(base), ratings, statistics.median(queue_times)


def _one(label: str, folder: Path, url: str, quick: bool) -> list[dict[str, Any]]:
    runtime = _runtime(folder, url)
    try:
        per_day = 300 if quick else 1850
        seed_supervision_history(runtime.local, now=NOW, ratings_per_day=per_day, complaints_per_day=3)
        _seed_cases(runtime, 2000 if quick else 12_000)
        tickets = _seed_tickets(runtime, 5000 if quick else 40_000)
        value, baseline, ratings, queue_part = _measure(runtime, 3 if quick else 5)
    finally:
        runtime.close()
    return [
        {
            "name": f"month report: {tickets} tickets, {ratings} ratings, cases ({label})",
            "value": value,
            "unit": "s",
            "baseline": baseline,
            "ratio": value / baseline if baseline else None,
            "goal": f"< {GOAL_S} s",
            "note": f"of which queue statistics {queue_part:.2f} s; load average {os.getloadavg()[0]:.1f}",
        }
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="clerk-bench-sup-") as folder:
        base = Path(folder)
        results += _one(
            "SQLite local store", base / "sqlite", sqlite_url(base / "sqlite" / "local.sqlite"), quick
        )
        with _postgres() as pg_url:
            if pg_url is None:
                results.append(
                    {"name": "supervision month report (PostgreSQL)", "value": None, "unit": "s",
                     "goal": f"< {GOAL_S} s", "note": "PostgreSQL unreachable: not measured"}
                )  # fmt: skip
            else:
                results += _one("PostgreSQL", base / "pg", pg_url, quick)
    return results


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
