"""Setting up and inspecting the central store: ``clerk-app central init`` and ``central status``.

``init_central`` creates or migrates the central schema (Alembic, the same chain as every store),
makes sure the change-log counter and the sync schema version are in place, and on PostgreSQL turns
on row-level security for the hall-scoped tables. ``create_device_role`` makes a least-privilege
login role for one workstation (or one hall): it can read everything it syncs, insert and update
synced rows of its own halls only, insert but never update or delete audit and other insert-only
rows, and write the sync bookkeeping (change log, ledger, its device row). The central URL is kept
in the settings without a password; the password lives in the keyring (``save_password``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from clerk_app.security.credentials import get_secret, set_secret
from clerk_app.store import migrate
from clerk_app.store.engine import is_sqlite, make_engine
from clerk_app.store.models import SyncCounter, SyncDevice
from clerk_app.store.state import ensure_device_id
from clerk_app.sync.central import assign_change_log
from clerk_app.sync.codec import synced_tables
from clerk_app.sync.protocol import SCHEMA_VERSION

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: tables a device role writes besides the synced ones
_BOOKKEEPING_GRANTS = {
    # (no right on ``sync_counter``: the change log is numbered by ``change_log_assign()``, which
    # runs with its owner's rights)
    "change_log": "INSERT",
    # a pull reads the numbers of the change log, and how many entries still wait for one
    # (``0018_change_log_order``; a new role gets these with every table)
    "change_log_order": "SELECT",
    "change_log_pending": "SELECT",
    "sync_push_ledger": "INSERT",
    "sync_devices": "INSERT, UPDATE",
    # the hall queue, used live on the central store: ticket numbers, keyed presses, window states
    "queue_counters": "INSERT, UPDATE",
    "queue_requests": "INSERT",
    "queue_window_states": "INSERT, UPDATE",
    # document number blocks, reserved while online
    "number_series": "INSERT, UPDATE",
    # the search keys the applicants' trigger keeps, in the transaction that writes the applicant
    "case_search_keys": "INSERT, DELETE",
}

#: the change-log numbering functions (migrations 0014 and 0017), run with their owner's rights
ASSIGN_FUNCTIONS = ("change_log_assign()", "change_log_assign(integer)")


@dataclass(frozen=True, slots=True)
class InitReport:
    url: str
    revisions: tuple[str, ...]
    schema_version: int
    row_security: tuple[str, ...]
    device_id: str


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str
    name: str
    last_push_at: dt.datetime | None
    last_pull_at: dt.datetime | None
    cursor: int
    lag: int
    outbox_waiting: int
    clock_skew_ms: int
    schema_version: int


@dataclass(frozen=True, slots=True)
class CentralStatus:
    url: str
    revisions: tuple[str, ...]
    up_to_date: bool
    schema_version: int
    high_water: int
    pruned_through: int
    devices: tuple[DeviceStatus, ...]


def _hall_scoped() -> list[tuple[str, str]]:
    """(table, column naming its hall) of every synced table that belongs to one hall."""
    out: list[tuple[str, str]] = []
    for info in synced_tables():
        if info.name == "halls":
            out.append((info.name, "id"))
        elif "hall_id" in info.table.c:
            out.append((info.name, "hall_id"))
    return out


def _hall_check(column: str) -> str:
    return f"{column} IN (SELECT hall_id FROM sync_role_halls WHERE role_name = current_user)"


def _enable_row_security(engine: Engine) -> tuple[str, ...]:
    done: list[str] = []
    with engine.begin() as conn:
        for table, column in _hall_scoped():
            conn.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
            for name in ("sync_read", "sync_hall_insert", "sync_hall_update"):
                conn.execute(text(f'DROP POLICY IF EXISTS {name} ON "{table}"'))
            check = _hall_check(column)
            conn.execute(text(f'CREATE POLICY sync_read ON "{table}" FOR SELECT USING (true)'))
            conn.execute(text(f'CREATE POLICY sync_hall_insert ON "{table}" FOR INSERT WITH CHECK ({check})'))
            conn.execute(
                text(
                    f'CREATE POLICY sync_hall_update ON "{table}" FOR UPDATE '
                    f"USING ({check}) WITH CHECK ({check})"
                )
            )
            done.append(table)
    return tuple(done)


def init_central(url: str) -> InitReport:
    """Create or migrate the central store at ``url``; safe to run again after an upgrade."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        device_id = ensure_device_id(engine, "central")
        with Session(engine) as session, session.begin():
            current = session.scalar(select(SyncCounter.value).where(SyncCounter.name == "schema")) or 0
            if current < SCHEMA_VERSION:
                session.execute(
                    update(SyncCounter).where(SyncCounter.name == "schema").values(value=SCHEMA_VERSION)
                )
        secured = () if is_sqlite(engine) else _enable_row_security(engine)
        if not is_sqlite(engine):
            _refresh_device_roles(engine)
        return InitReport(
            make_url(url).render_as_string(hide_password=True),
            tuple(sorted(migrate.current_revisions(engine))),
            max(current, SCHEMA_VERSION),
            secured,
            device_id,
        )
    finally:
        engine.dispose()


