"""central init / status, and the least-privilege role per workstation (grants + row security)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from conftest import add_hall
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import AuditEntry, Window
from clerk_app.store.uow import Store
from clerk_app.sync import central_admin, client
from clerk_app.sync import central as central_side
from clerk_app.sync.protocol import SCHEMA_VERSION


def test_init_and_status_on_sqlite(tmp_path: object, make_ws: Callable[[str], Store]) -> None:
    url = sqlite_url(tmp_path / "c.sqlite")  # type: ignore[operator]
    report = central_admin.init_central(url)
    assert report.schema_version == SCHEMA_VERSION and "0003_sync" in report.revisions
    again = central_admin.init_central(url)  # idempotent
    assert again.device_id == report.device_id
    central = open_store(url, kind="central")
    ws = make_ws("a")
    add_hall(ws, "A")
    client.sync_round(ws, central)
    add_hall(central, "B")
    status = central_admin.central_status(url)
    assert status.up_to_date and status.high_water == 2
    (device,) = status.devices
    assert device.device_id == ws.device_id and device.cursor == 1 and device.lag == 1
    assert device.last_push_at is not None and device.last_pull_at is not None
    central.dispose()


def test_password_kept_in_keyring_not_in_settings() -> None:
    url = "postgresql://ws_1:s3cret@db.example:5432/hall"
    stored = central_admin.save_password(url, "s3cret")
    assert "s3cret" not in stored
    assert make_url(central_admin.connect_url(stored)).password == "s3cret"


@pytest.fixture
def role(pg_url: str) -> Iterator[str]:
    name = f"ws_{uuid.uuid4().hex[:10]}"
    yield name
    admin = make_url(pg_url)
    with psycopg.connect(
        f"host={admin.host} port={admin.port} user={admin.username} dbname={admin.database}", autocommit=True
    ) as conn:
        conn.execute(f'DROP OWNED BY "{name}"')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.mark.postgres
def test_device_role_cannot_touch_audit_or_other_halls(pg_url: str, role: str) -> None:
    report = central_admin.init_central(pg_url)
    assert {"halls", "windows", "departments"} <= set(report.row_security)
    owner = open_store(pg_url, kind="central")
    mine, other = add_hall(owner, "MINE"), add_hall(owner, "OTHER")
    with owner.unit_of_work() as uow:
        uow.session.add_all(
            [Window(hall_id=mine.id, number=1, name="1号"), Window(hall_id=other.id, number=1, name="1号")]
        )
        from clerk_app.store.audit import append_audit

        append_audit(uow.session, owner.device_id, "setup")
        uow.commit()
    central_admin.create_device_role(pg_url, role, "pw'1", [mine.id])
    url = make_url(pg_url).set(username=role, password="pw'1").render_as_string(hide_password=False)
    limited = Store(make_engine(url), owner.device_id, role="central")
    try:
        raw = make_url(url)
        dsn = f"host={raw.host} port={raw.port} user={role} password=pw'1 dbname={raw.database}"
        with psycopg.connect(dsn) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE audit_entries SET action = 'forged'")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audit_entries")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # row-level security
                conn.execute(
                    "INSERT INTO windows (id, hall_id, number, name, kind, active, origin, version, hlc, deleted)"
                    " VALUES (%s, %s, 9, 'x', 'c', true, 'o', 1, 'h', false)",
                    (uuid.uuid4(), other.id),
                )
            conn.rollback()
            cur = conn.execute("UPDATE windows SET name = 'hijack' WHERE hall_id = %s", (other.id,))
            assert cur.rowcount == 0  # other hall's rows are invisible to UPDATE
            conn.rollback()
        # a workstation of the MINE hall syncs through the limited role; its edit of the other
        # hall's window is refused by the database and recorded as rejected, the rest applies
        ws_local = open_store(sqlite_url(__import__("pathlib").Path(pg_url.split("/")[-1] + ".sqlite")))
        try:
            client.sync_round(ws_local, limited)
            with ws_local.unit_of_work() as uow:
                for w in uow.session.scalars(select(Window)):
                    w.name = f"{w.name}改"
                uow.commit()
            report2 = client.sync_round(ws_local, limited)
            assert report2.push.pushed == 2 and report2.push.rejected == 1 and report2.waiting == 0
            with Session(owner.engine) as s:
                names = {w.hall_id: w.name for w in s.scalars(select(Window))}
                assert names == {mine.id: "1号改", other.id: "1号"}
                assert s.scalar(select(AuditEntry.action)) == "setup"
            reasons = [
                r.payload["reason"]
                for r in central_side.read_changes(owner, 0).changes
                if r.table_name == "sync_rejections"
            ]
            assert reasons == ["denied"]
            with Session(ws_local.engine) as s:
                names_local = {w.hall_id: w.name for w in s.scalars(select(Window))}
            assert names_local == names  # the refused edit was replaced by the central state
        finally:
            ws_local.dispose()
            __import__("os").remove(pg_url.split("/")[-1] + ".sqlite")
    finally:
        limited.dispose()
        owner.dispose()
