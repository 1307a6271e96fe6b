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
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, UniqueConstraint, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clerk_app.store.engine import is_sqlite
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
    EntryResult,
    PushEntry,
    PushResult,
    SyncCancelled,
)

CURSOR_KEY = "pull"
PUSH_KEY = "push"
CHUNK = 500

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


def outbox_waiting(local: Store) -> int:
    with Session(local.engine) as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


def cursor(local: Store) -> int:
    with Session(local.engine) as session:
        state = get_state(session, CURSOR_KEY)
    return int(state["cursor"]) if state else 0


def read_outbox(local: Store, limit: int) -> list[PushEntry]:
    with local.engine.connect() as conn:
        c = OutboxEntry.__table__.c
        columns = (c.seq, c.table_name, c.row_id, c.op, c.base_version, c.version, c.changed, c.payload)
        rows = conn.execute(select(*columns).order_by(c.seq).limit(limit)).all()
        return [
            PushEntry(
                r.seq,
                r.table_name,
                r.row_id,
                r.op,
                r.base_version,
                r.version,
                tuple(r.changed),
                dict(r.payload),
            )
            for r in rows
        ]


# --- applying rows locally ----------------------------------------------------------------


def _pending(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
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


def apply_rows(
    session: Session,
    rows: Iterable[tuple[str, dict[str, Any]]],
    *,
    force: bool = False,
    local: Store | None = None,
) -> int:
    """Write central row states into the local store: a row is written when it is newer than the
    local one (or ``force``), never when local changes of it wait in the outbox. Returns the
    number of rows written. The caller's unit of work must have ``capture=False``.

    With ``local`` (the store ``session`` belongs to), a row that meets a local row of another id
    on a unique key sets that local row aside (``set_aside``, reason ``unique_conflict``) and is
    then written; without it the conflict is raised."""
    by_table: dict[str, dict[uuid.UUID, dict[str, Any]]] = {}
    for table_name, payload in rows:
        if not known_table(table_name):
            continue  # a table of a newer release: it arrives again in a snapshot after upgrade
        row_id = uuid.UUID(str(payload["id"]))
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
        local_versions: dict[uuid.UUID, int] = {}
        ids = list(candidates)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            stmt = select(info.table.c.id, info.table.c.version).where(info.table.c.id.in_(chunk))
            local_versions.update({rid: int(v) for rid, v in session.execute(stmt)})
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for rid, payload in candidates.items():
            if rid not in local_versions:
                inserts.append(info.decode(payload))
            elif force or int(payload["version"]) > local_versions[rid]:
                updates.append(info.decode(payload))
        if local is None or not _unique_keys(info.table):
            _write(session, info, inserts, updates)
        else:
            savepoint = session.begin_nested()
            try:
                _write(session, info, inserts, updates)
                savepoint.commit()
            except IntegrityError:
                savepoint.rollback()
                # one by one, updates first: an update that frees a key comes before the insert
                # that takes it in the change log, but a page writes inserts first
                for row in updates:
                    _write_resolving(session, local, info, row, insert_row=False)
                for row in inserts:
                    _write_resolving(session, local, info, row, insert_row=True)
        written += len(inserts) + len(updates)
    return written


def _write(
    session: Session, info: SyncedTable, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> None:
    for shape in _by_shape(inserts):
        session.execute(insert(info.table), shape)
    for shape in _by_shape(updates):
        columns = [c for c in shape[0] if c != "id"]
        stmt_u = (
            update(info.table)
            .where(info.table.c.id == bindparam("k_id"))
            .values({c: bindparam(f"p_{c}") for c in columns})
        )
        session.connection().execute(
            stmt_u, [{"k_id": r["id"], **{f"p_{c}": r[c] for c in columns}} for r in shape]
        )


def _write_resolving(
    session: Session, local: Store, info: SyncedTable, row: dict[str, Any], *, insert_row: bool
) -> None:
    """Write one pulled row; when a local row of another id holds one of its unique keys, set
    that row aside and write again."""
    for attempt in range(2):
        savepoint = session.begin_nested()
        try:
            _write(session, info, [row] if insert_row else [], [] if insert_row else [row])
            savepoint.commit()
            return
        except IntegrityError:
            savepoint.rollback()
            holders = _key_holders(session, info, row)
            if attempt or not holders:
                raise
            set_aside(session, local, info.name, holders, winner=row, reason=REASON_UNIQUE)


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
    batch_size: int = 500,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
    schema_version: int = SCHEMA_VERSION,
) -> PushReport:
    total = outbox_waiting(local)
    pushed = rejected = batches = 0
    progress("push", 0, total)
    acked = _last_acked(local)
    while True:
        if cancel():
            raise SyncCancelled()
        entries = read_outbox(local, batch_size)
        if not entries:
            break
        if entries[0].seq <= acked:
            raise OutboxSequenceReused(f"outbox seq {entries[0].seq} <= acknowledged {acked}")
        result = central_side.apply_push(central, local.device_id, entries, schema_version=schema_version)
        faults.point("push.after_central_commit")
        _acknowledge(local, entries, result)
        faults.point("push.after_local_commit")
        acked = entries[-1].seq
        pushed += len(entries)
        rejected += result.rejected
        batches += 1
        progress("push", pushed, max(total, pushed))
    return PushReport(pushed, rejected, batches)


def _last_acked(local: Store) -> int:
    with Session(local.engine) as session:
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


def _acknowledge(local: Store, entries: list[PushEntry], result: PushResult) -> None:
    seqs = [e.seq for e in entries]
    reset = _needs_reset(entries, result)
    rows = {key: payload for key, payload in result.rows.items() if key[1] in reset}
    recorded = {key: p for key, p in result.rows.items() if key[0] == SyncRejection.__tablename__}
    losing = _losing_inserts(entries, result)
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        # the batch is the first entries of the outbox in seq order: exactly those in its range
        session.execute(delete(OutboxEntry).where(OutboxEntry.seq >= min(seqs), OutboxEntry.seq <= max(seqs)))
        answered = {uuid.UUID(str(p["row_id"])) for p in recorded.values()}
        for table_name, ids in losing.items():
            # a local record made when a pull met this row first: the central one replaces it
            replaced = [rid for rid in ids if rid in answered]
            if replaced:
                session.execute(
                    delete(SyncRejection).where(
                        SyncRejection.origin == local.device_id,
                        SyncRejection.entry_seq == 0,
                        SyncRejection.table_name == table_name,
                        SyncRejection.row_id.in_(replaced),
                    )
                )
            set_aside(session, local, table_name, ids)
        apply_rows(session, ((table, payload) for (table, _rid), payload in recorded.items()))
        apply_rows(
            session, ((table, payload) for (table, _rid), payload in rows.items()), force=True, local=local
        )
        last = max(seqs)
        put_state(session, PUSH_KEY, {"seq": last, "at": dt.datetime.now(dt.UTC).isoformat()})
        uow.commit()


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
    page_size: int = 1000,
    progress: Progress = _no_progress,
    cancel: Cancel = _never,
) -> PullReport:
    received = applied = 0
    snapshot = False
    position = cursor(local)
    while True:
        if cancel():
            raise SyncCancelled()
        page = central_side.read_changes(central, position, page_size)
        if page.snapshot_required:
            applied += _apply_snapshot(local, central, position)
            snapshot = True
            position = cursor(local)
            continue
        if not page.changes:
            break
        applied += _apply_page(local, position, page.changes, page.cursor)
        faults.point("pull.after_local_commit")
        received += len(page.changes)
        position = page.cursor
        progress("pull", received, received + max(0, page.high_water - position))
    return PullReport(received, applied, position, snapshot)


def first_pull(
    local: Store,
    central: Store,
    *,
    page_size: int = 1000,
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


def _apply_page(local: Store, old: int, changes: Iterable[Change], new: int) -> int:
    items = [(c.table_name, c.payload) for c in changes]
    half = len(items) // 2
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        count = apply_rows(session, items[:half], local=local)
        faults.point("pull.mid_page")
        count += apply_rows(session, items[half:], local=local)
        _set_cursor(session, old, new)
        uow.commit()
    return count


def _apply_snapshot(local: Store, central: Store, old: int) -> int:
    snap = central_side.read_snapshot(central)
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        items = [(table, payload) for table, rows in snap.rows.items() for payload in rows]
        count = apply_rows(session, items, local=local)
        _set_cursor(session, old, max(old, snap.high_water))
        uow.commit()
    return count


# --- one round ----------------------------------------------------------------------------


def sync_round(
    local: Store,
    central: Store,
    *,
    batch_size: int = 500,
    page_size: int = 1000,
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