def _grant_bookkeeping(conn: Connection, quoted_role: str) -> None:
    for table, rights in _BOOKKEEPING_GRANTS.items():
        conn.execute(text(f'GRANT {rights} ON "{table}" TO {quoted_role}'))
    # numbering the change log before a pull (a page at a time, or everything: an older release)
    for signature in ASSIGN_FUNCTIONS:
        conn.execute(text(f"GRANT EXECUTE ON FUNCTION {signature} TO {quoted_role}"))


def _refresh_device_roles(engine: Engine) -> None:
    """Give the workstation roles made by an earlier release the rights this one needs (a table
    added to ``_BOOKKEEPING_GRANTS`` would otherwise stay closed to them until re-registered)."""
    with engine.begin() as conn:
        # a device role is one that may insert into the change log without owning it
        roles = conn.scalars(
            text(
                "SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g "
                "WHERE g.table_schema = 'public' AND g.table_name = 'change_log' "
                "AND g.privilege_type = 'INSERT' AND g.grantee <> g.grantor "
                "AND g.grantee <> (SELECT tableowner FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename = 'change_log')"
            )
        ).all()
        for role in roles:
            _grant_bookkeeping(conn, conn.dialect.identifier_preparer.quote(role))


def create_device_role(url: str, role: str, password: str, hall_ids: Iterable[uuid.UUID]) -> None:
    """Create (or refresh) the PostgreSQL login ``role`` for a workstation of ``hall_ids``."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"invalid role name {role!r}")
    engine = make_engine(url)
    try:
        if is_sqlite(engine):
            raise ValueError("database roles need PostgreSQL")
        database = make_url(url).database
        with engine.begin() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            verb = "ALTER" if exists else "CREATE"
            quoted = conn.dialect.identifier_preparer.quote(role)
            literal = password.replace("'", "''")
            conn.execute(text(f"{verb} ROLE {quoted} LOGIN PASSWORD '{literal}'"))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}'))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}"))
            for info in synced_tables():
                rights = "INSERT" if info.insert_only else "INSERT, UPDATE"
                conn.execute(text(f'GRANT {rights} ON "{info.name}" TO {quoted}'))
            _grant_bookkeeping(conn, quoted)
            # a role made before the change log was numbered by change_log_assign() had this
            conn.execute(text(f'REVOKE UPDATE ON "sync_counter" FROM {quoted}'))
            conn.execute(text("DELETE FROM sync_role_halls WHERE role_name = :r"), {"r": role})
            for hall_id in hall_ids:
                conn.execute(
                    text("INSERT INTO sync_role_halls (role_name, hall_id) VALUES (:r, :h)"),
                    {"r": role, "h": hall_id},
                )
    finally:
        engine.dispose()


def central_status(url: str) -> CentralStatus:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assign_change_log(conn)  # the lags count every committed entry
        with Session(engine) as session:
            counters = {n: v for n, v in session.execute(select(SyncCounter.name, SyncCounter.value))}
            high_water = int(counters.get("change_log", 0))
            devices = tuple(
                DeviceStatus(
                    d.device_id,
                    d.name,
                    d.last_push_at,
                    d.last_pull_at,
                    d.cursor,
                    max(0, high_water - d.cursor),
                    d.outbox_waiting,
                    d.clock_skew_ms,
                    d.schema_version,
                )
                for d in session.scalars(select(SyncDevice).order_by(SyncDevice.device_id))
            )
        return CentralStatus(
            make_url(url).render_as_string(hide_password=True),
            tuple(sorted(migrate.current_revisions(engine))),
            migrate.is_current(engine),
            int(counters.get("schema", 0)),
            high_water,
            int(counters.get("pruned_through", 0)),
            devices,
        )
    finally:
        engine.dispose()


# --- workstation credentials --------------------------------------------------------------


def _secret_name(url: str) -> str:
    parsed = make_url(url)
    return f"central:{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"


def save_password(url: str, password: str) -> str:
    """Keep the central password in the keyring; returns the URL without it (for the settings)."""
    set_secret(_secret_name(url), password)
    parsed = make_url(url)
    bare = URL.create(
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query
    )
    return bare.render_as_string(hide_password=False)


def stored_password(url: str) -> str | None:
    """The keyring's password for the central login of ``url`` (user, host, port, database)."""
    return get_secret(_secret_name(url))


def connect_url(url: str) -> str:
    """The URL to connect with: the settings' URL plus the keyring's password, if there is one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or parsed.password:
        return url
    secret = get_secret(_secret_name(url))
    return parsed.set(password=secret).render_as_string(hide_password=False) if secret else url
