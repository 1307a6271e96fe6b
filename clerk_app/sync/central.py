"""The central side of sync: apply a pushed batch, read the change log, snapshots, device facts.

Everything here runs against a ``Store`` opened with ``role="central"``: the change-log entries a
batch records are numbered in commit order (``clerk_app.store.uow``; on PostgreSQL by
``assign_change_log`` before a pull reads them).

Applying a batch is one transaction: earlier processed entries (by ``(device, seq)`` in the push
ledger) are answered from the ledger and change nothing; new entries are decided by their table's
policy, written with a few set-based statements per table, logged, and recorded in the ledger with
their result. If the database refuses a statement (a grant or row-level-security policy, a
constraint), the batch is redone under savepoints, a refused part again in halves until each
refused entry is alone, and each refused entry is recorded as rejected (reason ``denied``, or
``unique_conflict`` when a new row's unique key is already held by another row) instead of
blocking the device's outbox forever. The rejection rows a batch writes are returned with the
batch's rows, so that the workstation records them in the same local transaction as the
acknowledgement.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Select,
    Table,
    Text,
    Uuid,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from clerk_app.store.bulk import PreSerialised, insert_json, insert_rows, no_cycle_collection
from clerk_app.store.engine import is_sqlite
from clerk_app.store.ids import new_id
from clerk_app.store.models import ChangeLogEntry, PushLedgerEntry, SyncCounter, SyncDevice, SyncRejection
from clerk_app.store.uow import (
    Store,
    discard_changes_from,
    jsonable,
    pending_change_count,
    record_change,
    record_change_text,
    write_queued_changes,
)
from clerk_app.sync.codec import SyncedTable, known_table, synced_table, synced_tables, table_order
from clerk_app.sync.policies import (
    REASON_CONFLICT,
    REASON_DENIED,
    REASON_UNIQUE,
    Decision,
    FieldMerge,
    InsertOnly,
    policy_for,
)
from clerk_app.sync.protocol import (
    RESULT_APPLIED,
    RESULT_DUPLICATE,
    RESULT_REJECTED,
    SCHEMA_VERSION,
    SUPPORTED_BEHIND,
    CentralTooOld,
    Change,
    ChangePage,
    EntryResult,
    PushEntry,
    PushResult,
    Snapshot,
    UpgradeRequired,
)

CHUNK = 500
ANY_CHUNK = 10_000
#: entries decided before their writes are sent (PostgreSQL: while the server writes them, the
#: next ones are decided)
DECIDE_CHUNK = 250
#: the default policies, whose decision for an insert is plain: applied when new, else a duplicate
_PLAIN_POLICIES = (FieldMerge, InsertOnly)
Key = tuple[str, uuid.UUID]


class RowsNotWritten(RuntimeError):
    """An UPDATE matched fewer rows than it should: row-level security hid them (PostgreSQL
    reports no error for that), so the change was not applied and must not be acknowledged."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    schema_version: int
    server_time: dt.datetime
    high_water: int
    pruned_through: int


def _counter(conn: Connection | Session, name: str) -> int:
    value = conn.execute(select(SyncCounter.value).where(SyncCounter.name == name)).scalar()
    return int(value or 0)


def _server_now(conn: Connection | Session) -> dt.datetime:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        value = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        assert isinstance(value, dt.datetime)
        return value.astimezone(dt.UTC)
    return dt.datetime.now(dt.UTC)


def server_info(central: Store) -> ServerInfo:
    with central.engine.connect() as conn:
        return ServerInfo(
            _counter(conn, "schema"),
            _server_now(conn),
            _counter(conn, "change_log"),
            _counter(conn, "pruned_through"),
        )


def check_schema(device_version: int, central_version: int) -> None:
    """A device may be up to ``SUPPORTED_BEHIND`` versions behind; never ahead of central."""
    if device_version < central_version - SUPPORTED_BEHIND:
        raise UpgradeRequired(device_version, central_version)
    if device_version > central_version:
        raise CentralTooOld(device_version, central_version)


# --- push ---------------------------------------------------------------------------------


def apply_push(
    central: Store, device_id: str, entries: Sequence[PushEntry], *, schema_version: int = SCHEMA_VERSION
) -> PushResult:
    """Apply one batch of ``device_id``'s outbox entries (in seq order) in one transaction."""
    if not central.is_central:
        raise ValueError("apply_push needs the central store (role='central')")
    ordered = sorted(entries, key=lambda e: e.seq)
    try:
        with no_cycle_collection():
            return _apply(central, device_id, ordered, schema_version, careful=False)
    except OperationalError:
        raise  # connection trouble: the caller retries the whole batch later
    except (DBAPIError, RowsNotWritten):
        return _apply(central, device_id, ordered, schema_version, careful=True)


