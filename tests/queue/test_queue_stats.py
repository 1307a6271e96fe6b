"""Statistics from ticket history: waiting and service medians/p90, no-show rate, per hour."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from queue_helpers import StepClock, clerk, key

from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.queue_rules import service_day
from clerk_app.services.queue_stats import QueueStatsService, percentile, summarise
from clerk_app.services.runtime import open_store

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)  # 09:00 in the hall
S = dt.timedelta(seconds=1)
CLERK = uuid.UUID(int=7)


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert percentile([float(i) for i in range(1, 11)], 0.5) == 5.0


def test_summary_of_a_small_day() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tickets = [(a, "A", T0), (b, "A", T0 + 60 * S), (c, "B", T0 + 120 * S)]
    events = [
        (a, "issue", T0, None, None, 1),
        (a, "call", T0 + 300 * S, 1, CLERK, 2),
        (a, "start", T0 + 330 * S, 1, CLERK, 3),
        (a, "finish", T0 + 930 * S, 1, CLERK, 4),
        (b, "issue", T0 + 60 * S, None, None, 1),
        (b, "call", T0 + 960 * S, 1, CLERK, 2),
        (b, "recall", T0 + 990 * S, 1, CLERK, 3),
        (b, "no_show", T0 + 1020 * S, 1, CLERK, 4),
        (c, "issue", T0 + 120 * S, None, None, 1),
        (c, "call", T0 + 180 * S, 2, None, 2),
        (c, "start", T0 + 200 * S, 2, None, 3),
        (c, "transfer", T0 + 500 * S, 2, None, 4),
        (c, "call", T0 + 800 * S, 1, CLERK, 5),
        (c, "start", T0 + 810 * S, 1, CLERK, 6),
        (c, "finish", T0 + 4000 * S, 1, CLERK, 7),
    ]
    stats = summarise(tickets, events, T0.date(), T0.date(), {CLERK: "王晓燕"})
    assert stats.tickets == 3
    cat_a = next(g for g in stats.by_category if g.key == "A")
    assert cat_a.waiting.count == 2 and cat_a.waiting.median == dt.timedelta(seconds=(300 + 900) / 2)
    assert cat_a.service.count == 1 and cat_a.service.p90 == 600 * S
    assert cat_a.called == 2 and cat_a.no_shows == 1 and cat_a.no_show_rate == 0.5
    win1 = next(g for g in stats.by_window if g.key == "1")
    assert win1.waiting.count == 3  # a, b and c's second leg (waited 300 s after the transfer)
    assert sorted(stats.overall.waiting and [300, 900, 60, 300]) == [60, 300, 300, 900]
    assert stats.overall.waiting.count == 4 and stats.overall.waiting.p90 == 900 * S
    assert [g.key for g in stats.by_clerk] == ["王晓燕"]
    assert dict(stats.finished_per_hour) == {9: 1, 10: 1}


def test_statistics_service_over_a_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite+pysqlite:///{tmp_path / 'c.sqlite'}", kind="central")
    seed_demo_queue(store)
    clock = StepClock(step=dt.timedelta(seconds=30))
    svc = QueueService(store, clock=clock)
    for _ in range(4):
        svc.issue("A")
    w = clerk(1)
    for n in range(4):
        t = svc.call_next(w, key())
        assert t is not None
        if n == 3:
            svc.no_show(w, t.id, key())
            continue
        svc.start(w, t.id, key())
        svc.finish(w, t.id, key())
    stats = QueueStatsService(store).compute(clerk(1, Role.SUPERVISOR), service_day(clock.now))
    assert stats.tickets == 4 and stats.overall.called == 4 and stats.overall.no_shows == 1
    assert stats.overall.service.count == 3 and stats.overall.service.median == dt.timedelta(
        seconds=60
    )  # two clock readings per press
    assert [g.key for g in stats.by_window] == ["1"] and [g.key for g in stats.by_category] == ["A"]
    assert sum(n for _, n in stats.finished_per_hour) == 3
    with pytest.raises(PermissionDenied):
        QueueStatsService(store).compute(clerk(1), service_day(clock.now))
    store.dispose()
