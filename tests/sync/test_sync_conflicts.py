"""Table policies: field merge, server-decided overlaps kept as rejections, insert-only de-dup,
checked status events, re-apply and dismiss, schema versions, snapshot after retention."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sync_helpers import add_hall, count, outbox

from clerk_app.store.audit import append_audit
from clerk_app.store.models import AuditEntry, ChangeLogEntry, Hall, SyncCounter, SyncRejection
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import client, policies, rejections
from clerk_app.sync.protocol import PushEntry, UpgradeRequired


def _edit(store: Store, hall_id: uuid.UUID, **values: Any) -> None:
    with store.unit_of_work() as uow:
        row = uow.session.get(Hall, hall_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        uow.commit()


def _hall(store: Store, hall_id: uuid.UUID) -> Hall:
    with Session(store.engine) as s:
        row = s.get(Hall, hall_id)
        assert row is not None
        s.expunge(row)
        return row


@pytest.fixture
def trio(central: Store, make_ws: Callable[[str], Store]) -> tuple[Store, Store, uuid.UUID]:
    a, b = make_ws("a"), make_ws("b")
    hall = add_hall(central, "H", "原名")
    client.sync_round(a, central)
    client.sync_round(b, central)
    return a, b, hall.id


def test_disjoint_edits_merge(central: Store, trio: tuple[Store, Store, uuid.UUID]) -> None:
    a, b, hid = trio
    _edit(a, hid, name="甲改名")
    _edit(b, hid, contact_phone="110")
    client.sync_round(a, central)
    rb = client.sync_round(b, central)
    client.sync_round(a, central)
    assert rb.push.rejected == 0
    for store in (a, b, central):
        h = _hall(store, hid)
        assert (h.name, h.contact_phone) == ("甲改名", "110")
    assert count(central, SyncRejection) == 0
    assert _hall(a, hid).version == _hall(b, hid).version == _hall(central, hid).version


def test_overlap_server_decides_and_loser_is_kept(
    central: Store, trio: tuple[Store, Store, uuid.UUID]
) -> None:
    a, b, hid = trio
    _edit(a, hid, name="甲的名字")
    _edit(b, hid, name="乙的名字", contact_phone="120")
    client.sync_round(a, central)
    rb = client.sync_round(b, central)
    client.sync_round(a, central)
    assert rb.push.rejected == 1
    for store in (a, b, central):
        h = _hall(store, hid)
        assert (h.name, h.contact_phone) == ("甲的名字", "120")  # name: first to arrive; phone merged
    found = rejections.list_rejections(b)
    assert len(found) == 1 and found[0].reason == "conflict" and found[0].fields == ("name",)
    assert found[0].rejected_values == {"name": "乙的名字"} and found[0].central_values == {
        "name": "甲的名字"
    }
    assert found[0].device_id == b.device_id and rejections.list_rejections(a) == found

    # the clerk re-applies the losing value: a new edit on top of the current row, audited
    rejections.reapply(b, found[0].id, "乙")
    client.sync_round(b, central)
    client.sync_round(a, central)
    for store in (a, b, central):
        assert _hall(store, hid).name == "乙的名字"
        assert rejections.list_rejections(store) == []
    with Session(central.engine) as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "sync.rejection.reapply"))


def test_dismiss_is_audited_and_travels(central: Store, trio: tuple[Store, Store, uuid.UUID]) -> None:
    a, b, hid = trio
    _edit(a, hid, name="一")
    _edit(b, hid, name="二")
    client.sync_round(a, central)
    client.sync_round(b, central)
    (rej,) = rejections.list_rejections(b)
    rejections.dismiss(b, rej.id, "值班长")
    client.sync_round(b, central)
    assert [r.status for r in rejections.list_rejections(central, status=None)] == ["dismissed"]
    assert _hall(central, hid).name == "一"
    with Session(central.engine) as s:
        assert (
            s.scalar(select(AuditEntry.actor_name).where(AuditEntry.action == "sync.rejection.dismiss"))
            == "值班长"
        )


def test_chained_offline_edits_are_not_false_conflicts(
    central: Store, trio: tuple[Store, Store, uuid.UUID]
) -> None:
    a, b, hid = trio
    _edit(b, hid, address="乙地址")
    client.sync_round(b, central)
    for i in range(4):  # a edits the same field again and again while offline
        _edit(a, hid, name=f"甲{i}")
    ra = client.sync_round(a, central, batch_size=2)
    assert ra.push.rejected == 0 and ra.push.pushed == 4
    _edit(a, hid, name="甲再改")  # based on the merged state it got back
    assert client.sync_round(a, central).push.rejected == 0
    client.sync_round(b, central)
    for store in (a, b, central):
        h = _hall(store, hid)
        assert (h.name, h.address) == ("甲再改", "乙地址")


def _audit(store: Store, action: str) -> uuid.UUID:
    with store.unit_of_work() as uow:
        entry = append_audit(uow.session, store.device_id, action, actor_name="测")
        uow.commit()
        return entry.id


def test_insert_only_deduplicated_by_id(central: Store, make_ws: Callable[[str], Store]) -> None:
    a = make_ws("a")
    aid = _audit(a, "login")
    client.sync_round(a, central)
    entry = client.read_outbox(a, 1)
    assert entry == []
    with Session(central.engine) as s:
        row = s.get(AuditEntry, aid)
        assert row is not None
        from clerk_app.store.uow import row_payload

        payload = row_payload(row)
    dup = PushEntry(999, "audit_entries", aid, "insert", 0, 1, (), payload)
    upd = PushEntry(1000, "audit_entries", aid, "update", 1, 2, ("action",), {**payload, "action": "forged"})
    result = central_side.apply_push(central, "another-device", [dup, upd])
    assert [(r.result, r.reason) for r in result.results] == [("duplicate", ""), ("rejected", "insert_only")]
    assert count(central, AuditEntry) == 1
    with Session(central.engine) as s:
        assert s.get(AuditEntry, aid).action == "login"  # type: ignore[union-attr]


@pytest.fixture
def checked_audit() -> Iterator[None]:
    def check(payload: dict[str, Any], read: policies.RowReader) -> str | None:
        return "非法的状态变更" if payload.get("action") == "case.illegal" else None

    policies.register_policy("audit_entries", policies.CheckedInsert(check))
    yield
    policies.unregister_policy("audit_entries")


def test_checked_event_rejected_on_arrival(
    central: Store, make_ws: Callable[[str], Store], checked_audit: None
) -> None:
    a = make_ws("a")
    good = _audit(a, "case.accept")
    bad = _audit(a, "case.illegal")
    report = client.sync_round(a, central)
    assert report.push.rejected == 1 and report.waiting == 0
    with Session(central.engine) as s:
        assert s.get(AuditEntry, good) is not None and s.get(AuditEntry, bad) is None
    (rej,) = rejections.list_rejections(a)
    assert rej.reason == "check_failed" and rej.detail == "非法的状态变更" and rej.row_id == bad


def test_schema_one_behind_syncs_too_old_is_told_to_upgrade(
    central: Store, make_ws: Callable[[str], Store]
) -> None:
    a = make_ws("a")
    add_hall(a, "A")
    with Session(central.engine) as s, s.begin():
        s.execute(update(SyncCounter).where(SyncCounter.name == "schema").values(value=2))
    report = client.sync_round(a, central, schema_version=1)  # one behind: fine
    assert report.push.pushed == 1
    add_hall(a, "B")
    with Session(central.engine) as s, s.begin():
        s.execute(update(SyncCounter).where(SyncCounter.name == "schema").values(value=3))
    with pytest.raises(UpgradeRequired) as info:
        client.sync_round(a, central, schema_version=1)
    assert "升级" in str(info.value)
    assert outbox(a) == 1  # kept intact
    with pytest.raises(UpgradeRequired):
        central_side.apply_push(central, a.device_id, client.read_outbox(a, 10), schema_version=1)
    assert outbox(a) == 1 and count(central, Hall) == 1


def test_pulled_payload_from_newer_schema_ignores_unknown_columns(
    central: Store, make_ws: Callable[[str], Store]
) -> None:
    hall = add_hall(central, "N")
    with Session(central.engine) as s, s.begin():
        entry = s.scalars(select(ChangeLogEntry)).one()
        entry.payload = {**entry.payload, "future_column": "x"}
        entry.changed = ["future_column"]
    a = make_ws("a")
    client.pull(a, central)
    assert _hall(a, hall.id).code == "N"


def test_prune_keeps_entries_not_yet_numbered(central: Store, make_ws: Callable[[str], Store]) -> None:
    a = make_ws("a")
    add_hall(a, "P0")
    client.sync_round(a, central)  # its pull numbers P0's entry
    add_hall(central, "FRESH")  # on PostgreSQL left without a number until the next pull
    removed = central_side.prune_change_log(central, dt.timedelta(seconds=-1))
    report = client.pull(a, central)
    if central.engine.dialect.name == "postgresql":
        assert removed == 1 and not report.snapshot and report.received == 1 and report.cursor == 2
    else:  # numbered at its commit, and pruned with the rest
        assert removed == 2 and report.snapshot
    with Session(a.engine) as s:
        assert sorted(s.scalars(select(Hall.code))) == ["FRESH", "P0"]


def test_cursor_older_than_retention_gets_snapshot(central: Store, make_ws: Callable[[str], Store]) -> None:
    a = make_ws("a")
    for i in range(3):
        add_hall(a, f"S{i}")
    client.sync_round(a, central)
    removed = central_side.prune_change_log(central, dt.timedelta(seconds=-1))
    assert removed == 3
    add_hall(central, "AFTER")
    late = make_ws("late")
    report = client.pull(late, central)
    assert report.snapshot and report.cursor == 4
    with Session(late.engine) as s:
        assert sorted(s.scalars(select(Hall.code))) == ["AFTER", "S0", "S1", "S2"]


def test_case_events_checked_by_the_state_machine() -> None:
    from clerk_app.sync.case_policy import check_case_event

    assert isinstance(policies.policy_for("case_events"), policies.CheckedInsert)
    users = {uuid.UUID(int=1): {"role": "clerk"}}

    def read(table: str, row_id: uuid.UUID) -> dict[str, Any] | None:
        return users.get(row_id) if table == "users" else None

    ok = {
        "event": "accept",
        "from_state": "received",
        "to_state": "accepted",
        "actor_id": str(uuid.UUID(int=1)),
    }
    assert check_case_event(ok, read) is None
    assert check_case_event({**ok, "to_state": "archived"}, read)  # claims the wrong target
    assert check_case_event({**ok, "from_state": "archived"}, read)  # nothing follows archived
    assert check_case_event({**ok, "event": "no_such_event"}, read)
