"""Model-based test: three workstations and a central store under edits, inserts, insert-only
events, pushes, pulls, cut and healed networks and crashes at the named fault points.

After every step: every change a workstation made is either still in its outbox or in the central
ledger (nothing lost), no change is applied twice, cursors never go back. At the end, with the
network healed: every outbox is empty and every workstation equals the central store."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clerk_app.services.runtime import open_store
from clerk_app.store.audit import append_audit
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import ChangeLogEntry, Hall, OutboxEntry, PushLedgerEntry
from clerk_app.store.uow import Store
from clerk_app.sync import client, faults
from clerk_app.sync.codec import synced_tables

N = 3
FIELDS = ("name", "address", "contact_phone")


class Crash(Exception):
    pass


def _snapshot(store: Store) -> dict[str, set[str]]:
    """Every synced row of ``store`` as comparable text, by table."""
    out: dict[str, set[str]] = {}
    with Session(store.engine) as s:
        for info in synced_tables():
            out[info.name] = {repr(sorted(info.encode(r).items())) for r in s.execute(select(info.table))}
    return out


class SyncModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="clerk-sync-model-"))
        self.central = open_store(sqlite_url(self.dir / "central.sqlite"), kind="central")
        self.ws = [open_store(sqlite_url(self.dir / f"ws{i}.sqlite")) for i in range(N)]
        self.online = [True] * N
        self.created: list[set[int]] = [set() for _ in range(N)]  # outbox seqs ever made
        self.cursors = [0] * N
        self.codes = 0
        with self.central.unit_of_work() as uow:
            for code in ("H0", "H1"):
                uow.session.add(Hall(code=code, name=code, authority="局"))
            uow.commit()
        for store in self.ws:
            client.sync_round(store, self.central)

    def teardown(self) -> None:
        faults.set_hook(None)
        for store in self.ws:
            store.dispose()
        self.central.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- bookkeeping ---------------------------------------------------------------------

    def _note_outbox(self, i: int) -> None:
        with Session(self.ws[i].engine) as s:
            self.created[i].update(s.scalars(select(OutboxEntry.seq)))

    def _halls(self, i: int) -> list[uuid.UUID]:
        with Session(self.ws[i].engine) as s:
            return list(s.scalars(select(Hall.id).order_by(Hall.code)))

    # --- rules ---------------------------------------------------------------------------

    @rule(
        i=st.integers(0, N - 1),
        pick=st.integers(0, 50),
        field=st.sampled_from(FIELDS),
        value=st.text("甲乙丙丁", min_size=1, max_size=3),
    )
    def edit(self, i: int, pick: int, field: str, value: str) -> None:
        halls = self._halls(i)
        with self.ws[i].unit_of_work() as uow:
            hall = uow.session.get(Hall, halls[pick % len(halls)])
            assert hall is not None
            setattr(hall, field, value)
            uow.commit()
        self._note_outbox(i)

    @rule(i=st.integers(0, N - 1))
    def add_hall(self, i: int) -> None:
        self.codes += 1
        with self.ws[i].unit_of_work() as uow:
            uow.session.add(Hall(code=f"W{i}-{self.codes}", name="新大厅", authority="局"))
            uow.commit()
        self._note_outbox(i)

    @rule(i=st.integers(0, N - 1), action=st.sampled_from(["case.accept", "number.print"]))
    def record_event(self, i: int, action: str) -> None:
        with self.ws[i].unit_of_work() as uow:
            append_audit(uow.session, self.ws[i].device_id, action, actor_name="窗口")
            uow.commit()
        self._note_outbox(i)

    @precondition(lambda self: any(self.online))
    @rule(i=st.integers(0, N - 1), batch=st.integers(1, 4))
    def push(self, i: int, batch: int) -> None:
        if self.online[i]:
            client.push(self.ws[i], self.central, batch_size=batch)

    @rule(i=st.integers(0, N - 1), page=st.integers(1, 5))
    def pull(self, i: int, page: int) -> None:
        if self.online[i]:
            client.pull(self.ws[i], self.central, page_size=page)

    @rule(i=st.integers(0, N - 1))
    def cut(self, i: int) -> None:
        self.online[i] = False

    @rule(i=st.integers(0, N - 1))
    def heal(self, i: int) -> None:
        self.online[i] = True

    @rule(i=st.integers(0, N - 1), point=st.sampled_from(faults.POINTS))
    def crash(self, i: int, point: str) -> None:
        if not self.online[i]:
            return

        def boom(name: str) -> None:
            if name == point:
                raise Crash(name)

        faults.set_hook(boom)
        try:
            client.sync_round(self.ws[i], self.central, batch_size=2, page_size=2)
        except Crash:
            pass
        finally:
            faults.set_hook(None)
        path = self.dir / f"ws{i}.sqlite"
        self.ws[i].dispose()
        self.ws[i] = open_store(sqlite_url(path))  # restarted on the same file

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def nothing_lost_nothing_doubled(self) -> None:
        with Session(self.central.engine) as s:
            log_pairs = s.execute(select(ChangeLogEntry.row_id, ChangeLogEntry.version)).all()
            assert len(log_pairs) == len(set(log_pairs))
            for i, store in enumerate(self.ws):
                ledger = set(
                    s.scalars(select(PushLedgerEntry.seq).where(PushLedgerEntry.device_id == store.device_id))
                )
                logged = (
                    s.scalar(
                        select(func.count())
                        .select_from(ChangeLogEntry)
                        .where(ChangeLogEntry.source == store.device_id)
                    )
                    or 0
                )
                assert logged <= len(ledger)
                with Session(store.engine) as local:
                    waiting = set(local.scalars(select(OutboxEntry.seq)))
                assert self.created[i] <= ledger | waiting, "an acknowledged change is gone"

    @invariant()
    def cursors_never_go_back(self) -> None:
        for i, store in enumerate(self.ws):
            now = client.cursor(store)
            assert now >= self.cursors[i]
            self.cursors[i] = now

    def check_converged(self) -> None:
        self.online = [True] * N
        for _ in range(2):
            for store in self.ws:
                client.sync_round(store, self.central)
        central = _snapshot(self.central)
        for store in self.ws:
            assert client.outbox_waiting(store) == 0
            assert _snapshot(store) == central


class ConvergingModel(SyncModel):
    def teardown(self) -> None:
        try:
            self.check_converged()
        finally:
            super().teardown()


ConvergingModel.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_sync_model = ConvergingModel.TestCase