def _apply(
    central: Store, device_id: str, entries: list[PushEntry], schema_version: int, *, careful: bool
) -> PushResult:
    with central.unit_of_work(capture=False) as uow:
        session = uow.session
        if not is_sqlite(central.engine):
            # one push at a time per device: a retry waits for a stale connection's transaction
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:d))"), {"d": device_id})
        check_schema(schema_version, _counter(session, "schema"))
        replayed = _replays(session, device_id, [e.seq for e in entries])
        fresh = [e for e in entries if e.seq not in replayed]
        results: dict[int, EntryResult] = dict(replayed)
        rows: dict[Key, dict[str, Any]] = {}
        if careful:
            results.update(_apply_carefully(session, central, device_id, fresh, rows))
        else:
            batch = _Batch(session, central, device_id)
            batch.load(entries)
            with batch.pipelined():
                for start in range(0, len(fresh), DECIDE_CHUNK):
                    for entry in fresh[start : start + DECIDE_CHUNK]:
                        results[entry.seq] = batch.process(entry)
                    batch.write()
            rows.update(batch.final_rows())
        # the device needs the central state only of rows that may now differ from its own, and
        # the rejection rows; a row applied exactly as sent is already equal on both sides
        needed = {(e.table_name, e.row_id) for e in entries if not _as_sent(e, results[e.seq])}
        rows = {k: v for k, v in rows.items() if k in needed or k[0] == SyncRejection.__tablename__}
        rows.update(_read_rows(session, [k for k in needed if k not in rows]))
        if entries:
            _touch_device(session, device_id, schema_version=schema_version, last_push_seq=entries[-1].seq)
        uow.commit()
    return PushResult(tuple(results[e.seq] for e in entries), rows)


def _as_sent(entry: PushEntry, outcome: EntryResult) -> bool:
    return (
        not outcome.replayed
        and outcome.result in (RESULT_APPLIED, RESULT_DUPLICATE)
        and outcome.central_version == entry.version
    )


#: a refused part of at most this many entries is retried entry by entry instead of in halves
CAREFUL_SINGLES = 8


def _apply_carefully(
    session: Session,
    central: Store,
    device_id: str,
    entries: list[PushEntry],
    rows: dict[Key, dict[str, Any]],
) -> dict[int, EntryResult]:
    """Apply ``entries`` (in device order) after the database refused their batch: each part
    under a savepoint, and a refused part again in halves (small parts entry by entry) until
    the refused entries are alone; each of those is recorded as rejected. With one refused entry
    among 5,000 this costs a few times the plain path, not a savepoint per entry."""
    results: dict[int, EntryResult] = {}
    todo = _split(entries)[::-1]  # a stack: the next part in device order on top
    while todo:
        part = todo.pop()
        mark = pending_change_count(session)
        savepoint = session.begin_nested()
        try:
            batch = _Batch(session, central, device_id)
            batch.load(part)
            done = [batch.process(entry) for entry in part]
            batch.write()
            savepoint.commit()
        except OperationalError:
            raise
        except (DBAPIError, RowsNotWritten) as exc:
            savepoint.rollback()
            discard_changes_from(session, mark)
            if len(part) > 1:
                todo.extend(_split(part)[::-1])
            else:
                results[part[0].seq] = _reject_refused(session, central, device_id, part[0], exc, rows)
            continue
        rows.update(batch.final_rows())
        results.update((outcome.seq, outcome) for outcome in done)
    return results


def _split(entries: list[PushEntry]) -> list[list[PushEntry]]:
    """A refused part, in order: halves, or single entries when it is small."""
    if len(entries) <= CAREFUL_SINGLES:
        return [[entry] for entry in entries]
    half = len(entries) // 2
    return [entries[:half], entries[half:]]


def _reject_refused(
    session: Session,
    central: Store,
    device_id: str,
    entry: PushEntry,
    exc: DBAPIError | RowsNotWritten,
    rows: dict[Key, dict[str, Any]],
) -> EntryResult:
    """Record ``entry``, which the database refused on its own, as rejected (reason
    ``unique_conflict`` for a new row whose unique key another row holds, ``denied`` otherwise)."""
    batch = _Batch(session, central, device_id)
    batch.load([entry])
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    detail = str(orig).splitlines()[0][:500] if str(orig) else type(orig).__name__
    reason = REASON_UNIQUE if entry.op == "insert" and is_unique_violation(exc) else REASON_DENIED
    result = batch.reject(entry, reason, detail)
    batch.write()
    rows.update(batch.final_rows())
    return result


def is_unique_violation(exc: BaseException) -> bool:
    """The database refused a statement because a unique index already holds its key
    (PostgreSQL SQLSTATE 23505, SQLite "UNIQUE constraint failed")."""
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505" or getattr(orig, "pgcode", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(orig) or "duplicate key value" in str(orig)


