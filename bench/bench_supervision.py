"""The supervision month report over 30 days of a 24-window hall, on the local SQLite store and on
PostgreSQL. Goal: under 2 s.

Data: 30 days of generated history (``seed_supervision_history``) with about 40,000 ratings (every
service of a busy 24-window hall rated), their rectifications and 办不成事 cases, plus 12,000
cases for the per-matter/window/clerk and on-time figures. Ticket waiting and service times are
the queue's and are not part of this report yet.

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


def _runtime(folder: Path, local_url: str) -> Runtime:
    paths = resolve_paths(folder).ensure()
    local = open_store(local_url)
    central_url = sqlite_url(paths.embedded_central)
    central = open_central(central_url, local)
    ensure_demo(central, local)
    return Runtime(paths, Settings(), local, central, central_url)


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


def _measure(runtime: Runtime, repeats: int) -> tuple[float, float, int]:
    with runtime.local.unit_of_work() as uow:
        user = uow.session.scalars(select(User).where(User.username == "chenjing")).one()
        who = UserSession(user.id, user.username, user.display_name, Role.SUPERVISOR, None, "")
    reports = SupervisionReports(runtime, clock=lambda: NOW)
    times, base = [], []
    ratings = 0
    for _ in range(repeats):
        start = time.perf_counter()
        report = reports.report(who, MONTH)
        times.append(time.perf_counter() - start)
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
    return statistics.median(times), statistics.median(base), ratings


def _one(label: str, folder: Path, url: str, quick: bool) -> list[dict[str, Any]]:
    runtime = _runtime(folder, url)
    try:
        per_day = 300 if quick else 1850
        seed_supervision_history(runtime.local, now=NOW, ratings_per_day=per_day, complaints_per_day=3)
        _seed_cases(runtime, 2000 if quick else 12_000)
        value, baseline, ratings = _measure(runtime, 3 if quick else 7)
    finally:
        runtime.close()
    return [
        {
            "name": f"supervision month report, {ratings} ratings + cases ({label})",
            "value": value,
            "unit": "s",
            "baseline": baseline,
            "ratio": value / baseline if baseline else None,
            "goal": f"< {GOAL_S} s",
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
