"""central init / status, and the least-privilege role per workstation (grants + row security)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sync_helpers import add_hall

from clerk_app.services.runtime import open_store
from clerk_app.store import migrate
from clerk_app.store.audit import append_audit
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import AuditEntry, Window
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import central_admin, client
from clerk_app.sync.protocol import SCHEMA_VERSION


def test_init_and_status_on_sqlite(tmp_path: object, make_ws: Callable[[str], Store]) -> None:
    url = sqlite_url(tmp_path / "c.sqlite")  # type: ignore[operator]
    report = central_admin.init_central(url)
    assert report.schema_version == SCHEMA_VERSION and "0019_push_ledger_edit_index" in report.revisions
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


@dataclass
class Hall2:
    owner: Store
    limited: Store
    dsn: str
    mine: uuid.UUID
    other: uuid.UUID


@pytest.fixture
def halls2(pg_url: str, role: str) -> Iterator[Hall2]:
    report = central_admin.init_central(pg_url)
    assert {"halls", "windows", "departments"} <= set(report.row_security)
    owner = open_store(pg_url, kind="central")
    mine, other = add_hall(owner, "MINE"), add_hall(owner, "OTHER")
    with owner.unit_of_work() as uow:
        uow.session.add_all(
            [Window(hall_id=mine.id, number=1, name="1号"), Window(hall_id=other.id, number=1, name="1号")]
        )
        append_audit(uow.session, owner.device_id, "setup")
        uow.commit()
    central_admin.create_device_role(pg_url, role, "pw'1", [mine.id])
    url = make_url(pg_url).set(username=role, password="pw'1")
    limited = Store(make_engine(url.render_as_string(hide_password=False)), owner.device_id, role="central")
    dsn = f"host={url.host} port={url.port} user={role} password=pw'1 dbname={url.database}"
    yield Hall2(owner, limited, dsn, mine.id, other.id)
    limited.dispose()
    owner.dispose()


_INSERT_WINDOW = (
    "INSERT INTO windows (id, hall_id, number, name, kind, active, origin, version, hlc, deleted)"
    " VALUES (%s, %s, 9, 'x', 'c', true, 'o', 1, 'h', false)"
)


@pytest.mark.postgres
def test_device_role_denied_statements_really_fail(halls2: Hall2) -> None:
    with psycopg.connect(halls2.dsn) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_entries SET action = 'forged'")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_entries")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # row-level security
            conn.execute(_INSERT_WINDOW, (uuid.uuid4(), halls2.other))
        conn.rollback()
        cur = conn.execute("UPDATE windows SET name = 'hijack' WHERE hall_id = %s", (halls2.other,))
        assert cur.rowcount == 0  # the other hall's rows are invisible to UPDATE
        conn.rollback()
        conn.execute(_INSERT_WINDOW, (uuid.uuid4(), halls2.mine))  # its own hall: allowed
        conn.rollback()


@pytest.mark.postgres
def test_sync_through_device_role_records_refused_edit(
    halls2: Hall2, make_ws: Callable[[str], Store]
) -> None:
    ws = make_ws("limited")
    client.sync_round(ws, halls2.limited)
    with ws.unit_of_work() as uow:
        for w in uow.session.scalars(select(Window)):
            w.name = f"{w.name}改"
        uow.commit()
    report = client.sync_round(ws, halls2.limited)
    assert report.push.pushed == 2 and report.push.rejected == 1 and report.waiting == 0
    with Session(halls2.owner.engine) as s:
        names = {w.hall_id: w.name for w in s.scalars(select(Window))}
        assert names == {halls2.mine: "1号改", halls2.other: "1号"}
        assert s.scalar(select(AuditEntry.action)) == "setup"
    reasons = [
        c.payload["reason"]
        for c in central_side.read_changes(halls2.owner, 0).changes
        if c.table_name == "sync_rejections"
    ]
    assert reasons == ["denied"]
    with Session(ws.engine) as s:
        assert {w.hall_id: w.name for w in s.scalars(select(Window))} == names  # refused edit undone


@pytest.mark.postgres
def test_large_batches_through_device_role_keep_row_security(
    halls2: Hall2, make_ws: Callable[[str], Store]
) -> None:
    """Batches big enough for the set-based insert (``clerk_app.store.bulk``: one INSERT … SELECT
    from a JSON array): the own hall's rows go in, the other hall's are refused by row-level
    security and recorded as rejected, exactly as with one INSERT per row."""
    from clerk_app.store import bulk
    from clerk_app.store.models import Department, PushLedgerEntry, SyncRejection

    ws = make_ws("bulk")
    client.sync_round(ws, halls2.limited)
    count = bulk.MIN_COPY_ROWS * 2
    for hall_id, prefix in ((halls2.mine, "M"), (halls2.other, "O")):
        with ws.unit_of_work() as uow:
            for i in range(count):
                uow.session.add(Department(hall_id=hall_id, code=f"{prefix}{i}", name=f"部门{i}"))
            uow.commit()
        report = client.sync_round(ws, halls2.limited, batch_size=1000)
        assert report.push.pushed == count and report.waiting == 0
        assert report.push.rejected == (0 if prefix == "M" else count)
    with Session(halls2.owner.engine) as s:
        assert {d.hall_id for d in s.scalars(select(Department))} == {halls2.mine}
        assert len(s.scalars(select(PushLedgerEntry)).all()) == 2 * count
        reasons = s.scalars(select(SyncRejection.reason).where(SyncRejection.table_name == "departments"))
        assert list(reasons) == ["denied"] * count


@pytest.mark.postgres
def test_bulk_insert_errors_are_sqlalchemy_errors(pg_url: str) -> None:
    import datetime as dt

    from sqlalchemy.exc import IntegrityError

    from clerk_app.store import bulk
    from clerk_app.store.models import ChangeLogEntry

    store = open_store(pg_url, kind="central")
    rows = [
        {
            "id": 1 if i < 2 else i,  # the primary key twice
            "table_name": "halls",
            "row_id": uuid.uuid4(),
            "op": "insert",
            "version": 1,
            "source": "t",
            "changed": [],
            "payload": {"n": i, "名": "值"},
            "committed_at": dt.datetime.now(dt.UTC),
        }
        for i in range(bulk.MIN_COPY_ROWS)
    ]
    try:
        with store.engine.begin() as conn, pytest.raises(IntegrityError):
            bulk.insert_rows(conn, ChangeLogEntry.__table__, rows, direct=True)  # type: ignore[arg-type]
        with store.engine.begin() as conn:
            bulk.insert_rows(conn, ChangeLogEntry.__table__, rows[1:], direct=True)  # type: ignore[arg-type]
        with Session(store.engine) as s:
            stored = s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.id)).all()
            assert len(stored) == len(rows) - 1 and stored[0].payload == {"n": 1, "名": "值"}
    finally:
        store.dispose()


@pytest.mark.postgres
def test_only_device_roles_may_number_the_change_log(pg_url: str, halls2: Hall2, role: str) -> None:
    """``change_log_assign()`` runs with its owner's rights: a login role that is not a
    workstation's (no grant) is refused, the workstation's role may call it."""
    stranger = f"{role}_x"
    admin = make_url(pg_url)
    admin_dsn = f"host={admin.host} port={admin.port} user={admin.username} dbname={admin.database}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{stranger}\" LOGIN PASSWORD 'pw2'")
        conn.execute(f'GRANT CONNECT ON DATABASE "{admin.database}" TO "{stranger}"')
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{stranger}"')
    try:
        stranger_dsn = (
            f"host={admin.host} port={admin.port} user={stranger} password=pw2 dbname={admin.database}"
        )
        for call in ("change_log_assign()", "change_log_assign(1)"):
            with psycopg.connect(stranger_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT {call}")
        add_hall(halls2.owner, "NEW")  # entries waiting for their numbers
        add_hall(halls2.owner, "NEW2")
        with psycopg.connect(halls2.dsn) as conn:
            before = conn.execute("SELECT value FROM sync_counter WHERE name = 'change_log'").fetchone()
            first = conn.execute("SELECT change_log_assign(1)").fetchone()  # a page's worth: one
            numbered = conn.execute("SELECT change_log_assign()").fetchone()
        assert before is not None and first == (before[0] + 1,)
        assert numbered is not None and numbered[0] > first[0]
        with psycopg.connect(admin_dsn) as conn:
            waiting = conn.execute("SELECT count(*) FROM change_log_pending").fetchone()
        assert waiting == (0,)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{stranger}"')
            conn.execute(f'DROP ROLE IF EXISTS "{stranger}"')


@pytest.mark.postgres
def test_existing_device_roles_keep_numbering_after_the_revoke(pg_url: str, halls2: Hall2, role: str) -> None:
    """The revision that takes the right from everyone grants it to the workstation roles that
    already exist (``sync_role_halls``): a role holding it only through PUBLIC before the
    revision still may call it after."""
    engine = make_engine(pg_url)
    try:
        _migrate(engine, "downgrade", "0015_outbox_row_index")
        with engine.begin() as conn:  # the role as made before create_device_role granted it
            conn.exec_driver_sql(f'REVOKE EXECUTE ON FUNCTION change_log_assign() FROM "{role}"')
        _migrate(engine, "upgrade", "heads")
    finally:
        engine.dispose()
    add_hall(halls2.owner, "NEW")
    add_hall(halls2.owner, "NEW2")
    with psycopg.connect(halls2.dsn) as conn:
        numbered = conn.execute("SELECT change_log_assign()").fetchone()
        assert numbered is not None and numbered[0] >= 1
        add_hall(halls2.owner, "NEW3")  # the page-at-a-time numbering (0017) too
        again = conn.execute("SELECT change_log_assign(5)").fetchone()
    assert again is not None and again[0] == numbered[0] + 1


def _migrate(engine: Engine, direction: str, target: str) -> None:
    from alembic import command

    with ExitStack() as stack, engine.begin() as conn:
        config = migrate._config(stack)  # the store's own Alembic setup
        config.attributes["connection"] = conn
        getattr(command, direction)(config, target)


@pytest.mark.postgres
def test_the_numbers_move_to_their_own_table_and_none_is_lost(pg_url: str) -> None:
    """Upgrading to ``0018_change_log_order`` keeps every number handed out before it and
    numbers the entries that were still waiting, after them; downgrading puts them back in
    ``change_log.seq``."""
    central = open_store(pg_url, kind="central")
    engine = make_engine(pg_url)
    try:
        add_hall(central, "A")
        add_hall(central, "B")

        def pulled() -> list[tuple[int, str]]:
            return [(c.seq, c.payload["code"]) for c in central_side.read_changes(central, 0).changes]

        assert pulled() == [(1, "A"), (2, "B")]
        _migrate(engine, "downgrade", "0017_change_log_assign_limit")
        add_hall(central, "C")  # written by 0017's rules: no number yet
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT seq, payload->>'code' FROM change_log ORDER BY id").all()
        assert [tuple(r) for r in stored] == [(1, "A"), (2, "B"), (None, "C")]
        _migrate(engine, "upgrade", "heads")
        add_hall(central, "D")
        assert pulled() == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]
        with engine.connect() as conn:
            waiting = conn.exec_driver_sql("SELECT count(*) FROM change_log_pending").scalar_one()
        assert waiting == 0
    finally:
        central.dispose()
        engine.dispose()