def _replays(session: Session, device_id: str, seqs: list[int]) -> dict[int, EntryResult]:
    """Ledger entries of ``seqs`` already processed: one range scan of the ledger's primary key."""
    out: dict[int, EntryResult] = {}
    if not seqs:
        return out
    wanted = set(seqs)
    stmt = select(
        PushLedgerEntry.seq,
        PushLedgerEntry.result,
        PushLedgerEntry.reason,
        PushLedgerEntry.central_version,
    ).where(
        PushLedgerEntry.device_id == device_id,
        PushLedgerEntry.seq >= min(seqs),
        PushLedgerEntry.seq <= max(seqs),
    )
    for seq, result, reason, version in session.execute(stmt):
        if seq in wanted:
            out[seq] = EntryResult(seq, result, reason, version, replayed=True)
    return out


def read_rows(central: Store, table_name: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The central state (payloads) of the rows ``ids`` of ``table_name`` that the central store
    holds (and this connection may read)."""
    with Session(central.engine) as session:
        found = _read_rows(session, [(table_name, rid) for rid in ids])
    return {rid: payload for (_table, rid), payload in found.items()}


def _read_rows(session: Session, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    by_table: dict[str, list[uuid.UUID]] = {}
    for table_name, row_id in keys:
        if known_table(table_name):
            by_table.setdefault(table_name, []).append(row_id)
    out: dict[Key, dict[str, Any]] = {}
    on_postgres = session.get_bind().dialect.name == "postgresql"
    for table_name, ids in by_table.items():
        info = synced_table(table_name)
        unique = list(dict.fromkeys(ids))
        if on_postgres:  # one array parameter instead of many ids
            texts = [str(rid) for rid in unique]
            statements = [
                _by_ids(select(info.table), info.table, texts[start : start + ANY_CHUNK])
                for start in range(0, len(texts), ANY_CHUNK)
            ]
        else:
            statements = [
                select(info.table).where(info.table.c.id.in_(unique[start : start + CHUNK]))
                for start in range(0, len(unique), CHUNK)
            ]
        for statement in statements:
            for row in session.execute(statement):
                payload = info.encode(row)
                out[(table_name, row.id)] = payload
    return out


def _by_ids(statement: Select[Any], table: Table, texts: list[str]) -> Select[Any]:
    """``statement`` limited to the rows of ``table`` whose id is one of ``texts`` (PostgreSQL),
    as a join with the array's elements: an index lookup per id. (Written ``id = ANY(array)`` and
    planned for the array's values, a thousand ids on a table of 100,000 rows were found by
    scanning the whole table, with or without statistics: 8.5 ms against 1.6.)"""
    wanted = func.unnest(_uuid_array(texts)).table_valued("id").render_derived(name="wanted")
    return statement.join(wanted, table.c.id == wanted.c.id)


def _uuid_array(texts: list[str]) -> Any:
    """A ``uuid[]`` parameter from the ids' text forms, sent as one array literal (the driver
    would otherwise adapt the list element by element). The parameter has no type of its own:
    PostgreSQL reads it as ``uuid[]`` once. (Typed as text it was cast to ``uuid[]`` for every
    row a sequential scan met: seconds for a thousand ids.)"""
    return cast(bindparam("ids", "{" + ",".join(texts) + "}", type_=NullType()), ARRAY(Uuid()))


def _lock_rows(session: Session, keys: Iterable[Key]) -> None:
    """On PostgreSQL, lock the rows that edits of this batch will be decided on, before they are
    read: a push of another device editing one of them at the same moment waits until this one
    commits and then decides on what it wrote (without the lock both were decided on the same
    version and the second write overwrote the first). Tables in a fixed order, rows in id
    order, so two pushes never wait for each other in a circle. Insert-only tables are never
    updated (and a device may not lock their rows). Rows the device may not update (row-level
    security) are not locked; their edits are refused as before."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time anyway
    by_table: dict[str, set[uuid.UUID]] = {}
    for table_name, row_id in keys:
        if known_table(table_name) and not synced_table(table_name).insert_only:
            by_table.setdefault(table_name, set()).add(row_id)
    order = table_order()
    for table_name in sorted(by_table, key=lambda t: (order.get(t, 0), t)):
        table = synced_table(table_name).table
        ids = sorted(str(rid) for rid in by_table[table_name])
        for start in range(0, len(ids), ANY_CHUNK):
            chunk = ids[start : start + ANY_CHUNK]
            session.execute(
                _by_ids(select(table.c.id), table, chunk)
                .order_by(table.c.id)
                .with_for_update(of=table, key_share=True)
            ).all()


