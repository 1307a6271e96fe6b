"""The workstation side of sync: push the outbox, pull the change log, one round of both.

- **Push** reads the outbox in device order, in batches; the central store applies a batch in one
  transaction (``clerk_app.sync.central.apply_push``); only then, in one local transaction, the
  acknowledged entries leave the outbox and every row with nothing more waiting takes the central
  state (which may be a merge, or the server's value after a conflict).
- **Pull** reads the change log after the local cursor, page by page; a page is applied with
  ``capture=False`` (no outbox entries) and the cursor advances in the same local transaction. A
  row with local changes still waiting is left alone: its push brings back the central state. A
  cursor older than the retention window gets a full snapshot.
- **Set aside.** A new row the central store refused (most often: its unique key — case number,
  document number, the rated service — is already held by another workstation's row) cannot stay
  in the local store, or the winning row could never be pulled. The acknowledgement removes it (and
  local rows that depend on it) in the same local transaction, and records the central rejection,
  which holds its content. A pulled row that still meets a local row of another id on a unique key
  sets that local row aside the same way (reason ``unique_conflict``) instead of failing the page.

Ordering and cursors use the central sequence only; the hybrid clock stamps are for display.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clerk_app.store.bulk import no_cycle_collection
from clerk_app.store.engine import READ_ONLY_OPTION, is_sqlite
from clerk_app.store.ids import new_id
from clerk_app.store.models import OutboxEntry, SyncRejection
from clerk_app.store.state import get_state, put_state
from clerk_app.store.uow import Store, jsonable
from clerk_app.sync import central as central_side
from clerk_app.sync import faults
from clerk_app.sync.codec import SyncedTable, known_table, synced_table, synced_tables, table_order
from clerk_app.sync.policies import REASON_UNIQUE
from clerk_app.sync.protocol import (
    CLOCK_SKEW_WARN_MS,
    RESULT_APPLIED,
    RESULT_DUPLICATE,
    RESULT_REJECTED,
    SCHEMA_VERSION,
    Change,
    ChangePage,
    EntryResult,
    PushEntry,
    PushResult,
    SyncCancelled,
)

CURSOR_KEY = "pull"
PUSH_KEY = "push"
CHUNK = 500
#: outbox entries per pushed batch (one central transaction each). Each batch costs a few round
#: trips whatever its size, and after each the pushing thread waits for the interpreter while
#: the read-ahead and acknowledgement threads run: pushing 100,000 entries took 58 µs an entry in
#: batches of 1,000 and 37-44 in batches of 5,000 (side by side, medians of three)
PUSH_BATCH = 5000
#: the first pushed batch: it is read before anything is sent, so it is kept short; each next
#: batch is twice as large, up to ``PUSH_BATCH``
FIRST_BATCH = 1000
#: change-log entries per pulled page (one local transaction each): a page costs a few
#: milliseconds on both sides whatever its size (numbering, round trips, a commit), so larger
#: pages pull faster — 5,000 against 2,000 took pull of 100,000 from about 39,000 to 47,000
#: entries a second; a page of halls is about 2.5 MB of JSON
PULL_PAGE = 5000
#: the first page of a pull: its fetch overlaps with nothing, so it is kept short
FIRST_PAGE = 1000

#: progress(phase, done, total); phase is "push" or "pull"
Progress = Callable[[str, int, int], None]
Cancel = Callable[[], bool]


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class PushReport:
    pushed: int
    rejected: int
    batches: int


@dataclass(frozen=True, slots=True)
class PullReport:
    received: int
    applied: int
    cursor: int
    snapshot: bool


@dataclass(frozen=True, slots=True)
class RoundReport:
    push: PushReport
    pull: PullReport
    waiting: int
    clock_skew_ms: int
    started_at: dt.datetime
    finished_at: dt.datetime

    @property
    def clock_warning(self) -> bool:
        return abs(self.clock_skew_ms) > CLOCK_SKEW_WARN_MS


# --- local reads --------------------------------------------------------------------------


def _reading(local: Store) -> Session:
    """A session that only reads: a plain BEGIN, no write lock (it neither waits for a clerk's
    transaction nor holds up an acknowledgement)."""
    return Session(local.engine.execution_options(**{READ_ONLY_OPTION: True}))


def outbox_waiting(local: Store) -> int:
    with _reading(local) as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


def cursor(local: Store) -> int:
    with _reading(local) as session:
        state = get_state(session, CURSOR_KEY)
    return int(state["cursor"]) if state else 0


def read_outbox(local: Store, limit: int, after: int = 0) -> list[PushEntry]:
    """The first ``limit`` outbox entries in device order (numbered above ``after``). The payload
    comes as its stored JSON text too, which the central store writes as it is when it applies
    the row unchanged."""
    # a plain BEGIN: a read takes no write lock (an acknowledgement may be committing meanwhile)
    with no_cycle_collection(), local.engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as conn:
        c = OutboxEntry.__table__.c
        columns = (c.seq, c.table_name, c.op, c.base_version, c.version)
        # the id and the JSON columns in their stored forms, converted here (cheaper per row)
        stored = (cast(c.row_id, Text), cast(c.changed, Text), cast(c.payload, Text))
        stmt = select(*columns, *stored).where(c.seq > after).order_by(c.seq).limit(limit)
        row_id_of = _stored_uuid(conn.dialect)
        loads = orjson.loads
        return [
            PushEntry(
                seq,
                table_name,
                row_id_of(row_id),
                op,
                base_version,
                version,
                tuple(loads(changed) or ()) if changed and changed != "[]" else (),
                loads(payload),
                payload,
            )
            for seq, table_name, op, base_version, version, row_id, changed, payload in conn.execute(stmt)
        ]


def _stored_uuid(dialect: Any) -> Callable[[Any], uuid.UUID]:
    """The id column's stored text form back to a UUID (SQLAlchemy's own result conversion)."""
    convert = OutboxEntry.__table__.c.row_id.type.dialect_impl(dialect).result_processor(dialect, None)
    if convert is None:
        return lambda value: value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return _as_uuid_reader(convert)


def _as_uuid_reader(convert: Callable[[Any], Any]) -> Callable[[Any], uuid.UUID]:
    """``convert`` (a driver result processor) seen as returning UUIDs: it does for an id column."""
    return convert


# --- applying rows locally ----------------------------------------------------------------


def _pending(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    if session.execute(select(OutboxEntry.seq).limit(1)).first() is None:
        return out  # nothing waits (the usual case when pulling after a push)
    id_list = list(set(ids))
    for start in range(0, len(id_list), CHUNK):
        chunk = id_list[start : start + CHUNK]
        out.update(
            session.scalars(select(OutboxEntry.row_id).where(OutboxEntry.row_id.in_(chunk)).distinct())
        )
    return out


def _defer_foreign_keys(session: Session) -> None:
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        session.execute(text("PRAGMA defer_foreign_keys = ON"))


#: read rows of one table from the central store by id: (table, ids) -> {id: payload}
Fetch = Callable[[str, list[uuid.UUID]], dict[uuid.UUID, dict[str, Any]]]


def apply_rows(
    session: Session,
    rows: Iterable[tuple[str, dict[str, Any]]],
    *,
    force: bool = False,
    local: Store | None = None,
    fetch: Fetch | None = None,
) -> int:
    """Write central row states into the local store: a row is written when it is newer than the
    local one (or ``force``), never when local changes of it wait in the outbox. Returns the
    number of rows written. The caller's unit of work must have ``capture=False``.

    With ``local`` (the store ``session`` belongs to), a row that meets a local row of another id
    on a unique key is written after that row is moved out of the way (``_Resolver``); without it
    the conflict is raised."""
    # a table of a newer release is skipped: it arrives again in a snapshot after upgrade
    keyed = ((t, uuid.UUID(str(p["id"])), p) for t, p in rows if known_table(t))
    return _apply_keyed(session, keyed, force=force, local=local, fetch=fetch)


def _apply_keyed(
    session: Session,
    rows: Iterable[tuple[str, uuid.UUID, dict[str, Any]]],
    *,
    force: bool = False,
    local: Store | None = None,
    fetch: Fetch | None = None,
) -> int:
    """``apply_rows`` of rows given with their ids (a pulled change carries its row's id)."""
    by_table: dict[str, dict[uuid.UUID, dict[str, Any]]] = {}
    for table_name, row_id, payload in rows:
        if not known_table(table_name):
            continue
        slot = by_table.setdefault(table_name, {})
        previous = slot.get(row_id)
        if previous is None or int(payload["version"]) >= int(previous["version"]):
            slot[row_id] = payload
    if not by_table:
        return 0
    pending = _pending(session, (rid for slot in by_table.values() for rid in slot))
    order = table_order()
    written = 0
    for table_name in sorted(by_table, key=lambda t: order.get(t, 0)):
        info = synced_table(table_name)
        candidates = {rid: p for rid, p in by_table[table_name].items() if rid not in pending}
        local_versions = _local_versions(session, info, list(candidates))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for rid, payload in candidates.items():
            if rid not in local_versions:
                inserts.append(payload)
            elif force or int(payload["version"]) > local_versions[rid]:
                updates.append(payload)
        if local is None or not _unique_keys(info.table):
            _write(session, info, inserts, updates)
        else:
            savepoint = session.begin_nested()
            try:
                _write(session, info, inserts, updates)
                savepoint.commit()
            except IntegrityError:
                savepoint.rollback()
                resolver = _Resolver(session, local, info, candidates, fetch)
                # one by one, updates first: an update that frees a key comes before the insert
                # that takes it in the change log, but a page writes inserts first
                for row in updates:
                    resolver.write(row, insert_row=False)
                for row in inserts:
                    resolver.write(row, insert_row=True)
                resolver.restore_lifted()
        written += len(inserts) + len(updates)
    return written


class _Resolver:
    """Writes pulled rows one by one when a batch met a unique key held locally by another row.

    The local holder is moved out of the way according to what it is:

    - a **synced row with nothing waiting** (its keys were swapped or moved centrally, and the
      change that frees the key is in the same page or was read with it): it is lifted out (only
      the row; rows referring to it stay, foreign keys are checked at commit) and written back at
      the end in its central state (from the same rows, or read from the central store with
      ``fetch``). Nothing local is lost, so no rejection is recorded;
    - a row with **local changes waiting** (a new record not yet pushed, an edit not yet pushed):
      it is set aside with its content in a local rejection record (``set_aside``); its outbox
      entries still go up, and the acknowledgement brings the central outcome (the central
      rejection, or the row's central state) which replaces the local record."""

    MAX_ROUNDS = 8

    def __init__(
        self,
        session: Session,
        local: Store,
        info: SyncedTable,
        candidates: dict[uuid.UUID, dict[str, Any]],
        fetch: Fetch | None,
    ) -> None:
        self.session = session
        self.local = local
        self.info = info
        self.candidates = candidates
        self.fetch = fetch
        #: lifted synced rows -> their local content (kept if the central state cannot be had)
        self.lifted: dict[uuid.UUID, dict[str, Any]] = {}

    def write(self, row: dict[str, Any], *, insert_row: bool) -> None:
        """Write one row; when a local row of another id holds one of its unique keys, move that
        row out of the way and write again."""
        for attempt in range(2):
            savepoint = self.session.begin_nested()
            try:
                _write(self.session, self.info, [row] if insert_row else [], [] if insert_row else [row])
                savepoint.commit()
                return
            except IntegrityError:
                savepoint.rollback()
                decoded = self.info.decode(row)
                holders = _key_holders(self.session, self.info, decoded)
                if attempt or not holders:
                    raise
                waiting = _pending(self.session, holders)
                restorable = self.fetch is not None
                synced = [h for h in holders if h not in waiting and (restorable or h in self.candidates)]
                if synced:
                    self._lift(synced)
                others = [h for h in holders if h not in synced]
                if others:
                    name = self.info.name
                    set_aside(self.session, self.local, name, others, winner=decoded, reason=REASON_UNIQUE)

    def _lift(self, ids: list[uuid.UUID]) -> None:
        table = self.info.table
        for found in self.session.execute(select(table).where(table.c.id.in_(ids))):
            self.lifted[found.id] = self.info.encode(found)
        self.session.execute(delete(table).where(table.c.id.in_(ids)))

    def restore_lifted(self) -> None:
        """Write every lifted row back in its central state (which may lift others in turn)."""
        for _round in range(self.MAX_ROUNDS):
            if not self.lifted:
                return
            todo, self.lifted = self.lifted, {}
            states = {rid: self.candidates[rid] for rid in todo if rid in self.candidates}
            missing = [rid for rid in todo if rid not in states]
            if missing and self.fetch is not None:
                states.update(self.fetch(self.info.name, missing))
            for rid, content in todo.items():
                state = states.get(rid)
                if state is not None:
                    self.write(state, insert_row=True)
                else:  # not held centrally (never expected): kept as a rejection, not dropped silently
                    self._keep_as_rejection(rid, content)
        for rid, content in self.lifted.items():
            self._keep_as_rejection(rid, content)
        self.lifted = {}

    def _keep_as_rejection(self, rid: uuid.UUID, content: dict[str, Any]) -> None:
        _record_rejection(self.session, self.local, self.info.name, rid, REASON_UNIQUE, content, {}, "")
        targets = _dependents(self.session, self.info.table, [rid])
        for other, refs in targets:
            table = synced_table(other).table
            self.session.execute(delete(table).where(table.c.id.in_(refs)))


def _local_versions(session: Session, info: SyncedTable, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The local version of each of ``ids`` that exists locally."""
    out: dict[uuid.UUID, int] = {}
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        by_form = {_uuid_hex(rid): rid for rid in ids}
        forms = list(by_form)
        name = _quote(connection, info.table.name)
        for start in range(0, len(forms), CHUNK):
            part = forms[start : start + CHUNK]
            marks = ", ".join("?" * len(part))
            statement = f"SELECT id, version FROM {name} WHERE id IN ({marks})"
            for found, version in connection.exec_driver_sql(statement, tuple(part)):
                out[by_form[found]] = int(version)
        return out
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = select(info.table.c.id, info.table.c.version).where(info.table.c.id.in_(chunk))
        out.update({rid: int(v) for rid, v in connection.execute(stmt)})
    return out


def _write(
    session: Session, info: SyncedTable, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> None:
    """Write pulled payloads: inserts of new rows, updates of existing ones, one ``executemany``
    per table and shape. On SQLite the payloads become parameter tuples directly, through the
    same conversions (payload to Python value, Python value to stored form) Core would apply."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        name = _quote(connection, info.table.name)
        for keys, rows in _payload_shapes(info, inserts).items():
            form = _row_form(info, keys, connection.dialect)
            columns = ", ".join(_quote(connection, info.columns[k].name) for k in keys)
            marks = ", ".join("?" * len(keys))
            connection.exec_driver_sql(
                f"INSERT INTO {name} ({columns}) VALUES ({marks})",
                [_params(form, row) for row in rows],
            )
        for keys, rows in _payload_shapes(info, updates).items():
            rest = tuple(k for k in keys if k != "id")
            form = _row_form(info, (*rest, "id"), connection.dialect)
            sets = ", ".join(f"{_quote(connection, info.columns[k].name)} = ?" for k in rest)
            connection.exec_driver_sql(
                f"UPDATE {name} SET {sets} WHERE id = ?",
                [_params(form, row) for row in rows],
            )
        return
    for shape in _by_shape([info.decode(p) for p in inserts]):
        session.execute(insert(info.table), shape)
    for shape in _by_shape([info.decode(p) for p in updates]):
        names = [c for c in shape[0] if c != "id"]
        stmt_u = (
            update(info.table)
            .where(info.table.c.id == bindparam("k_id"))
            .values({c: bindparam(f"p_{c}") for c in names})
        )
        session.connection().execute(
            stmt_u, [{"k_id": r["id"], **{f"p_{c}": r[c] for c in names}} for r in shape]
        )


@dataclass(frozen=True, slots=True)
class RowForm:
    """How payloads of one shape become driver parameters: the values in ``keys`` order, then
    at ``convert``'s positions the JSON value turned into the stored form."""

    keys: tuple[str, ...]
    values: Callable[[dict[str, Any]], Any]
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]


def _payload_shapes(
    info: SyncedTable, payloads: list[dict[str, Any]]
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Payloads grouped by the known keys they carry (a newer program may send more)."""
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    columns = info.columns
    known = columns.keys()
    for payload in payloads:
        keys = tuple(payload) if payload.keys() == known else tuple(k for k in payload if k in columns)
        out.setdefault(keys, []).append(payload)
    return out


_FORMS: dict[tuple[str, tuple[str, ...], str], RowForm] = {}


def _row_form(info: SyncedTable, keys: tuple[str, ...], dialect: Any) -> RowForm:
    """For each payload key: how its JSON value becomes the value the driver stores (the
    converter of ``clerk_app.sync.codec`` and then the column type's bind processor)."""
    cache_key = (info.name, keys, dialect.name)
    form = _FORMS.get(cache_key)
    if form is None:
        convert: list[tuple[int, Callable[[Any], Any]]] = []
        for index, key in enumerate(keys):
            column = info.columns[key]
            bind = column.type.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(column.type, Uuid) and dialect.name == "sqlite":
                convert.append((index, _uuid_hex))  # what Uuid's processor stores: the 32-digit hex
                continue
            step = _compose(info.converters.get(key), bind)
            if step is not None:
                convert.append((index, step))
        getter = operator.itemgetter(*keys)
        values = getter if len(keys) > 1 else (lambda payload: (getter(payload),))
        form = _FORMS[cache_key] = RowForm(keys, values, tuple(convert))
    return form


def _uuid_hex(value: Any) -> str:
    if type(value) is str and len(value) == 36:
        return value.replace("-", "").lower()
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex


def _compose(
    convert: Callable[[Any], Any] | None, bind: Callable[[Any], Any] | None
) -> Callable[[Any], Any] | None:
    if convert is None:
        return bind
    if bind is None:
        return convert
    return lambda v: bind(convert(v))


def _params(form: RowForm, payload: dict[str, Any]) -> Any:
    if not form.convert:
        return form.values(payload)
    values = list(form.values(payload))
    for index, convert in form.convert:
        value = values[index]
        if value is not None:
            values[index] = convert(value)
    return tuple(values)


def _quote(connection: Any, name: str) -> str:
    return str(connection.dialect.identifier_preparer.quote(name))


def _unique_keys(table: Table) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    for index in table.indexes:
        if index.unique:
            keys.append(tuple(str(c.name) for c in index.columns))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keys.append(tuple(str(c.name) for c in constraint.columns))
    for column in table.columns:
        if column.unique and not column.primary_key:
            keys.append((str(column.name),))
    return list(dict.fromkeys(k for k in keys if k and k != ("id",)))


def _key_holders(session: Session, info: SyncedTable, row: dict[str, Any]) -> list[uuid.UUID]:
    """Local rows of another id holding one of ``row``'s unique keys."""
    found: dict[uuid.UUID, None] = {}
    for key in _unique_keys(info.table):
        if any(row.get(c) is None for c in key):
            continue  # a key with a NULL in it collides with nothing
        condition = and_(*(info.table.c[c] == row[c] for c in key), info.table.c.id != row["id"])
        found.update(dict.fromkeys(session.scalars(select(info.table.c.id).where(condition))))
    return list(found)


def _dependents(session: Session, table: Table, ids: list[uuid.UUID]) -> list[tuple[str, list[uuid.UUID]]]:
    """Local synced rows referring to ``ids`` of ``table`` (and rows referring to those)."""
    out: list[tuple[str, list[uuid.UUID]]] = []
    for other in synced_tables():
        for fk in other.table.foreign_keys:
            if fk.column.table is not table or other.table is table:
                continue
            refs = list(session.scalars(select(other.table.c.id).where(fk.parent.in_(ids))))
            if refs:
                out.extend(_dependents(session, other.table, refs))
                out.append((other.name, refs))
    return out


def set_aside(
    session: Session,
    local: Store,
    table_name: str,
    ids: list[uuid.UUID],
    *,
    winner: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Remove local rows that cannot stay (and local rows depending on them), without outbox
    entries. With ``reason``, each row's content is first kept in a local rejection record
    (``sync_rejections``), so that the clerk sees it on the Sync page; without, the central
    rejection of its push holds it. Outbox entries of these rows stay: their push brings the
    central store's answer (and, for a new row, its rejection with the content)."""
    info = synced_table(table_name)
    if reason is not None:
        shown = {str(k): v for k, v in jsonable(winner or {}).items()}
        keys = [c for key in _unique_keys(info.table) for c in key]
        for row in session.execute(select(info.table).where(info.table.c.id.in_(ids))):
            payload = info.encode(row)
            _record_rejection(
                session,
                local,
                table_name,
                row.id,
                reason,
                payload,
                {k: shown.get(k) for k in keys if k in shown},
                "",
            )
    targets = [*_dependents(session, info.table, ids), (table_name, ids)]
    for other, refs in targets[:-1]:
        dependent = synced_table(other)
        for row in session.execute(select(dependent.table).where(dependent.table.c.id.in_(refs))):
            if reason is not None:
                content = dependent.encode(row)
                parent = f"{table_name}/{ids[0]}"
                _record_rejection(session, local, other, row.id, reason, content, {}, parent)
    for other, refs in targets:
        table = synced_table(other).table
        session.execute(delete(table).where(table.c.id.in_(refs)))


def _record_rejection(
    session: Session,
    local: Store,
    table_name: str,
    row_id: uuid.UUID,
    reason: str,
    content: dict[str, Any],
    central_values: dict[str, Any],
    detail: str,
) -> None:
    now = dt.datetime.now(dt.UTC)
    session.execute(
        insert(SyncRejection.__table__),  # type: ignore[arg-type]
        [
            {
                "id": new_id(),
                "origin": local.device_id,
                "version": 1,
                "hlc": str(local.clock.now()),
                "deleted": False,
                "device_id": local.device_id,
                "entry_seq": 0,
                "table_name": table_name,
                "row_id": row_id,
                "reason": reason,
                "fields": list(content),
                "rejected_values": content,
                "central_values": central_values,
                "detail": detail,
                "status": "open",
                "resolved_by": "",
                "resolved_at": None,
                "created_at": now,
            }
        ],
    )


def _by_shape(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    return list(shapes.values())


# --- push ---------------------------------------------------------------------------------


def push(
    local: Store,
    central: Store,
    *,
    batch_size: int = PUSH_BATCH,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
    schema_version: int = SCHEMA_VERSION,
) -> PushReport:
    total = outbox_waiting(local)
    pushed = rejected = batches = 0
    progress("push", 0, total)
    acked = _last_acked(local)
    # Two helpers keep the central connection busy: the next batch is read from the outbox (its
    # own read-only connection) while the central store applies this one, and a batch's local
    # acknowledgement is committed while the central store applies the next. A batch leaves the
    # outbox only after the central store committed it, and acknowledgements commit one by one
    # in batch order; a crash in between leaves the later batches in the outbox, pushed again and
    # answered from the central ledger. Each acknowledgement still sees the later batches'
    # entries as waiting (it leaves their rows alone), as it did when it ran before them.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-read") as reader,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-ack") as acker,
    ):
        ack: Future[None] | None = None
        size = min(batch_size, FIRST_BATCH)
        try:
            if cancel():
                raise SyncCancelled()
            entries = read_outbox(local, size)
            while entries:
                if entries[0].seq <= acked:
                    raise OutboxSequenceReused(f"outbox seq {entries[0].seq} <= acknowledged {acked}")
                size = min(batch_size, size * 2)
                ahead = reader.submit(read_outbox, local, size, entries[-1].seq)
                result = central_side.apply_push(
                    central, local.device_id, entries, schema_version=schema_version
                )
                faults.point("push.after_central_commit")
                if ack is not None:
                    ack.result()  # the previous batch's acknowledgement is committed
                    faults.point("push.after_local_commit")
                ack = acker.submit(_acknowledge, local, central, entries, result)
                acked = entries[-1].seq
                pushed += len(entries)
                rejected += result.rejected
                batches += 1
                if cancel():
                    raise SyncCancelled()
                # nothing was waiting beyond this batch when it was read ahead: look once more
                # (after this batch's acknowledgement, which may have set rows aside)
                entries = ahead.result()
                if not entries:
                    ack.result()
                    faults.point("push.after_local_commit")
                    ack = None
                    progress("push", pushed, max(total, pushed))
                    entries = read_outbox(local, size)
                else:
                    progress("push", pushed, max(total, pushed))
        finally:
            if ack is not None:
                ack.result()  # an acknowledgement under way is finished (or its error raised)
    return PushReport(pushed, rejected, batches)


def _last_acked(local: Store) -> int:
    with _reading(local) as session:
        state = get_state(session, PUSH_KEY)
    return int(state["seq"]) if state else 0


def _needs_reset(entries: list[PushEntry], result: PushResult) -> set[uuid.UUID]:
    """Rows whose central state may differ from the local one after the batch: every row whose
    last entry was not applied exactly as sent (merged, partly or wholly rejected, replayed, or
    given another version). A row applied as sent is already equal on both sides."""
    last: dict[uuid.UUID, tuple[PushEntry, EntryResult]] = {}
    for entry, outcome in zip(entries, result.results, strict=True):
        last[entry.row_id] = (entry, outcome)
    return {
        row_id
        for row_id, (entry, outcome) in last.items()
        if outcome.replayed
        or outcome.result not in (RESULT_APPLIED, RESULT_DUPLICATE)
        or outcome.central_version != entry.version
    }


def _losing_inserts(entries: list[PushEntry], result: PushResult) -> dict[str, list[uuid.UUID]]:
    """New rows the central store refused and does not hold (by table): they are set aside."""
    out: dict[str, dict[uuid.UUID, None]] = {}
    for entry, outcome in zip(entries, result.results, strict=True):
        if (
            entry.op == "insert"
            and outcome.result == RESULT_REJECTED
            and outcome.reason != "unknown_table"
            and known_table(entry.table_name)
            and (entry.table_name, entry.row_id) not in result.rows
        ):
            out.setdefault(entry.table_name, {})[entry.row_id] = None
    return {table: list(ids) for table, ids in out.items()}


def _acknowledge(local: Store, central: Store, entries: list[PushEntry], result: PushResult) -> None:
    """In one local transaction: the batch leaves the outbox and every row it touched takes its
    central outcome. A new row the central store refused is set aside (its content is in the
    central rejection recorded here); a row not applied as sent takes the central state; a row
    the central store holds that is missing locally (a pull set it aside while its changes
    waited) is written back in its central state; and a provisional local rejection record of a
    row whose changes are now all answered is removed (the central answer replaces it)."""
    seqs = [e.seq for e in entries]
    reset = _needs_reset(entries, result)
    rows = {key: payload for key, payload in result.rows.items() if key[1] in reset}
    recorded = {key: p for key, p in result.rows.items() if key[0] == SyncRejection.__tablename__}
    losing = _losing_inserts(entries, result)
    fetch = _fetcher(central)
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        # the batch is the first entries of the outbox in seq order: exactly those in its range
        session.execute(delete(OutboxEntry).where(OutboxEntry.seq >= min(seqs), OutboxEntry.seq <= max(seqs)))
        touched: dict[str, dict[uuid.UUID, None]] = {}
        for entry in entries:
            if known_table(entry.table_name):
                touched.setdefault(entry.table_name, {})[entry.row_id] = None
        # a row can be missing locally only if a pull set it aside, which left a provisional record
        displaced = _drop_provisional(session, local, {table: list(ids) for table, ids in touched.items()})
        for table_name, ids in losing.items():
            set_aside(session, local, table_name, ids)
        apply_rows(session, ((table, payload) for (table, _rid), payload in recorded.items()))
        apply_rows(
            session,
            ((table, payload) for (table, _rid), payload in rows.items()),
            force=True,
            local=local,
            fetch=fetch,
        )
        for table_name, row_ids in touched.items() if displaced else ():
            gone = set(losing.get(table_name, ()))
            wanted = [rid for rid in row_ids if rid not in gone and (table_name, rid) not in rows]
            present = _local_versions(session, synced_table(table_name), wanted)
            missing = [rid for rid in wanted if rid not in present]
            if missing:
                states = [(table_name, p) for p in fetch(table_name, missing).values()]
                apply_rows(session, states, force=True, local=local, fetch=fetch)
        last = max(seqs)
        put_state(session, PUSH_KEY, {"seq": last, "at": dt.datetime.now(dt.UTC).isoformat()})
        uow.commit()


def _fetcher(central: Store) -> Fetch:
    def fetch(table_name: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        return central_side.read_rows(central, table_name, ids)

    return fetch


def _drop_provisional(session: Session, local: Store, touched: dict[str, list[uuid.UUID]]) -> bool:
    """Remove the local rejection records (made when a pull set a row aside while its changes
    waited) of rows whose changes have all been answered by the central store (``touched``: the
    rows of the batch just acknowledged, which has already left the outbox). Returns whether
    any provisional record (open or not) exists: only then can a row be missing locally."""
    provisional = (SyncRejection.origin == local.device_id, SyncRejection.entry_seq == 0)
    if session.execute(select(SyncRejection.id).where(*provisional).limit(1)).first() is None:
        return False  # the usual case: no row was set aside by a pull
    waiting = _pending(session, (rid for ids in touched.values() for rid in ids))
    settled = {table: [rid for rid in ids if rid not in waiting] for table, ids in touched.items()}
    for table_name, ids in settled.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            session.execute(
                delete(SyncRejection).where(
                    *provisional,
                    SyncRejection.status == "open",
                    SyncRejection.table_name == table_name,
                    SyncRejection.row_id.in_(chunk),
                )
            )
    return True


# --- pull ---------------------------------------------------------------------------------


class OutboxSequenceReused(RuntimeError):
    """A bug guard: an outbox number at or below one already acknowledged would be taken for a
    replay by the central ledger and silently dropped."""


class CursorWentBack(RuntimeError):
    """A bug guard: the pull cursor must never move backwards."""


def _set_cursor(session: Session, old: int, new: int) -> None:
    if new < old:
        raise CursorWentBack(f"pull cursor would go back from {old} to {new}")
    put_state(session, CURSOR_KEY, {"cursor": new, "at": dt.datetime.now(dt.UTC).isoformat()})


def pull(
    local: Store,
    central: Store,
    *,
    page_size: int = PULL_PAGE,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
) -> PullReport:
    received = applied = 0
    snapshot = False
    position = cursor(local)
    # the first page is small (nothing to overlap its fetch with) and each next one twice as
    # large, up to ``page_size``
    size = min(page_size, FIRST_PAGE)
    # the next page is fetched from the central store (numbered and built there; this thread only
    # waits) while this one is applied locally; it starts right after this page's cursor, which
    # this page's commit sets. It is parsed here, after this page is committed.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-read") as reader:
        ahead: Future[ChangePage | central_side.PageText] | None = None
        while True:
            if cancel():
                raise SyncCancelled()
            if ahead is not None:
                fetched = ahead.result()
            else:
                fetched = central_side.fetch_changes(central, position, size)
            ahead = None
            page = central_side.open_page(fetched)
            if page.snapshot_required:
                applied += _apply_snapshot(local, central, position)
                snapshot = True
                position = cursor(local)
                continue
            if not page.changes:
                break
            size = min(page_size, size * 2)
            ahead = reader.submit(central_side.fetch_changes, central, page.cursor, size)
            applied += _apply_page(local, position, page.changes, page.cursor, _fetcher(central))
            faults.point("pull.after_local_commit")
            received += len(page.changes)
            position = page.cursor
            progress("pull", received, received + max(0, page.high_water - position))
    return PullReport(received, applied, position, snapshot)


def first_pull(
    local: Store,
    central: Store,
    *,
    page_size: int = PULL_PAGE,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
) -> PullReport:
    """The first pull of a workstation (cursor 0) starts from a snapshot — every synced row as of
    one moment, also what a central store seeded before it kept a change log holds — and then
    pulls the log after it; a workstation that has pulled before just pulls."""
    if cursor(local) > 0:
        return pull(local, central, page_size=page_size, progress=progress, cancel=cancel)
    applied = _apply_snapshot(local, central, 0)
    rest = pull(local, central, page_size=page_size, progress=progress, cancel=cancel)
    return PullReport(rest.received, applied + rest.applied, rest.cursor, True)


def _apply_page(local: Store, old: int, changes: Iterable[Change], new: int, fetch: Fetch) -> int:
    # a change-log entry's row id is its payload's id: it needs no second parse
    items = [(c.table_name, c.row_id, c.payload) for c in changes]
    half = len(items) // 2
    with no_cycle_collection(), local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        count = _apply_keyed(session, items[:half], local=local, fetch=fetch)
        faults.point("pull.mid_page")
        count += _apply_keyed(session, items[half:], local=local, fetch=fetch)
        _set_cursor(session, old, new)
        uow.commit()
    return count


def _apply_snapshot(local: Store, central: Store, old: int) -> int:
    snap = central_side.read_snapshot(central)
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        items = [(table, payload) for table, rows in snap.rows.items() for payload in rows]
        count = apply_rows(session, items, local=local, fetch=_fetcher(central))
        _set_cursor(session, old, max(old, snap.high_water))
        uow.commit()
    return count


# --- one round ----------------------------------------------------------------------------


def sync_round(
    local: Store,
    central: Store,
    *,
    batch_size: int = PUSH_BATCH,
    page_size: int = PULL_PAGE,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
    schema_version: int = SCHEMA_VERSION,
) -> RoundReport:
    """Push everything waiting, then pull everything new, then tell the central store how this
    workstation stands. Raises UpgradeRequired (outbox untouched) when this program is too old."""
    started = dt.datetime.now(dt.UTC)
    info = central_side.server_info(central)
    central_side.check_schema(schema_version, info.schema_version)
    skew_ms = int((started - info.server_time).total_seconds() * 1000)
    pushed = push(
        local, central, batch_size=batch_size, progress=progress, cancel=cancel, schema_version=schema_version
    )
    pulled = pull(local, central, page_size=page_size, progress=progress, cancel=cancel)
    waiting = outbox_waiting(local)
    central_side.report_device(
        central,
        local.device_id,
        cursor=pulled.cursor,
        last_pull_at=dt.datetime.now(dt.UTC),
        outbox_waiting=waiting,
        clock_skew_ms=skew_ms,
        schema_version=schema_version,
    )
    return RoundReport(pushed, pulled, waiting, skew_ms, started, dt.datetime.now(dt.UTC))
