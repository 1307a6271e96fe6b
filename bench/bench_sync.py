"""Benchmarks of sync: push and pull throughput against a bare psycopg ``executemany`` of the same
rows in the same run, and the time an offline-for-a-day workstation takes to converge.

The development machine is shared and its speed moves by a factor of two within a minute, so
each size is measured ``REPEATS`` times, alternating: the baseline, then the push into a fresh
central database (from a copy of the same workstation file), then the pull into a fresh
workstation. Each repeat gives a push and a pull ratio against the baseline measured just before
it, and a push floor (the rows, ledger records and change-log entries a push must write, by
``executemany`` with no decisions, in a fresh central database) is measured after it; the
figures reported are the medians (``ratio``: the median of those paired ratios; ``value``
and ``baseline``: the medians of the rates; ``runs``: each repeat's ratio, ``rates``: its
changes per second, ``baselines``: its baseline's rows per second). The baseline itself is
unchanged: one ``executemany`` of the rows into a plain table with the same keys.

Needs the PostgreSQL server (``CLERK_TEST_PG_URL``, default postgresql://postgres@127.0.0.1:5432/test);
each run works in a fresh database that it drops afterwards. Run alone:
``python bench/bench_sync.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app.services.runtime import open_store
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import Hall, OutboxEntry
from clerk_app.store.uow import Store
from clerk_app.sync import client

ADMIN_URL = os.environ.get("CLERK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PUSH_GOAL = 0.25
PULL_GOAL = 0.50
CONVERGE_GOAL_S = 10.0


@contextmanager
def _database() -> Iterator[str]:
    name = f"clerk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_changes(store: Store, count: int, prefix: str, chunk: int = 5000) -> None:
    made = 0
    while made < count:
        with store.unit_of_work() as uow:
            for i in range(made, min(count, made + chunk)):
                uow.session.add(
                    Hall(code=f"{prefix}{i}", name=f"大厅{i}", authority="审批局", address="某路1号")
                )
            uow.commit()
        made = min(count, made + chunk)


def _payloads(store: Store) -> list[dict[str, Any]]:
    with Session(store.engine) as s:
        return [dict(p) for p in s.scalars(select(OutboxEntry.payload).order_by(OutboxEntry.seq))]


def _baseline(url: str, payloads: list[dict[str, Any]]) -> float:
    """Rows per second of a bare psycopg executemany of the same hall rows into a plain table."""
    raw = make_url(url)
    dsn = f"host={raw.host} port={raw.port} user={raw.username} dbname={raw.database}"
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_halls (id uuid PRIMARY KEY, code text UNIQUE, name text,"
            " authority text, address text, contact_phone text, origin text, version bigint, hlc text,"
            " deleted boolean)"
        )
        conn.execute("TRUNCATE bench_halls")
        conn.commit()
        rows = [
            (
                p["id"],
                p["code"],
                p["name"],
                p["authority"],
                p["address"],
                p["contact_phone"],
                p["origin"],
                p["version"],
                p["hlc"],
                p["deleted"],
            )
            for p in payloads
        ]
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_halls VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.commit()
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed


def _push_floor(url: str, payloads: list[dict[str, Any]], device_id: str) -> float:
    """Changes per second of the least a push must write centrally, without deciding anything:
    each row into the real ``halls`` table, its ledger record and its change-log entry, by
    ``executemany`` in one transaction (a fresh central database; no reads, no conflict checks)."""
    raw = make_url(url)
    dsn = f"host={raw.host} port={raw.port} user={raw.username} dbname={raw.database}"
    columns = ("id", "code", "name", "authority", "address", "contact_phone", "origin", "version", "hlc")
    columns = (*columns, "deleted")
    rows = [tuple(p[c] for c in columns) for p in payloads]
    ledger = [(device_id, seq, p["id"]) for seq, p in enumerate(payloads, 1)]
    log = [(p["id"], device_id, json.dumps(p, ensure_ascii=False)) for p in payloads]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        cur.executemany(f"INSERT INTO halls ({', '.join(columns)}) VALUES ({', '.join(['%s'] * 10)})", rows)
        cur.executemany(
            "INSERT INTO sync_push_ledger (device_id, seq, table_name, row_id, local_version,"
            " central_version, result, reason, applied_at)"
            " VALUES (%s, %s, 'halls', %s, 1, 1, 'applied', '', now())",
            ledger,
        )
        cur.executemany(
            "INSERT INTO change_log (table_name, row_id, op, version, source, changed, payload, committed_at)"
            " VALUES ('halls', %s, 'insert', 1, %s, '[]', %s, now())",
            log,
        )
        conn.commit()
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed


REPEATS = 5


def _throughput(count: int, folder: Path, repeats: int = REPEATS) -> list[dict[str, Any]]:
    made = folder / f"writer-{count}.sqlite"
    writer = open_store(sqlite_url(made))
    try:
        _make_changes(writer, count, "B")
        payloads = _payloads(writer)
    finally:
        writer.dispose()
    baselines: list[float] = []
    pushes: list[float] = []
    pulls: list[float] = []
    floors: list[float] = []
    for repeat in range(repeats):
        with _database() as url:
            central = open_store(url, kind="central")
            copy = folder / f"writer-{count}-{repeat}.sqlite"
            shutil.copyfile(made, copy)  # the same outbox each time (WAL checkpointed on dispose)
            writer = open_store(sqlite_url(copy))
            reader = open_store(sqlite_url(folder / f"reader-{count}-{repeat}.sqlite"))
            try:
                baselines.append(_baseline(url, payloads))
                started = time.perf_counter()
                report = client.push(writer, central)
                pushes.append(report.pushed / (time.perf_counter() - started))
                started = time.perf_counter()
                pulled = client.pull(reader, central)
                pulls.append(pulled.applied / (time.perf_counter() - started))
                assert report.pushed == count and pulled.applied == count
            finally:
                for store in (central, writer, reader):
                    store.dispose()
        with _database() as url:
            open_store(url, kind="central").dispose()
            floors.append(_push_floor(url, payloads, "bench-floor"))
    baseline = statistics.median(baselines)
    push_ratio = statistics.median(p / b for p, b in zip(pushes, baselines, strict=True))
    pull_ratio = statistics.median(p / b for p, b in zip(pulls, baselines, strict=True))
    return [
        {
            "name": f"push {count:,} changes",
            "value": round(statistics.median(pushes)),
            "unit": "changes/s",
            "goal": f">= {PUSH_GOAL:.0%} of executemany",
            "baseline": round(baseline),
            "ratio": round(push_ratio, 3),
            "runs": [round(p / b, 3) for p, b in zip(pushes, baselines, strict=True)],
            "rates": [round(p) for p in pushes],
            "baselines": [round(b) for b in baselines],
        },
        {
            "name": f"push floor {count:,} changes (row + ledger + change log, executemany, no decisions)",
            "value": round(statistics.median(floors)),
            "unit": "changes/s",
            "goal": "(the most any push that keeps the ledger and the change log could reach)",
            "baseline": round(baseline),
            "ratio": round(statistics.median(f / b for f, b in zip(floors, baselines, strict=True)), 3),
            "runs": [round(f / b, 3) for f, b in zip(floors, baselines, strict=True)],
            "rates": [round(f) for f in floors],
        },
        {
            "name": f"pull {count:,} changes",
            "value": round(statistics.median(pulls)),
            "unit": "changes/s",
            "goal": f">= {PULL_GOAL:.0%} of executemany",
            "baseline": round(baseline),
            "ratio": round(pull_ratio, 3),
            "runs": [round(p / b, 3) for p, b in zip(pulls, baselines, strict=True)],
            "rates": [round(p) for p in pulls],
        },
    ]


def _convergence(folder: Path, changes: int = 5000) -> dict[str, Any]:
    """A workstation offline for a day: 5,000 changes of its own to push, and as many made by
    another workstation meanwhile to pull. Time from reconnecting to converged."""
    with _database() as url:
        central = open_store(url, kind="central")
        other = open_store(sqlite_url(folder / "other.sqlite"))
        offline = open_store(sqlite_url(folder / "offline.sqlite"))
        try:
            _make_changes(other, changes, "O")
            client.push(other, central)
            half = changes // 2
            _make_changes(offline, half, "F")
            with offline.unit_of_work() as uow:  # and edits of what it made
                for hall in uow.session.scalars(
                    select(Hall).where(Hall.code.like("F%")).limit(changes - half)
                ):
                    hall.contact_phone = "0471-0000"
                uow.commit()
            waiting = client.outbox_waiting(offline)
            started = time.perf_counter()
            report = client.sync_round(offline, central)
            elapsed = time.perf_counter() - started
            assert report.waiting == 0 and report.push.pushed == waiting
        finally:
            for store in (central, other, offline):
                store.dispose()
    return {
        "name": f"offline day converges ({waiting:,} pushed + {changes:,} pulled)",
        "value": round(elapsed, 2),
        "unit": "s",
        "goal": f"< {CONVERGE_GOAL_S:.0f} s",
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="clerk-bench-sync-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            results.extend(_throughput(size, folder))
        results.append(_convergence(folder))
    return results


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(json.dumps(line, ensure_ascii=False))
