"""Refused and displaced rows end explicit and convergent: a local row that a pulled row displaces
on a unique key either comes back in its central state (a synced row whose keys moved centrally)
or is kept as a rejection with its content until the central answer to its own changes arrives;
no workstation keeps a row, or a rejection record, that the central store does not have."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sync_helpers import add_hall, count, outbox

from clerk_app.store.models import Hall, SyncRejection
from clerk_app.store.uow import Store
from clerk_app.sync import client, rejections


def _halls(store: Store) -> dict[uuid.UUID, tuple[str, str, int]]:
    with Session(store.engine) as s:
        return {h.id: (h.code, h.name, h.version) for h in s.scalars(select(Hall))}


def _set(store: Store, hall_id: uuid.UUID, **values: str) -> None:
    with store.unit_of_work() as uow:
        hall = uow.session.get(Hall, hall_id)
        assert hall is not None
        for key, value in values.items():
            setattr(hall, key, value)
        uow.commit()


def _converged(central: Store, *stores: Store) -> None:
    expected = _halls(central)
    for store in stores:
        assert outbox(store) == 0
        assert _halls(store) == expected
        assert count(store, SyncRejection) == count(central, SyncRejection)


@pytest.fixture
def pair(central: Store, make_ws: Callable[[str], Store]) -> tuple[Store, Store]:
    return make_ws("a"), make_ws("b")


def test_synced_rows_swapping_unique_keys_are_pulled_whole(central: Store, pair: tuple[Store, Store]) -> None:
    a, b = pair
    first, second = add_hall(a, "X1", "甲"), add_hall(a, "X2", "乙")
    client.sync_round(a, central)
    client.sync_round(b, central)
    # a swaps the two codes (three steps, each valid on its own) and adds three halls; b pulls
    # all in one page, whose first half holds the three steps: applied by row, latest version
    # first, the first hall's new code meets the second hall still holding it
    _set(a, first.id, code="TMP")
    _set(a, second.id, code="X1")
    _set(a, first.id, code="X2")
    for i in range(3):
        add_hall(a, f"N{i}")
    client.sync_round(a, central)
    report = client.sync_round(b, central)
    assert report.pull.received == 6
    assert {code for code, _name, _v in _halls(b).values()} == {"X1", "X2", "N0", "N1", "N2"}
    assert _halls(b)[first.id][0] == "X2" and _halls(b)[second.id][0] == "X1"
    # nothing local was lost, so nothing is reported
    assert rejections.list_rejections(b) == []
    _converged(central, a, b)


def test_rotation_of_unique_keys_is_pulled_whole(central: Store, pair: tuple[Store, Store]) -> None:
    a, b = pair
    ids = [add_hall(a, f"K{i}", f"厅{i}").id for i in range(3)]
    client.sync_round(a, central)
    client.sync_round(b, central)
    # rotate the three codes through a spare one (four steps), then four new halls: the steps are
    # the first half of b's page, each hall's latest code is held locally by the next one
    _set(a, ids[0], code="SPARE")
    _set(a, ids[1], code="K0")
    _set(a, ids[2], code="K1")
    _set(a, ids[0], code="K2")
    for i in range(4):
        add_hall(a, f"M{i}")
    client.sync_round(a, central)
    report = client.sync_round(b, central)
    assert report.pull.received == 8
    assert [_halls(b)[hall_id][0] for hall_id in ids] == ["K2", "K0", "K1"]
    assert rejections.list_rejections(b) == []
    _converged(central, a, b)


def test_new_row_displaced_by_a_pull_and_then_accepted_comes_back(
    central: Store, pair: tuple[Store, Store]
) -> None:
    """b's new row is displaced locally by a pulled row holding its code; by the time b pushes,
    the code is free centrally, so the central store accepts b's row: b gets it back (and the
    provisional rejection record goes)."""
    a, b = pair
    add_hall(a, "Q1", "甲的")
    client.sync_round(a, central)
    client.sync_round(b, central)
    mine = add_hall(b, "Q2", "乙的")
    other = add_hall(central, "Q2", "中心的")  # meanwhile another hall takes Q2 centrally
    report = client.pull(b, central)
    assert report.received >= 1
    assert mine.id not in _halls(b)  # displaced, its insert still waits
    provisional = rejections.list_rejections(b)
    assert [(v.row_id, v.reason) for v in provisional] == [(mine.id, "unique_conflict")]
    assert provisional[0].rejected_values["name"] == "乙的"
    # the central hall gives its code up before b pushes: b's row is accepted as sent
    _set(central, other.id, code="Q3")
    rb = client.push(b, central)
    assert rb.rejected == 0
    assert _halls(b)[mine.id][:2] == ("Q2", "乙的")
    assert rejections.list_rejections(b) == []
    client.sync_round(b, central)
    client.sync_round(a, central)
    client.sync_round(b, central)
    _converged(central, a, b)


def test_new_row_refused_centrally_is_a_rejection_everywhere(
    central: Store, pair: tuple[Store, Store]
) -> None:
    """A new row the central store refuses (its code is taken) leaves the workstation in the
    acknowledgement, the rejection with its whole content reaches everyone, and the clerk can
    dismiss it (audited, synced)."""
    a, b = pair
    add_hall(a, "Z1", "先到")
    loser = add_hall(b, "Z1", "后到")
    client.sync_round(a, central)
    rb = client.sync_round(b, central)
    assert rb.push.rejected == 1
    assert [code for code, _n, _v in _halls(b).values()] == ["Z1"]
    assert loser.id not in _halls(b)
    client.sync_round(a, central)
    _converged(central, a, b)
    for store in (a, b, central):
        (view,) = rejections.list_rejections(store)
        assert view.row_id == loser.id and view.reason == "unique_conflict"
        assert view.rejected_values["name"] == "后到" and view.rejected_values["code"] == "Z1"
    (view,) = rejections.list_rejections(b)
    rejections.dismiss(b, view.id, "测试员")
    client.sync_round(b, central)
    client.sync_round(a, central)
    assert [v.status for v in rejections.list_rejections(a, status=None)] == ["dismissed"]
    _converged(central, a, b)


def test_edited_synced_row_displaced_by_a_pull_comes_back_with_its_edit(
    central: Store, pair: tuple[Store, Store]
) -> None:
    a, b = pair
    hall = add_hall(a, "P1", "原名")
    client.sync_round(a, central)
    client.sync_round(b, central)
    _set(b, hall.id, name="乙改名")  # waiting on b
    _set(a, hall.id, code="P9")
    newcomer = add_hall(a, "P1", "新厅")
    client.push(a, central)
    client.pull(b, central)  # the newcomer takes P1; b's hall (edit waiting) is set aside
    assert hall.id not in _halls(b) and newcomer.id in _halls(b)
    assert [v.row_id for v in rejections.list_rejections(b)] == [hall.id]
    client.sync_round(b, central)  # the edit is merged centrally; b gets the merged row back
    assert _halls(b)[hall.id][:2] == ("P9", "乙改名")
    client.sync_round(a, central)
    _converged(central, a, b)
    assert rejections.list_rejections(b) == []


def test_insert_and_edit_of_a_row_in_one_batch(central: Store, make_ws: Callable[[str], Store]) -> None:
    """The central store writes new rows as sent in bulk; a row inserted and edited within one
    batch is written with the edit (and logged twice)."""
    a, b = make_ws("a"), make_ws("b")
    halls = [add_hall(a, f"B{i}", f"厅{i}") for i in range(80)]
    for hall in halls[::2]:
        _set(a, hall.id, name=f"{hall.name}改")
    report = client.push(a, central, batch_size=1000)
    assert (report.pushed, report.batches, report.rejected) == (120, 1, 0)
    names = {code: name for code, name, _v in _halls(central).values()}
    assert names["B0"] == "厅0改" and names["B1"] == "厅1" and len(names) == 80
    client.pull(b, central)
    _converged(central, a, b)
