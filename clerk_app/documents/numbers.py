"""Document numbers from per-workstation blocks (ARCHITECTURE.md "Sync protocol", issue 7 §3).

- :func:`reserve_block` runs on the central store while online: one conditional ``UPDATE`` of
  ``number_series`` advances the series by a block (so two workstations never get overlapping
  blocks, on PostgreSQL and SQLite alike) and the block is recorded in ``number_blocks``.
- :func:`refill` is what a workstation calls while online: when the free numbers of a series are
  at or below the refill threshold it reserves a block centrally and adopts it locally; blocks that
  were reserved for it but never adopted (a crash between the two commits) are adopted first.
- :func:`take_number` draws the next number inside the caller's unit of work, so the number is
  taken in the same transaction as the document record that uses it; if no block has a number
  left it raises :class:`~clerk_app.domain.numbering.BlocksExhausted` — no guessing offline.
- :func:`void_number` and :func:`void_unused` record numbers that will never be used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clerk_app.domain.numbering import (
    BlockState,
    NumberBlock,
    draw,
    needs_refill,
)
from clerk_app.domain.numbering import remaining as remaining_in
from clerk_app.store.models.documents import (
    NumberBlockCursor,
    NumberBlockRecord,
    NumberSeries,
    VoidedNumber,
)
from clerk_app.store.uow import Store, UnitOfWork


@dataclass(frozen=True, slots=True)
class NumberingSettings:
    """Block size and refill threshold (hall settings; defaults for a busy window)."""

    block_size: int = 50
    refill_threshold: int = 10


@dataclass(frozen=True, slots=True)
class ReservedBlock:
    block_id: uuid.UUID
    block: NumberBlock
    workstation: str


def _ensure_series(session: Session, doc_type: str, year: int) -> None:
    values = {"doc_type": doc_type, "year": year, "last_end": 0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql.insert(NumberSeries).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(NumberSeries).values(**values).on_conflict_do_nothing())


def reserve_block(uow: UnitOfWork, doc_type: str, year: int, size: int, workstation: str) -> ReservedBlock:
    """Reserve ``size`` numbers of the series for ``workstation`` (central store, caller commits)."""
    if size < 1:
        raise ValueError("block size must be at least 1")
    session = uow.session
    _ensure_series(session, doc_type, year)
    end = session.execute(
        update(NumberSeries)
        .where(NumberSeries.doc_type == doc_type, NumberSeries.year == year)
        .values(last_end=NumberSeries.last_end + size)
        .returning(NumberSeries.last_end)
    ).scalar_one()
    block = NumberBlock(doc_type, year, end - size + 1, end)
    record = NumberBlockRecord(
        doc_type=doc_type, year=year, start=block.start, end=block.end, workstation=workstation
    )
    session.add(record)
    session.flush()
    return ReservedBlock(record.id, block, workstation)


def adopt_block(uow: UnitOfWork, reserved: ReservedBlock) -> None:
    """Start drawing from ``reserved`` on this workstation (local store, caller commits)."""
    if uow.session.get(NumberBlockCursor, reserved.block_id) is not None:
        return
    b = reserved.block
    uow.session.add(
        NumberBlockCursor(
            block_id=reserved.block_id,
            doc_type=b.doc_type,
            year=b.year,
            start=b.start,
            end=b.end,
            next_seq=b.start,
        )
    )


def block_states(session: Session, doc_type: str, year: int) -> list[tuple[uuid.UUID, BlockState]]:
    rows = session.scalars(
        select(NumberBlockCursor).where(
            NumberBlockCursor.doc_type == doc_type, NumberBlockCursor.year == year
        )
    ).all()
    return [
        (r.block_id, BlockState(NumberBlock(r.doc_type, r.year, r.start, r.end), r.next_seq)) for r in rows
    ]


def remaining(local: Store, doc_type: str, year: int) -> int:
    """Numbers still free for the series on this workstation."""
    with local.unit_of_work() as uow:
        return remaining_in([s for _, s in block_states(uow.session, doc_type, year)], doc_type, year)


def refill(
    local: Store, central: Store, doc_type: str, year: int, settings: NumberingSettings | None = None
) -> int:
    """Top up this workstation's blocks from the central store if needed; the numbers now free."""
    chosen = settings or NumberingSettings()
    with local.unit_of_work() as uow:
        known = {block_id for block_id, _ in block_states(uow.session, doc_type, year)}
    with central.unit_of_work() as cuow:
        orphans = cuow.session.scalars(
            select(NumberBlockRecord).where(
                NumberBlockRecord.doc_type == doc_type,
                NumberBlockRecord.year == year,
                NumberBlockRecord.workstation == local.device_id,
            )
        ).all()
        missing = [
            ReservedBlock(r.id, NumberBlock(r.doc_type, r.year, r.start, r.end), r.workstation)
            for r in orphans
            if r.id not in known
        ]
    if missing:
        with local.unit_of_work() as uow:
            for reserved in missing:
                adopt_block(uow, reserved)
            uow.commit()
    with local.unit_of_work() as uow:
        states = [s for _, s in block_states(uow.session, doc_type, year)]
    if needs_refill(states, doc_type, year, chosen.refill_threshold):
        with central.unit_of_work() as cuow:
            reserved = reserve_block(cuow, doc_type, year, chosen.block_size, local.device_id)
            cuow.commit()
        with local.unit_of_work() as uow:
            adopt_block(uow, reserved)
            uow.commit()
    return remaining(local, doc_type, year)


def take_number(uow: UnitOfWork, doc_type: str, year: int) -> int:
    """The next sequence number of the series, drawn inside ``uow`` (commit with the document).

    The cursor moves by a conditional ``UPDATE`` (``WHERE next_seq = <seen>``), so two units of
    work on one workstation can never draw the same number; the loser tries the next one.
    """
    session = uow.session
    for _attempt in range(100):
        states = block_states(session, doc_type, year)
        seq, new_state = draw([s for _, s in states], doc_type, year)
        block_id = next(bid for bid, s in states if s.block == new_state.block)
        moved = session.execute(
            update(NumberBlockCursor)
            .where(NumberBlockCursor.block_id == block_id, NumberBlockCursor.next_seq == seq)
            .values(next_seq=seq + 1)
            .returning(NumberBlockCursor.next_seq)
            .execution_options(synchronize_session=False)
        ).all()
        if len(moved) == 1:
            session.expire_all()
            return seq
        session.expire_all()
    raise RuntimeError("number cursor kept moving under us")  # pragma: no cover


def void_number(
    uow: UnitOfWork, doc_type: str, year: int, seq: int, number: str, reason: str, actor_name: str = ""
) -> None:
    """Record that ``seq`` of the series will never be used (spoiled print, cancelled document)."""
    uow.session.add(
        VoidedNumber(
            doc_type=doc_type,
            year=year,
            seq=seq,
            number=number,
            reason=reason,
            actor_name=actor_name,
            at=dt.datetime.now(dt.UTC),
        )
    )


def void_unused(uow: UnitOfWork, doc_type: str, year: int, reason: str, actor_name: str = "") -> int:
    """Void every number still free in this workstation's blocks of the series (year end,
    decommissioning a workstation); returns how many were voided."""
    count = 0
    for block_id, state in block_states(uow.session, doc_type, year):
        for seq in range(state.next_seq, state.block.end + 1):
            void_number(uow, doc_type, year, seq, "", reason, actor_name)
            count += 1
        uow.session.execute(
            update(NumberBlockCursor)
            .where(NumberBlockCursor.block_id == block_id)
            .values(next_seq=state.block.end + 1)
            .execution_options(synchronize_session=False)
        )
    return count