class _Batch:
    """The decisions of one batch, made in memory and written with set-based statements."""

    def __init__(self, session: Session, central: Store, device_id: str) -> None:
        self.session = session
        self.central = central
        self.device_id = device_id
        self.state: dict[Key, dict[str, Any] | None] = {}
        self.inserts: dict[Key, None] = {}
        self.updates: dict[Key, None] = {}
        #: (seq, table, row id, the device's version, the central version, result, reason)
        self.ledger: list[tuple[int, str, uuid.UUID, int, int, str, str]] = []
        self.rejections: list[dict[str, Any]] = []
        #: row id -> (the device's version, the central version) of its last processed entry
        self.chain: dict[uuid.UUID, tuple[int, int]] = {}
        self.touched: dict[Key, None] = {}
        #: the rejection rows written, returned to the device with the batch's rows
        self.recorded: dict[Key, dict[str, Any]] = {}
        #: new rows written exactly as sent: their JSON text as the device stored it
        self.raw: dict[Key, str] = {}
        self.now = dt.datetime.now(dt.UTC)
        self.on_postgres = session.get_bind().dialect.name == "postgresql"
        #: writes sent in PostgreSQL's pipeline mode (``pipelined``): the psycopg pipeline, while open
        self._pipelining = False
        self._pipeline: Any = None

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """While this lasts, on PostgreSQL, ``write`` sends its statements in pipeline mode and
        returns without waiting for them: the server writes one chunk of the batch while the next
        one is decided. The pipeline is settled (every statement's answer awaited, errors raised
        as SQLAlchemy's) before anything is read or counted, and at the end."""
        if not self.on_postgres:
            yield
            return
        self._pipelining = True
        try:
            yield
            self._settle()
        except BaseException as exc:
            pipeline, self._pipeline = self._pipeline, None
            if pipeline is not None:
                with suppress(Exception):  # the first error is the one that counts
                    pipeline.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finally:
            self._pipelining = False

    def _send_without_waiting(self) -> None:
        if self._pipelining and self._pipeline is None:
            driver = self.session.connection().connection.driver_connection
            assert driver is not None
            pipeline = driver.pipeline()
            pipeline.__enter__()
            self._pipeline = pipeline

    def _settle(self) -> None:
        """Wait for every statement sent in pipeline mode; leave pipeline mode."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return
        dialect = self.session.get_bind().dialect
        try:
            pipeline.__exit__(None, None, None)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc

    def load(self, entries: Sequence[PushEntry]) -> None:
        keys = {(e.table_name, e.row_id) for e in entries}
        _lock_rows(self.session, [(e.table_name, e.row_id) for e in entries if e.op != "insert"])
        found = _read_rows(self.session, keys)
        for key in keys:
            self.state[key] = found.get(key)
        # the device's earlier edits matter only to edits (``_conflicting``), never to inserts; an
        # entry applied as sent (both versions equal) changes nothing there and is not indexed
        # (migration 0019_push_ledger_edit_index)
        ids = list({e.row_id for e in entries if e.op != "insert"})
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            stmt = (
                select(
                    PushLedgerEntry.row_id,
                    PushLedgerEntry.local_version,
                    PushLedgerEntry.central_version,
                )
                .where(
                    PushLedgerEntry.device_id == self.device_id,
                    PushLedgerEntry.row_id.in_(chunk),
                    PushLedgerEntry.local_version != PushLedgerEntry.central_version,
                )
                .order_by(PushLedgerEntry.seq)
            )
            for row_id, local_version, central_version in self.session.execute(stmt):
                self.chain[row_id] = (local_version, central_version)

    def read(self, table_name: str, row_id: uuid.UUID) -> dict[str, Any] | None:
        key = (table_name, row_id)
        if key not in self.state:
            self._settle()
            self.state[key] = _read_rows(self.session, [key]).get(key)
        return self.state[key]

    def _conflicting(self, entry: PushEntry, current: dict[str, Any]) -> frozenset[str]:
        base = entry.base_version
        link = self.chain.get(entry.row_id)
        if link is not None and link[0] == entry.base_version:
            base = link[1]  # the edit was made on top of this device's previous, already pushed edit
        if int(current["version"]) <= base:
            return frozenset()
        self._settle()
        stmt = select(ChangeLogEntry.changed).where(
            ChangeLogEntry.row_id == entry.row_id,
            ChangeLogEntry.version > base,
            ChangeLogEntry.source != self.device_id,
        )
        fields: set[str] = set()
        for changed in self.session.scalars(stmt):
            fields.update(changed or [])
        return frozenset(fields)

    def process(self, entry: PushEntry) -> EntryResult:
        if not known_table(entry.table_name):
            return self.reject(entry, "unknown_table", entry.table_name)
        key = (entry.table_name, entry.row_id)
        current = self.read(*key)
        policy = policy_for(entry.table_name)
        if entry.op == "insert" and type(policy) in _PLAIN_POLICIES:
            # what FieldMerge and InsertOnly decide for an insert, without the Decision objects
            if current is None:
                return self._ledger(entry, RESULT_APPLIED, "", self._write_row(entry, None, ()))
            return self._ledger(entry, RESULT_DUPLICATE, "", int(current["version"]))
        conflicting = (
            self._conflicting(entry, current) if entry.op != "insert" and current is not None else frozenset()
        )
        decision = policy.decide(entry, current, conflicting, self.read)
        central_version = int(current["version"]) if current is not None else 0
        if decision.writes:
            central_version = self._write_row(entry, current, decision.apply)
        elif decision.reason == REASON_CONFLICT and current is not None:
            # nothing merged: still move the central version past the device's, so that the
            # device's later edits of this row are recognised as based on what it now gets back
            central_version = self._write_row(entry, current, ())
        if decision.rejected or decision.result == RESULT_REJECTED:
            self._rejection(entry, decision, current)
        return self._ledger(entry, decision.result, decision.reason, central_version)

    def reject(self, entry: PushEntry, reason: str, detail: str) -> EntryResult:
        decision = Decision(
            RESULT_REJECTED, reason, rejected=entry.changed or tuple(entry.payload), detail=detail
        )
        current = self.read(entry.table_name, entry.row_id) if known_table(entry.table_name) else None
        self._rejection(entry, decision, current)
        version = int(current["version"]) if current is not None else 0
        return self._ledger(entry, RESULT_REJECTED, reason, version)

    def _write_row(self, entry: PushEntry, current: dict[str, Any] | None, keys: Sequence[str]) -> int:
        key = (entry.table_name, entry.row_id)
        info = synced_table(entry.table_name)
        payload = entry.payload
        if (
            current is None
            and entry.payload_json is not None
            and payload.get("version") == max(1, entry.version)
            and len(payload) == len(info.columns)
            and payload.keys() == info.columns.keys()
        ):
            # exactly the row as sent: its JSON text serves the insert and the log, and the
            # payload is the row's state (not copied: a later edit in the batch makes a new one)
            version = int(payload["version"])
            self.inserts[key] = None
            self.raw[key] = entry.payload_json
            self.state[key] = payload
            self.touched[key] = None
            if self.on_postgres:  # the change-log entry as JSON text around the row's own text
                row_id = payload["id"] if type(payload["id"]) is str else str(entry.row_id)
                record_change_text(
                    self.session,
                    f'{{"table_name":{_json_str(entry.table_name)},"row_id":"{row_id}",'
                    f'"op":"insert","version":{version},"source":{_json_str(self.device_id)},'
                    f'"changed":[],"payload":{entry.payload_json}}}',
                )
            else:
                record_change(
                    self.session,
                    table_name=entry.table_name,
                    row_id=entry.row_id,
                    op="insert",
                    version=version,
                    source=self.device_id,
                    changed=[],
                    payload=cast_json(entry.payload_json),
                )
            return version
        if current is None:
            new = {k: v for k, v in payload.items() if k in info.columns}
            new["version"] = max(1, entry.version)
            self.inserts[key] = None
            op, changed = "insert", []
        else:
            new = dict(current)
            for k in keys:
                if k in info.columns:
                    new[k] = entry.payload[k]
            new["version"] = max(int(current["version"]) + 1, entry.version)
            new["hlc"] = max(str(current["hlc"]), str(entry.payload.get("hlc", "")))
            if key not in self.inserts:
                self.updates[key] = None
            self.raw.pop(key, None)  # inserted earlier in this batch: the row is no longer as sent
            op = entry.op if keys else "update"
            changed = list(keys)
        self.state[key] = new
        self.touched[key] = None
        record_change(
            self.session,
            table_name=entry.table_name,
            row_id=entry.row_id,
            op=op,
            version=new["version"],
            source=self.device_id,
            changed=changed,
            payload=new,
        )
        return int(new["version"])

    def _rejection(self, entry: PushEntry, decision: Decision, current: dict[str, Any] | None) -> None:
        fields = list(decision.rejected)
        now = dt.datetime.now(dt.UTC)
        row = {
            "id": new_id(),
            "origin": self.central.device_id,
            "version": 1,
            "hlc": str(self.central.clock.now()),
            "deleted": False,
            "device_id": self.device_id,
            "entry_seq": entry.seq,
            "table_name": entry.table_name,
            "row_id": entry.row_id,
            "reason": decision.reason,
            "fields": fields,
            "rejected_values": jsonable({k: entry.payload.get(k) for k in fields}),
            "central_values": jsonable({k: current.get(k) for k in fields}) if current else {},
            "detail": decision.detail,
            "status": "open",
            "resolved_by": "",
            "resolved_at": None,
            "created_at": now,
        }
        self.rejections.append(row)
        self.recorded[(SyncRejection.__tablename__, row["id"])] = jsonable(row)
        record_change(
            self.session,
            table_name=SyncRejection.__tablename__,
            row_id=row["id"],
            op="insert",
            version=1,
            source=self.central.device_id,
            changed=[],
            payload=jsonable(row),
        )

    def _ledger(self, entry: PushEntry, result: str, reason: str, central_version: int) -> EntryResult:
        self.chain[entry.row_id] = (entry.version, central_version)
        self.touched[(entry.table_name, entry.row_id)] = None
        self.ledger.append(
            (entry.seq, entry.table_name, entry.row_id, entry.version, central_version, result, reason)
        )
        return EntryResult(entry.seq, result, reason, central_version)

    def write(self) -> None:
        self._send_without_waiting()
        order = table_order()
        inserts = sorted(self.inserts, key=lambda k: order.get(k[0], 0))
        on_postgres = self.session.get_bind().dialect.name == "postgresql"
        for table_name, keys in _group(inserts).items():
            info = synced_table(table_name)
            if on_postgres and _plain_names(info):
                # the JSON payloads go in as they are (PostgreSQL reads their text forms)
                shapes: dict[tuple[str, ...], list[uuid.UUID]] = {}
                for rid in keys:
                    shapes.setdefault(tuple(self.state[(table_name, rid)] or {}), []).append(rid)
                for names, ids in shapes.items():
                    texts = [
                        self.raw.get((table_name, rid)) or _dumps(self.state[(table_name, rid)])
                        for rid in ids
                    ]
                    insert_json(self.session.connection(), info.table, list(names), texts)
                continue
            rows = [info.decode(self.state[(table_name, rid)] or {}) for rid in keys]
            for shape in _by_shape(rows):
                insert_rows(self.session.connection(), info.table, shape, direct=False)
        if self.updates:
            self._settle()  # their counts are checked
        for table_name, keys in _group(sorted(self.updates, key=lambda k: order.get(k[0], 0))).items():
            info = synced_table(table_name)
            rows = [info.decode(self.state[(table_name, rid)] or {}) for rid in keys]
            for shape in _by_shape(rows):
                columns = [c for c in shape[0] if c != "id"]
                stmt = (
                    update(info.table)
                    .where(info.table.c.id == bindparam("k_id"))
                    .values({c: bindparam(f"p_{c}") for c in columns})
                )
                params = [{"k_id": r["id"], **{f"p_{c}": r[c] for c in columns}} for r in shape]
                done = self.session.connection().execute(stmt, params).rowcount
                if done != len(params) and self.session.get_bind().dialect.supports_sane_multi_rowcount:
                    raise RowsNotWritten(f"{table_name}: {done} of {len(params)} rows updated")
        connection = self.session.connection()
        if self.rejections:
            self._settle()  # (rare) through Core's insert, which reads its own answer
            connection.execute(insert(SyncRejection.__table__), self.rejections)  # type: ignore[arg-type]
        self._write_ledger(connection)
        if self._pipelining:
            write_queued_changes(self.session)  # this chunk's change-log entries, sent with it
        self.inserts.clear()
        self.raw.clear()
        self.updates.clear()
        self.rejections.clear()
        self.ledger.clear()

    def _write_ledger(self, connection: Connection) -> None:
        if not self.ledger:
            return
        if self.on_postgres:  # one statement, the rows as JSON text made here (plain values only)
            names: dict[str, str] = {}
            texts = [
                f'{{"seq":{seq},"table_name":{names.get(table) or names.setdefault(table, _json_str(table))},'
                f'"row_id":"{row_id}","local_version":{local},"central_version":{central},'
                f'"result":{_json_str(result)},"reason":{_json_str(reason)}}}'
                for seq, table, row_id, local, central, result, reason in self.ledger
            ]
            connection.exec_driver_sql(
                _LEDGER_INSERT,
                {"device": self.device_id, "now": self.now, "rows": "[" + ",".join(texts) + "]"},
            )
            return
        rows = [
            {
                "device_id": self.device_id,
                "seq": seq,
                "table_name": table,
                "row_id": row_id,
                "local_version": local,
                "central_version": central,
                "result": result,
                "reason": reason,
                "applied_at": self.now,
            }
            for seq, table, row_id, local, central, result, reason in self.ledger
        ]
        insert_rows(connection, PushLedgerEntry.__table__, rows, direct=True)  # type: ignore[arg-type]

    def final_rows(self) -> dict[Key, dict[str, Any]]:
        out = {key: row for key in self.touched if (row := self.state.get(key)) is not None}
        out.update(self.recorded)
        return out


_LEDGER_COLUMNS = "seq, table_name, row_id, local_version, central_version, result, reason"
_LEDGER_INSERT = (
    f"INSERT INTO sync_push_ledger (device_id, {_LEDGER_COLUMNS}, applied_at) "
    f"SELECT %(device)s, {_LEDGER_COLUMNS}, %(now)s "
    "FROM json_populate_recordset(NULL::sync_push_ledger, %(rows)s::json)"
)


@functools.lru_cache(maxsize=256)
def _json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def cast_json(text: str) -> dict[str, Any]:
    """JSON text handed on as a change-log payload without being parsed and encoded again (the
    bulk insert splices it in; ``clerk_app.store.bulk.PreSerialised``)."""
    return PreSerialised(text)  # type: ignore[return-value]


def _plain_names(info: SyncedTable) -> bool:
    """Payload keys are the column names (so a payload can be read by PostgreSQL as a row)."""
    return _plain_names_of(info.name)


@functools.cache
def _plain_names_of(table_name: str) -> bool:
    info = synced_table(table_name)
    return all(key == column.name for key, column in info.columns.items())


def _group(keys: Iterable[Key]) -> dict[str, list[uuid.UUID]]:
    out: dict[str, list[uuid.UUID]] = {}
    for table_name, row_id in keys:
        out.setdefault(table_name, []).append(row_id)
    return out


def _by_shape(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    return list(shapes.values())


def _touch_device(session: Session, device_id: str, **values: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    if "last_push_seq" in values:
        values["last_push_at"] = now
    values["last_seen_at"] = now
    done = session.execute(
        update(SyncDevice).where(SyncDevice.device_id == device_id).values(**values)
    ).rowcount  # type: ignore[attr-defined]
    if not done:
        session.execute(insert(SyncDevice).values(device_id=device_id, **values))


def report_device(central: Store, device_id: str, **values: Any) -> None:
    """Record what a workstation reports after a round (cursor, waiting entries, clock skew)."""
    with central.unit_of_work(capture=False) as uow:
        _touch_device(uow.session, device_id, **values)
        uow.commit()


# --- pull ---------------------------------------------------------------------------------


def assign_change_log(conn: Connection, limit: int | None = None) -> None:
    """On PostgreSQL, number the committed change-log entries still without a number, the oldest
    first, at most ``limit`` of them (all without it), in one short transaction of its own,
    committed here (``change_log_assign`` of migrations ``0014_change_log_assign`` and
    ``0017_change_log_assign_limit``). Writers leave their entries unnumbered and take no shared
    lock; an entry left unnumbered, or whose transaction commits after this run, is numbered by a
    later run, after everything numbered now, so a cursor never passes it. Nothing to do on
    SQLite, where a writer numbers its own entries at commit."""
    if conn.dialect.name != "postgresql":
        return
    if limit is None:
        conn.execute(text("SELECT change_log_assign()"))
    else:
        try:
            conn.execute(text("SELECT change_log_assign(:n)"), {"n": limit})
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != UNDEFINED_FUNCTION:
                raise
            conn.rollback()  # a central store not yet upgraded to 0017: number everything
            conn.execute(text("SELECT change_log_assign()"))
    conn.commit()


#: PostgreSQL's SQLSTATE for "function … does not exist"
UNDEFINED_FUNCTION = "42883"


def _unnumbered(conn: Connection) -> int:
    """At most how many committed entries wait for their numbers (PostgreSQL; the ids of a run
    without gaps, read from the ends of the partial index of unnumbered entries)."""
    if conn.dialect.name != "postgresql":
        return 0
    waiting = conn.exec_driver_sql(
        "SELECT coalesce(max(id) - min(id) + 1, 0) FROM change_log_pending"
    ).scalar_one()
    return int(waiting)


@dataclass(frozen=True, slots=True)
class PageText:
    """A page of the change log as PostgreSQL built it (one JSON document), not parsed yet."""

    text: str
    after: int
    high_water: int


def read_changes(central: Store, after: int, limit: int = 1000) -> ChangePage:
    """Change-log entries with ``seq > after`` in sequence order (= commit order), at most ``limit``."""
    return open_page(fetch_changes(central, after, limit))


def open_page(fetched: ChangePage | PageText) -> ChangePage:
    """The page of ``fetch_changes``, parsed."""
    if isinstance(fetched, ChangePage):
        return fetched
    changes = _parse_page(fetched.text)
    cursor = changes[-1].seq if changes else fetched.after
    return ChangePage(changes, cursor, max(fetched.high_water, cursor))


def fetch_changes(central: Store, after: int, limit: int = 1000) -> ChangePage | PageText:
    """What ``read_changes`` reads; on PostgreSQL the page comes as its JSON text, parsed by
    ``open_page`` (a caller may fetch the next page in a thread, waiting on the server without
    holding the interpreter, and parse it in its own)."""
    with central.engine.connect() as conn:
        # one page's worth numbered now: the server numbers the next page while the workstation
        # applies this one, instead of numbering a whole backlog before the first page
        assign_change_log(conn, limit)
        pruned = _counter(conn, "pruned_through")
        # for the progress bar: the last number once the entries waiting for one have theirs
        high_water = _counter(conn, "change_log") + _unnumbered(conn)
        if after < pruned:
            return ChangePage((), after, high_water, snapshot_required=True)
        if conn.dialect.name == "postgresql":
            text_ = conn.exec_driver_sql(_PAGE_SQL, {"after": after, "limit": limit}).scalar_one()
            return PageText(text_, after, high_water)
        log = ChangeLogEntry.__table__.c
        # the JSON columns as text, parsed here: the driver's JSON loader is slower per row
        stmt = (
            select(
                log.seq,
                log.table_name,
                log.row_id,
                log.op,
                log.version,
                log.source,
                cast(log.changed, Text),
                cast(log.payload, Text),
            )
            .where(log.seq > after)
            .order_by(log.seq)
            .limit(limit)
        )
        loads = orjson.loads
        changes = tuple(
            Change(
                seq,
                table_name,
                row_id,
                op,
                version,
                source,
                tuple(loads(changed) or ()) if changed else (),
                loads(payload),
            )
            for seq, table_name, row_id, op, version, source, changed, payload in conn.execute(stmt)
        )
    cursor = changes[-1].seq if changes else after
    return ChangePage(changes, cursor, max(high_water, cursor))


#: on PostgreSQL the numbers are in ``change_log_order`` (migration ``0018_change_log_order``).
#: Each entry of the page is looked up by its id (a lateral subquery the planner keeps as one
#: index lookup per entry): as a plain join, on a log of some ten thousand entries, the planner
#: hashed the whole log for every page (a first page of 1,000 took 10 ms against 3.4)
_PAGE_SQL = """
SELECT coalesce(json_agg(json_build_array(o.seq, c.table_name, c.row_id, c.op, c.version, c.source,
                                          c.changed, c.payload) ORDER BY o.seq), '[]')::text
