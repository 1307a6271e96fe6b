"""The month report over 30 days of a 24-window hall, on SQLite and on PostgreSQL. Goal: under 2 s.

Data: the demo hall's history generator (``seed_supervision_history``) with all 24 windows staffed,
every service rated and quicker services: about 40,000 tickets with their full history (waiting and
service times per category, window and clerk), as many ratings with their rectifications, about
16,000 cases with their events for the per-matter/department/window/clerk and on-time figures, and
办不成事 cases. Timed: the supervision report plus the queue statistics, as the report page asks for
them.

Also measured: the demo hall's first start (its 30 days of history into fresh SQLite stores).

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

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.demo import ensure_demo
from clerk_app.services.ratings import shared_calendar
from clerk_app.services.runtime import Runtime, open_central, open_store
from clerk_app.services.supervision_demo import seed_supervision_history
from clerk_app.services.supervision_reports import Period, PeriodKind, SupervisionReports
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import User
from clerk_app.store.models.queue import Ticket

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


def _staff_all_windows(runtime: Runtime) -> None:
    """Clerks for all 24 windows (the demo hall has five): the generator seats one at each."""
    with runtime.local.unit_of_work() as uow:
        have = len(uow.session.scalars(select(User).where(User.role == Role.CLERK.value)).all())
        for n in range(have, 24):
            uow.session.add(
                User(username=f"clerk{n:02d}", display_name=f"工作人员{n:02d}", role=Role.CLERK.value,
                     password_hash="-", staff_no=f"C{n + 1:03d}")
            )  # fmt: skip
        uow.commit()


def _seed(runtime: Runtime, quick: bool) -> tuple[int, float]:
    """30 days of the hall's history by the demo generator: every window staffed, every
    service rated, services quicker than the demo's so that the month holds about 40,000
    tickets (about 8,000 in the quick run). Returns the tickets and the seconds it took."""
    _staff_all_windows(runtime)
    started = time.perf_counter()
    seed_supervision_history(
        runtime.local, central=runtime.central, now=NOW, rated_share=1.0, complaints_per_day=3,
        service_scale=0.34 if not quick else 2.0,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    with runtime.central.unit_of_work() as uow:
        tickets = uow.session.scalar(select(func.count()).select_from(Ticket)) or 0
    return tickets, seconds


def _demo_seeding(folder: Path) -> dict[str, Any]:
    """The first start of the embedded demo: the generated history of the demo hall (five
    clerks) into a fresh local SQLite store and embedded central store, as ``dev.py app`` does."""
    paths = resolve_paths(folder).ensure()
    local = open_store(sqlite_url(paths.local_store))
    central = open_central(sqlite_url(paths.embedded_central), local)
    ensure_demo(central, local)
    shared_calendar()  # built once per process anyway (the sign-in window needs it first)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        ratings = seed_supervision_history(local, central=central)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        local.dispose()
        central.dispose()
    return {
        "name": f"demo hall first start: 30 days of history ({ratings} ratings with their tickets and cases)",
        "value": wall,
        "unit": "s",
        "goal": "a few seconds",
        "note": f"CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}",
    }


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
        tickets, seeding = _seed(runtime, quick)
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
            "note": f"of which queue statistics {queue_part:.2f} s; data generated in {seeding:.0f} s;"
            f" load average {os.getloadavg()[0]:.1f}",
        }
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="clerk-bench-sup-") as folder:
        base = Path(folder)
        results.append(_demo_seeding(base / "demo"))
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
