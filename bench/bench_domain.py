"""Benchmarks of the domain layer: matter search per keystroke, deadline status over open cases.

``run(quick)`` returns result dicts (``name``, ``value``, ``unit``, ``goal``, and ``baseline`` /
``ratio`` where a side-by-side baseline applies). Run alone: ``python bench/bench_domain.py [--quick]``.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from clerk_app.domain.catalogue import Catalogue, Matter
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.deadlines import Deadline, Suspension, TimeLimit, compute_deadline, deadline_status
from clerk_app.domain.search import MatterIndex, normalise_query
from clerk_app.domain.workdays import WorkCalendar

QUALIFIERS = (
    "", "（新办）", "（变更）", "（延续）", "（注销）", "（补证）", "（换证）", "（市级）",
    "（区级）", "（县级）", "（首次）", "（迁入）", "（迁出）", "（个人）", "（企业）", "（网办）",
    "（告知承诺）", "（容缺）", "（跨省通办）", "（帮代办）", "（自助）", "（加急）", "（预约）", "（核验）",
    "（年检）", "（备案）", "（审核）", "（确认）", "（查询）", "（打印）", "（补正）", "（撤销）",
    "（恢复）", "（简易程序）", "（一般程序）", "（港澳台）",
    "（外籍）", "（农村）", "（城镇）", "（老年人）",
)  # fmt: skip
KEYSTROKES = (
    "q",
    "qy",
    "qyk",
    "qykb",
    "企",
    "企业",
    "企业开",
    "企业开办",
    "bdc",
    "不动产转",
    "0001",
    "护照",
    "企业设里",
)


def synthetic_catalogue(size: int = 2000) -> Catalogue:
    """``size`` matters made from the demo ones with realistic qualifiers (sub-items)."""
    demo = load_demo_catalogue()
    matters: list[Matter] = []
    for qualifier in QUALIFIERS:
        for matter in demo.matters:
            code = f"{matter.implementation_code}{len(matters):04d}"
            matters.append(replace(matter, implementation_code=code, name=matter.name + qualifier))
            if len(matters) == size:
                return Catalogue(demo.departments, tuple(matters), demo.bundles)
    return Catalogue(demo.departments, tuple(matters), demo.bundles)


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def naive_search(catalogue: Catalogue, query: str) -> list[str]:
    """Baseline: a plain loop testing substring on each name (no pinyin, no index)."""
    q = normalise_query(query)
    return [m.name for m in catalogue.matters if q in normalise_query(m.name)][:20]


def bench_search(quick: bool) -> list[dict[str, object]]:
    catalogue = synthetic_catalogue(2000)
    start = time.perf_counter()
    index = MatterIndex(catalogue)
    build_ms = (time.perf_counter() - start) * 1000
    repeat = 5 if quick else 30
    per_key = [median_ms(lambda q=q: index.search(q), repeat) for q in KEYSTROKES]  # type: ignore[misc]
    worst = max(per_key)
    baseline = statistics.median(
        median_ms(lambda q=q: naive_search(catalogue, q), repeat) for q in KEYSTROKES
    )  # type: ignore[misc]
    median = statistics.median(per_key)
    return [
        {
            "name": "search: index build, 2,000 matters",
            "value": round(build_ms, 1),
            "unit": "ms",
            "goal": "once at start-up",
        },
        {
            "name": "search: one keystroke, 2,000 matters (median over keystrokes)",
            "value": round(median, 3),
            "unit": "ms",
            "goal": "< 5 ms",
            "baseline": round(baseline, 3),
            "ratio": round(median / baseline, 2) if baseline else None,
        },
        {
            "name": "search: worst keystroke, 2,000 matters",
            "value": round(worst, 3),
            "unit": "ms",
            "goal": "< 5 ms",
        },
    ]


def open_cases(calendar: WorkCalendar, count: int) -> list[Deadline]:
    rng = random.Random(3)
    cases = []
    for _ in range(count):
        accepted = datetime(2026, 1, 5, 9) + timedelta(days=rng.randrange(320), minutes=rng.randrange(480))
        suspensions = []
        if rng.random() < 0.2:
            start = accepted.date() + timedelta(days=rng.randrange(1, 10))
            suspensions.append(Suspension(start, start + timedelta(days=rng.randrange(0, 10))))
        limit = TimeLimit(rng.choice((0.5, 1, 3, 5, 10, 15, 20)))
        cases.append(compute_deadline(accepted, limit, calendar, suspensions))
    return cases


def naive_days_left(accepted: date, days: int, today: date) -> int:
    """Baseline: step day by day with ``chinese_calendar.is_workday`` to the due day, then count to it."""
    import chinese_calendar

    due, counted = accepted, 0
    while counted < days:
        due += timedelta(days=1)
        counted += bool(chinese_calendar.is_workday(due))
    step, left = min(today, due), 0
    while step < due:
        step += timedelta(days=1)
        left += bool(chinese_calendar.is_workday(step))
    return left


def bench_deadlines(quick: bool) -> list[dict[str, object]]:
    calendar = WorkCalendar()
    count = 10_000
    start = time.perf_counter()
    cases = open_cases(calendar, count)
    compute_ms = (time.perf_counter() - start) * 1000
    now = datetime(2026, 11, 28, 10, 0)
    repeat = 3 if quick else 11
    status_ms = median_ms(lambda: [deadline_status(d, now, calendar) for d in cases], repeat)
    rng = random.Random(5)
    sample = [
        (date(2026, 1, 5) + timedelta(days=rng.randrange(320)), rng.choice((1, 3, 5, 10, 15, 20)))
        for _ in range(1000)
    ]
    naive = median_ms(lambda: [naive_days_left(a, n, now.date()) for a, n in sample], 1 if quick else 3)
    baseline = naive * count / len(sample)
    return [
        {
            "name": "deadlines: compute 10,000 deadlines",
            "value": round(compute_ms, 1),
            "unit": "ms",
            "goal": "informative",
        },
        {
            "name": "deadlines: status of 10,000 open cases",
            "value": round(status_ms, 2),
            "unit": "ms",
            "goal": "< 50 ms",
            "baseline": round(baseline, 1),
            "ratio": round(status_ms / baseline, 3) if baseline else None,
        },
    ]


def run(quick: bool = False) -> list[dict[str, object]]:
    """All domain benchmarks."""
    return bench_search(quick) + bench_deadlines(quick)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), ensure_ascii=False, indent=1))