FROM (SELECT seq, id FROM change_log_order WHERE seq > %(after)s ORDER BY seq LIMIT %(limit)s) AS o
CROSS JOIN LATERAL (SELECT * FROM change_log WHERE change_log.id = o.id LIMIT 1) AS c
"""


def _parse_page(text_: str) -> tuple[Change, ...]:
    """One page as one JSON document built by the server: a single fetch and a single parse
    instead of a driver row and two JSON parses per entry."""
    to_uuid = uuid.UUID
    with no_cycle_collection():
        return tuple(
            Change(seq, table_name, to_uuid(row_id), op, version, source, tuple(changed or ()), payload)
            for seq, table_name, row_id, op, version, source, changed, payload in orjson.loads(text_)
        )


def read_snapshot(central: Store) -> Snapshot:
    """Every synced row as of one consistent moment, and the sequence that moment corresponds to."""
    engine = central.engine
    with engine.connect() as conn:
        # not needed for correctness (an entry committed but not yet numbered is in the snapshot's
        # rows and comes again, numbered above its high water, to be skipped as already held), but
        # it keeps such repeats few
        assign_change_log(conn)
    options: dict[str, Any] = {} if is_sqlite(engine) else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        high_water = _counter(conn, "change_log")
        rows: dict[str, tuple[dict[str, Any], ...]] = {}
        for info in synced_tables():
            rows[info.name] = tuple(info.encode(r) for r in conn.execute(select(info.table)))
    return Snapshot(rows, high_water)


def prune_change_log(central: Store, older_than: dt.timedelta) -> int:
    """Drop change-log entries committed before ``now - older_than``; pulls from a cursor below the
    pruned point get a snapshot. Returns the number of entries removed. An entry not numbered yet
    (PostgreSQL) has not been pulled by anyone: it stays."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    with central.unit_of_work(capture=False) as uow:
        session = uow.session
        if is_sqlite(central.engine):
            last = session.scalar(
                select(ChangeLogEntry.seq)
                .where(ChangeLogEntry.committed_at < cutoff, ChangeLogEntry.seq.is_not(None))
                .order_by(ChangeLogEntry.seq.desc())
                .limit(1)
            )
            if last is None:
                return 0
            removed = session.execute(delete(ChangeLogEntry).where(ChangeLogEntry.seq <= last)).rowcount  # type: ignore[attr-defined]
        else:  # the numbers are in change_log_order (0018_change_log_order)
            last = session.execute(
                text("SELECT max(seq) FROM change_log_order WHERE numbered_at < :cutoff"), {"cutoff": cutoff}
            ).scalar()
            if last is None:
                return 0
            removed = session.execute(
                text(
                    "DELETE FROM change_log c USING change_log_order o WHERE o.id = c.id AND o.seq <= :last"
                ),
                {"last": last},
            ).rowcount  # type: ignore[attr-defined]
            session.execute(text("DELETE FROM change_log_order WHERE seq <= :last"), {"last": last})
        session.execute(update(SyncCounter).where(SyncCounter.name == "pruned_through").values(value=last))
        uow.commit()
        return int(removed)
