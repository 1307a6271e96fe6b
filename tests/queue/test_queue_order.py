"""Call-next ordering: examples from the issue, and exhaustive checks over small queues."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_app.domain.queue_order import (
    CallReason,
    InterleaveState,
    OrderPolicy,
    WaitingTicket,
    choose_next,
    eligible,
    estimated_wait,
    people_ahead,
    rank,
    replay_streak,
)

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
DEFAULT = OrderPolicy()


def t(
    key: str,
    minutes_ago: int,
    *,
    cat: str = "A",
    prio: bool = False,
    appt: int | None = None,
    routed: int | None = None,
) -> WaitingTicket:
    return WaitingTicket(
        key=key,
        category=cat,
        issued_at=NOW - minutes_ago * M,
        priority=prio,
        appointment_at=None if appt is None else NOW + appt * M,
        routed_window=routed,
    )


def keys(order: list) -> list[str]:
    return [c.ticket.key for c in order]


def order(
    tickets: list[WaitingTicket],
    policy: OrderPolicy = DEFAULT,
    streak: int = 0,
    window: int = 3,
    cats: tuple[str, ...] = ("A", "B"),
) -> list:
    return rank(
        tickets, window=window, categories=cats, policy=policy, state=InterleaveState(streak), now=NOW
    )


def test_oldest_first_without_priority() -> None:
    assert keys(order([t("n2", 5), t("n1", 9), t("n3", 1)])) == ["n1", "n2", "n3"]


def test_two_normal_to_one_priority() -> None:
    tickets = [t(f"n{i}", 60 - i) for i in range(5)] + [t(f"p{i}", 30 - i, prio=True) for i in range(3)]
    assert keys(order(tickets)) == ["n0", "n1", "p0", "n2", "n3", "p1", "n4", "p2"]


def test_interleave_continues_from_window_history() -> None:
    tickets = [t("n0", 50), t("p0", 10, prio=True)]
    assert keys(order(tickets, streak=2))[0] == "p0"
    assert keys(order(tickets, streak=1))[0] == "n0"


def test_ratio_zero_means_priority_always_first() -> None:
    tickets = [t("n0", 50), t("p0", 10, prio=True), t("p1", 5, prio=True)]
    assert keys(order(tickets, OrderPolicy(normal_per_priority=0))) == ["p0", "p1", "n0"]


def test_due_appointment_before_walk_ins_and_future_ones_last() -> None:
    tickets = [t("n0", 50), t("a_due", 1, appt=-2), t("a_later", 2, appt=30), t("p0", 40, prio=True)]
    result = order(tickets, streak=5)
    assert keys(result) == ["a_due", "p0", "n0", "a_later"]
    assert [c.reason for c in result] == [
        CallReason.APPOINTMENT,
        CallReason.PRIORITY,
        CallReason.NORMAL,
        CallReason.EARLY_APPOINTMENT,
    ]


def test_early_allowance_and_idle_policy() -> None:
    tickets = [t("n0", 5), t("a", 1, appt=4)]
    assert keys(order(tickets, OrderPolicy(appointment_early=5 * M)))[0] == "a"
    assert keys(order(tickets, OrderPolicy(serve_early_appointments=False))) == ["n0"]


def test_wait_target_promotes_long_waits_over_priority() -> None:
    tickets = [t("p0", 5, prio=True), t("n_old", 40), t("n_new", 3)]
    policy = OrderPolicy(normal_per_priority=0, wait_target=30 * M)
    assert keys(order(tickets, policy)) == ["n_old", "p0", "n_new"]
    assert order(tickets, policy)[0].reason is CallReason.OVERDUE


def test_routed_tickets_only_for_their_window_and_first() -> None:
    tickets = [t("n0", 50), t("r3", 1, cat="Z", routed=3), t("r7", 60, routed=7)]
    assert keys(order(tickets, window=3)) == ["r3", "n0"]
    assert keys(order(tickets, window=7)) == ["r7", "n0"]
    assert keys(order(tickets, window=5)) == ["n0"]


def test_categories_filter() -> None:
    tickets = [t("a", 5, cat="A"), t("c", 50, cat="C")]
    assert keys(order(tickets, cats=("A",))) == ["a"]
    assert (
        choose_next(
            tickets, window=1, categories=("X",), policy=OrderPolicy(), state=InterleaveState(), now=NOW
        )
        is None
    )
    assert eligible(tickets[1], 1, ["C"]) and not eligible(tickets[1], 1, ["A"])


def test_replay_streak_and_after() -> None:
    calls = [
        (False, CallReason.NORMAL),
        (True, CallReason.PRIORITY),
        (False, CallReason.NORMAL),
        (False, CallReason.ROUTED),
        (False, CallReason.OVERDUE),
        (False, CallReason.APPOINTMENT),
    ]
    assert replay_streak(calls) == InterleaveState(2)
    assert replay_streak([]) == InterleaveState(0)


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        OrderPolicy(normal_per_priority=-1)
    with pytest.raises(ValueError):
        OrderPolicy(wait_target=dt.timedelta(0))
    with pytest.raises(ValueError):
        OrderPolicy(appointment_early=-M)


def test_people_ahead_and_estimate() -> None:
    waiting = [t("n0", 10), t("n1", 5), t("p0", 1, prio=True), t("b", 20, cat="B")]
    assert people_ahead(waiting[1], waiting, now=NOW, policy=OrderPolicy()) == 1
    assert people_ahead(waiting[0], waiting, now=NOW, policy=OrderPolicy()) == 0
    assert people_ahead(waiting[2], waiting, now=NOW, policy=OrderPolicy()) == 2
    assert people_ahead(waiting[2], waiting, now=NOW, policy=OrderPolicy(normal_per_priority=0)) == 0
    assert people_ahead(waiting[3], waiting, now=NOW, policy=OrderPolicy()) == 0
    routed = [t("r1", 3, routed=4), t("r2", 2, routed=4, cat="B"), t("r3", 1, routed=5)]
    assert people_ahead(routed[1], waiting + routed, now=NOW, policy=OrderPolicy()) == 1
    assert people_ahead(routed[2], waiting + routed, now=NOW, policy=OrderPolicy()) == 0
    assert estimated_wait(0, 3, 10 * M) == dt.timedelta(0)
    assert estimated_wait(7, 3, 10 * M) == 30 * M
    assert estimated_wait(2, 0, 10 * M) == 20 * M


# --- exhaustive: every queue of up to 5 tickets over a finite space of ticket kinds ----------------

KINDS = [
    dict(prio=False),
    dict(prio=True),
    dict(appt=-3),
    dict(appt=20),
    dict(routed=3),
    dict(routed=8),
    dict(prio=False, cat="C"),
    dict(prio=True, old=True),
    dict(prio=False, old=True),
]


def _make(kind: dict, i: int) -> WaitingTicket:
    kind = dict(kind)
    old = kind.pop("old", False)
    return t(f"k{i}", (90 if old else 10) + i, **kind)


def _check(tickets: list[WaitingTicket], policy: OrderPolicy, streak: int) -> None:
    result = order(tickets, policy, streak=streak)
    elig = [
        x
        for x in tickets
        if eligible(x, 3, ("A", "B"))
        and (
            policy.serve_early_appointments
            or x.routed_window == 3
            or x.appointment_at is None
            or x.appointment_at <= NOW
        )
    ]
    assert sorted(keys(result)) == sorted(x.key for x in elig), "a permutation of the eligible tickets"
    head = choose_next(
        tickets, window=3, categories=("A", "B"), policy=policy, state=InterleaveState(streak), now=NOW
    )
    assert (head is None) == (not result) and (head is None or head == result[0])
    band = {
        CallReason.ROUTED: 0,
        CallReason.APPOINTMENT: 1,
        CallReason.OVERDUE: 2,
        CallReason.PRIORITY: 3,
        CallReason.NORMAL: 3,
        CallReason.EARLY_APPOINTMENT: 4,
    }
    bands = [band[c.reason] for c in result]
    assert bands == sorted(bands), "bands in order"
    for reason in CallReason:
        same = [
            c.ticket
            for c in result
            if c.reason is reason and reason not in (CallReason.APPOINTMENT, CallReason.EARLY_APPOINTMENT)
        ]
        assert [x.issued_at for x in same] == sorted(x.issued_at for x in same), f"oldest first in {reason}"
    # the interleave, simulated call by call from the given streak
    state = InterleaveState(streak)
    for c in result:
        if c.reason is CallReason.PRIORITY:
            normals_left = any(d.reason is CallReason.NORMAL for d in result[result.index(c) :])
            assert state.normal_streak >= policy.normal_per_priority or not normals_left
        if c.reason is CallReason.NORMAL:
            prios_left = any(d.reason is CallReason.PRIORITY for d in result[result.index(c) :])
            assert state.normal_streak < policy.normal_per_priority or not prios_left
        state = state.after(c.reason, c.ticket)
    for c in result:
        assert (c.reason is CallReason.OVERDUE) == (
            policy.wait_target is not None
            and c.ticket.appointment_at is None
            and c.ticket.routed_window is None
            and NOW - c.ticket.issued_at > policy.wait_target
        )


POLICIES = [
    OrderPolicy(),
    OrderPolicy(normal_per_priority=0),
    OrderPolicy(normal_per_priority=1, wait_target=60 * M),
    OrderPolicy(normal_per_priority=3, serve_early_appointments=False),
]


def test_exhaustive_small_queues() -> None:
    checked = 0
    for size in range(0, 5):
        for combo in itertools.combinations_with_replacement(range(len(KINDS)), size):
            tickets = [_make(KINDS[k], i) for i, k in enumerate(combo)]
            for policy in POLICIES:
                for streak in (0, 1, 2, 3):
                    _check(tickets, policy, streak)
                    _check(list(reversed(tickets)), policy, streak)
                    checked += 1
    assert checked > 10_000


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(KINDS) - 1), st.integers(0, 120)), max_size=25),
    st.integers(0, 4),
    st.integers(0, 5),
    st.sampled_from([None, 15, 45]),
)
def test_random_queues(spec: list[tuple[int, int]], ratio: int, streak: int, target: int | None) -> None:
    tickets = []
    for i, (k, age) in enumerate(spec):
        kind = dict(KINDS[k])
        kind.pop("old", None)
        tickets.append(t(f"r{i}", age, **kind))
    policy = OrderPolicy(normal_per_priority=ratio, wait_target=None if target is None else target * M)
    _check(tickets, policy, streak)
    # calling the head repeatedly (the state advancing) reproduces the ranked order
    remaining, state, calls = list(tickets), InterleaveState(streak), []
    while (
        head := choose_next(remaining, window=3, categories=("A", "B"), policy=policy, state=state, now=NOW)
    ) is not None:
        calls.append(head.ticket.key)
        remaining.remove(head.ticket)
        state = state.after(head.reason, head.ticket)
    assert calls == keys(order(tickets, policy, streak=streak))
