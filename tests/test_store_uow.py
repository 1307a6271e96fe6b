"""The unit of work captures every change of a synced row into the outbox, atomically."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clerk_app.services.runtime import open_store
from clerk_app.store import uow as uow_mod
from clerk_app.store.models import AuditEntry, Hall, OutboxEntry, Window
from clerk_app.store.uow import CaptureError, Store


@pytest.fixture
def store(db_url: str) -> Store:
    s = open_store(db_url)
    yield s
    s.dispose()


def _count(store: Store, model: type) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _hall(uow: uow_mod.UnitOfWork) -> Hall:
    hall = Hall(code="H1", name="测试大厅", authority="测试局")
    uow.session.add(hall)
    return hall


def test_insert_writes_outbox_entry_in_same_transaction(store: Store) -> None:
    with store.unit_of_work() as uow:
        hall = _hall(uow)
        uow.commit()
    with Session(store.engine) as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.table_name == "halls" and entry.op == "insert"
        assert entry.row_id == hall.id and entry.version == 1
        assert entry.payload["name"] == "测试大厅" and entry.payload["origin"] == store.device_id


def test_update_bumps_version_and_records_changed_fields(store: Store) -> None:
    with store.unit_of_work() as uow:
        hall = _hall(uow)
        uow.commit()
    with store.unit_of_work() as uow:
        row = uow.session.get(Hall, hall.id)
        assert row is not None
        row.name = "新名称"
        uow.commit()
    with Session(store.engine) as session:
        entries = session.scalars(select(OutboxEntry).order_by(OutboxEntry.seq)).all()
    assert [e.op for e in entries] == ["insert", "update"]
    assert entries[1].changed == ["name"] and entries[1].base_version == 1 and entries[1].version == 2
    assert entries[1].hlc > entries[0].hlc


def test_soft_delete_is_captured_as_delete(store: Store) -> None:
    with store.unit_of_work() as uow:
        hall = _hall(uow)
        uow.commit()
    with store.unit_of_work() as uow:
        row = uow.session.get(Hall, hall.id)
        assert row is not None
        row.deleted = True
        uow.commit()
    with Session(store.engine) as session:
        ops = session.scalars(select(OutboxEntry.op).order_by(OutboxEntry.seq)).all()
    assert ops == ["insert", "delete"]


def test_failure_between_change_and_outbox_leaves_neither(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object) -> dict[str, object]:
        raise RuntimeError("disk full while writing the outbox")

    monkeypatch.setattr(uow_mod, "_outbox_row", boom)
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        _hall(uow)
        uow.commit()
    assert _count(store, Hall) == 0
    assert _count(store, OutboxEntry) == 0


def test_failure_after_flush_before_commit_leaves_neither(store: Store) -> None:
    with pytest.raises(ZeroDivisionError), store.unit_of_work() as uow:
        _hall(uow)
        uow.flush()
        assert _count_in(uow, OutboxEntry) == 1
        _ = 1 / 0
    assert _count(store, Hall) == 0 and _count(store, OutboxEntry) == 0


def _count_in(uow: uow_mod.UnitOfWork, model: type) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_uncommitted_unit_of_work_rolls_back(store: Store) -> None:
    with store.unit_of_work() as uow:
        _hall(uow)
    assert _count(store, Hall) == 0 and _count(store, OutboxEntry) == 0


def test_bulk_update_and_hard_delete_of_synced_rows_are_refused(store: Store) -> None:
    with store.unit_of_work() as uow:
        hall = _hall(uow)
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(CaptureError):
        uow.session.execute(update(Window).values(name="x"))
    with store.unit_of_work() as uow, pytest.raises(CaptureError):
        row = uow.session.get(Hall, hall.id)
        uow.session.delete(row)
        uow.flush()


def test_insert_only_rows_cannot_change(store: Store) -> None:
    from clerk_app.store.audit import append_audit

    with store.unit_of_work() as uow:
        entry = append_audit(uow.session, store.device_id, "test.action", actor_name="x")
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(CaptureError):
        row = uow.session.get(AuditEntry, entry.id)
        assert row is not None
        row.action = "tampered"
        uow.flush()


def test_capture_off_writes_no_outbox(store: Store) -> None:
    with store.unit_of_work(capture=False) as uow:
        uow.session.add(
            Hall(
                code="H2",
                name="拉取的大厅",
                authority="局",
                origin="central",
                version=7,
                hlc="0000000000001-0000-central",
                deleted=False,
            )
        )
        uow.commit()
    assert _count(store, Hall) == 1 and _count(store, OutboxEntry) == 0


def test_sqlite_pragmas(tmp_path: object) -> None:
    s = open_store(f"sqlite+pysqlite:///{tmp_path}/p.sqlite")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    s.dispose()


def test_reading_unit_of_work_refuses_writes(store: Store) -> None:
    with store.reading() as uow:
        uow.session.add(Hall(code="H9", name="只读", authority="测试局"))
        with pytest.raises(CaptureError):
            uow.flush()
    with store.reading() as uow, pytest.raises(CaptureError):
        uow.session.execute(update(Window).values(name="x"))
    assert _count(store, Hall) == 0


def test_reading_does_not_wait_for_a_writer_on_sqlite(tmp_path: object) -> None:
    s = open_store(f"sqlite+pysqlite:///{tmp_path}/r.sqlite")
    try:
        with s.unit_of_work() as writer:
            _hall(writer)
            writer.commit()
        with s.unit_of_work() as writer:
            # the writer holds the write lock (BEGIN IMMEDIATE) and has an uncommitted change
            writer.session.add(Hall(code="H2", name="未提交", authority="测试局"))
            writer.flush()
            with s.reading() as reader:  # a deferred BEGIN: reads the last committed snapshot
                names = reader.session.scalars(select(Hall.name)).all()
            assert names == ["测试大厅"]
            writer.commit()
        with s.reading() as reader:
            assert reader.session.scalar(select(func.count()).select_from(Hall)) == 2
    finally:
        s.dispose()
