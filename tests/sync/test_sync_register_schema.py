"""Schema versions seen by a registered workstation on its own least-privilege role (PostgreSQL):
one version behind the central store keeps syncing; too old is told to upgrade; a program newer
than the central store is told to upgrade the central store. In the last two the outbox stays
intact and the central store gets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from clerk_app.gui.sync_status import describe
from clerk_app.services.demo import seed_central
from clerk_app.services.runtime import Runtime, open_runtime, open_store
from clerk_app.services.sync import register_workstation
from clerk_app.settings import resolve_paths
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import Hall, OutboxEntry, PushLedgerEntry, SyncCounter
from clerk_app.store.uow import Store
from clerk_app.sync import client
from clerk_app.sync.central_admin import connect_url, init_central
from clerk_app.sync.protocol import SCHEMA_VERSION, CentralTooOld, UpgradeRequired
from clerk_app.sync.worker import STATE_CENTRAL_OLD, STATE_ONLINE, STATE_UPGRADE, SyncLoop

pytestmark = pytest.mark.postgres


@pytest.fixture
def registered(pg_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, Store, str]]:
    """A workstation registered with a PostgreSQL central store, and that store as the
    workstation's own role sees it."""
    init_central(pg_url)
    seeded = open_store(pg_url, kind="central")
    seed_central(seeded)
    seeded.dispose()
    rt = open_runtime(resolve_paths(tmp_path / "ws").ensure(), sqlite_url(tmp_path / "embedded.sqlite"))
    done = register_workstation(rt, pg_url, window_number=2)
    device = Store(
        make_engine(connect_url(done.central_url)), rt.local.device_id, rt.local.clock, role="central"
    )
    with Session(device.engine) as s:
        assert s.scalar(text("SELECT current_user")) == done.role
    yield rt, device, pg_url
    device.dispose()
    rt.close()


def _central_schema(admin_url: str, version: int) -> None:
    engine = make_engine(admin_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(SyncCounter).where(SyncCounter.name == "schema").values(value=version))
    finally:
        engine.dispose()


def _edit_hall(rt: Runtime, phone: str) -> None:
    with rt.local.unit_of_work() as uow:
        hall = uow.session.scalar(select(Hall))
        assert hall is not None
        hall.contact_phone = phone
        uow.commit()


def _outbox(rt: Runtime) -> list[int]:
    with Session(rt.local.engine) as s:
        return list(s.scalars(select(OutboxEntry.seq).order_by(OutboxEntry.seq)))


def _ledger(device: Store) -> int:
    with Session(device.engine) as s:
        return int(s.scalar(select(func.count()).select_from(PushLedgerEntry)) or 0)


def test_one_version_behind_keeps_syncing_on_the_device_role(registered: tuple[Runtime, Store, str]) -> None:
    rt, device, admin = registered
    _central_schema(admin, SCHEMA_VERSION + 1)
    _edit_hall(rt, "0471-1111111")
    report = client.sync_round(rt.local, device)
    assert report.push.pushed == 1 and report.push.rejected == 0 and _outbox(rt) == []
    with Session(device.engine) as s:
        assert s.scalar(select(Hall.contact_phone)) == "0471-1111111"


def test_too_old_is_told_to_upgrade_with_the_outbox_intact(registered: tuple[Runtime, Store, str]) -> None:
    rt, device, admin = registered
    _central_schema(admin, SCHEMA_VERSION + 2)
    _edit_hall(rt, "0471-2222222")
    waiting, pushed = _outbox(rt), _ledger(device)
    with pytest.raises(UpgradeRequired, match="升级本程序"):
        client.sync_round(rt.local, device)
    with pytest.raises(UpgradeRequired):
        client.push(rt.local, device)  # the central side refuses it too
    assert _outbox(rt) == waiting and _ledger(device) == pushed
    loop = SyncLoop(rt.local, device, attempts=1)
    status = loop.step()
    assert status.state == STATE_UPGRADE and status.waiting == len(waiting)
    assert "需要升级本程序" in describe(status, embedded=False)[0]


def test_a_program_newer_than_the_central_store_asks_for_a_central_upgrade(
    registered: tuple[Runtime, Store, str],
) -> None:
    rt, device, admin = registered
    _central_schema(admin, SCHEMA_VERSION - 1)
    _edit_hall(rt, "0471-3333333")
    waiting, pushed = _outbox(rt), _ledger(device)
    cursor = client.cursor(rt.local)
    with pytest.raises(CentralTooOld, match="请先升级中心库"):
        client.sync_round(rt.local, device)
    with pytest.raises(CentralTooOld):
        client.push(rt.local, device)  # refused in the central transaction as well
    assert _outbox(rt) == waiting and _ledger(device) == pushed and client.cursor(rt.local) == cursor
    with Session(device.engine) as s:
        assert s.scalar(select(Hall.contact_phone)) != "0471-3333333"
    loop = SyncLoop(rt.local, device, attempts=1)
    status = loop.step()
    assert status.state == STATE_CENTRAL_OLD and status.waiting == len(waiting)
    assert "请先升级中心库" in status.last_error
    text_shown, style = describe(status, embedded=False)
    assert "升级中心库" in text_shown and style == "statusOffline"
    # once the central store is upgraded, the kept change goes up
    _central_schema(admin, SCHEMA_VERSION)
    assert loop.step().state == STATE_ONLINE and _outbox(rt) == []
