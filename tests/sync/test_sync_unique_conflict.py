"""A new row whose unique key another workstation took first (the same service rated on two
workstations while both were offline): the central store keeps the first, the loser is set aside
locally with its content kept as a rejection, and every workstation keeps pulling and converges."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sync_helpers import add_hall, count, outbox

from clerk_app.store.models import SyncRejection
from clerk_app.store.models.supervision import Rating
from clerk_app.store.uow import Store
from clerk_app.sync import client, rejections


def _rate(store: Store, service_ref: str, comment: str) -> uuid.UUID:
    with store.unit_of_work() as uow:
        rating = Rating(service_ref=service_ref, level="good", overall=5, comment=comment, channel="pad")
        uow.session.add(rating)
        uow.commit()
    return rating.id


def _ratings(store: Store) -> dict[str, tuple[uuid.UUID, str]]:
    with Session(store.engine) as s:
        return {r.service_ref: (r.id, r.comment) for r in s.scalars(select(Rating))}


@pytest.fixture
def pair(central: Store, make_ws: Callable[[str], Store]) -> tuple[Store, Store]:
    a, b = make_ws("a"), make_ws("b")
    add_hall(central, "H")
    client.sync_round(a, central)
    client.sync_round(b, central)
    return a, b


def _assert_converged(central: Store, *stores: Store) -> None:
    expected = _ratings(central)
    for store in stores:
        assert _ratings(store) == expected
        assert outbox(store) == 0


def test_same_service_rated_offline_on_two_workstations(central: Store, pair: tuple[Store, Store]) -> None:
    a, b = pair
    winner = _rate(a, "SVC-1", "甲的评价")
    loser = _rate(b, "SVC-1", "乙的评价")
    ra = client.sync_round(a, central)
    rb = client.sync_round(b, central)
    assert ra.push.rejected == 0 and rb.push.rejected == 1
    # the losing row is gone locally, the winner was pulled in the same round
    assert _ratings(b) == {"SVC-1": (winner, "甲的评价")}
    client.sync_round(a, central)
    _assert_converged(central, a, b)
    for store in (a, b, central):
        found = [v for v in rejections.list_rejections(store) if v.table_name == "ratings"]
        assert len(found) == 1
        view = found[0]
        assert view.row_id == loser and view.reason == "unique_conflict"
        assert view.device_id == b.device_id
        assert view.rejected_values["comment"] == "乙的评价"
        assert view.rejected_values["service_ref"] == "SVC-1"
    # re-applying says plainly why it cannot
    view = rejections.list_rejections(b)[0]
    with pytest.raises(rejections.SetAside):
        rejections.reapply(b, view.id, "测试员")
    # pulls keep working afterwards
    _rate(a, "SVC-2", "后来的评价")
    _rate(b, "SVC-3", "又一条")
    client.sync_round(a, central)
    client.sync_round(b, central)
    client.sync_round(a, central)
    _assert_converged(central, a, b)
    assert set(_ratings(b)) == {"SVC-1", "SVC-2", "SVC-3"}
    assert count(b, SyncRejection) == count(central, SyncRejection) == 1


def test_pulled_row_meets_local_unsynced_row(central: Store, pair: tuple[Store, Store]) -> None:
    a, b = pair
    winner = _rate(a, "SVC-9", "甲先同步")
    client.sync_round(a, central)
    loser = _rate(b, "SVC-9", "乙未同步")
    before = client.cursor(b)
    # a pull before the push (first pull, a pull-only round): the page applies, the local row is
    # set aside with its content, the cursor moves on
    report = client.pull(b, central)
    assert report.cursor > before
    assert _ratings(b) == {"SVC-9": (winner, "甲先同步")}
    found = rejections.list_rejections(b)
    assert len(found) == 1 and found[0].row_id == loser and found[0].reason == "unique_conflict"
    assert found[0].rejected_values["comment"] == "乙未同步"
    assert found[0].central_values == {"service_ref": "SVC-9"}
    assert outbox(b) == 1  # the insert still goes up: the central store records its answer
    # the next round pushes it, the central rejection replaces the local record; nothing applied twice
    rb = client.sync_round(b, central)
    assert rb.push.rejected == 1
    client.sync_round(a, central)
    _assert_converged(central, a, b)
    for store in (a, b, central):
        found = [v for v in rejections.list_rejections(store) if v.table_name == "ratings"]
        assert len(found) == 1 and found[0].row_id == loser and found[0].reason == "unique_conflict"
        assert found[0].rejected_values["comment"] == "乙未同步"
    assert count(b, SyncRejection) == count(central, SyncRejection) == 1
    _rate(b, "SVC-10", "之后照常")
    client.sync_round(b, central)
    client.sync_round(a, central)
    _assert_converged(central, a, b)


def test_pulled_row_meets_local_unsynced_row_in_a_snapshot(
    central: Store, make_ws: Callable[[str], Store]
) -> None:
    a, b = make_ws("a"), make_ws("b")
    add_hall(central, "H")
    client.sync_round(a, central)
    winner = _rate(a, "SVC-5", "甲")
    client.sync_round(a, central)
    _rate(b, "SVC-5", "乙")  # b has never pulled: its first pull is a snapshot
    client.first_pull(b, central)
    assert _ratings(b) == {"SVC-5": (winner, "甲")}
    assert [v.reason for v in rejections.list_rejections(b)] == ["unique_conflict"]
    client.sync_round(b, central)
    _assert_converged(central, a, b)
