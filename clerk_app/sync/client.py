"""The workstation side of sync: push the outbox, pull the change log, one round of both.

- **Push** reads the outbox in device order, in batches; the central store applies a batch in one
  transaction (``clerk_app.sync.central.apply_push``); only then, in one local transaction, the
  acknowledged entries leave the outbox and every row with nothing more waiting takes the central
  state (which may be a merge, or the server's value after a conflict).
- **Pull** reads the change log after the local cursor, page by page; a page is applied with
  ``capture=False`` (no outbox entries) and the cursor advances in the same local transaction. A
  row with local changes still waiting is left alone: its push brings back the central state. A
  cursor older than the retention window gets a full snapshot.

Ordering and cursors use the central sequence only; the hybrid clock stamps are for display.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from clerk_app.store.engine import is_sqlite
from clerk_app.store.models import OutboxEntry
from clerk_app.store.state import get_state, put_state
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import faults
from clerk_app.sync.codec import known_table, synced_table, table_order
from clerk_app.sync.protocol import (
    CLOCK_SKEW_WARN_MS,
    RESULT_APPLIED,
    RESULT_DUPLICATE,
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


def apply_rows(session: Session, rows: Iterable[tuple[str, dict[str, Any]]], *, force: bool = False) -> int:
    """Write central row states into the local store: a row is written when it is newer than the
    local one (or ``force``), never when local changes of it wait in the outbox. Returns the
    number of rows written. The caller's unit of work must have ``capture=False``."""
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
        written += len(inserts) + len(updates)
    return written


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


def _acknowledge(local: Store, entries: list[PushEntry], result: PushResult) -> None:
    seqs = [e.seq for e in entries]
    reset = _needs_reset(entries, result)
    rows = {key: payload for key, payload in result.rows.items() if key[1] in reset}
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        # the batch is the first entries of the outbox in seq order: exactly those in its range
        session.execute(delete(OutboxEntry).where(OutboxEntry.seq >= min(seqs), OutboxEntry.seq <= max(seqs)))
        apply_rows(session, ((table, payload) for (table, _rid), payload in rows.items()), force=True)
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
        count = apply_rows(session, items[:half])
        faults.point("pull.mid_page")
        count += apply_rows(session, items[half:])
        _set_cursor(session, old, new)
        uow.commit()
    return count


def _apply_snapshot(local: Store, central: Store, old: int) -> int:
    snap = central_side.read_snapshot(central)
    with local.unit_of_work(capture=False) as uow:
        session = uow.session
        _defer_foreign_keys(session)
        items = [(table, payload) for table, rows in snap.rows.items() for payload in rows]
        count = apply_rows(session, items)
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
