"""Model-based test: three workstations and a central store (PostgreSQL, and SQLite) under hall
edits, accepted and completed cases, printed queue numbers, pushes, pulls, cut and healed networks
and crashes at every named fault point.

After every step: every change a workstation made is either still in its outbox or in the central
ledger, and every acknowledged new record is in the central store (no acknowledged write lost); no
pushed change is logged centrally more often than the ledger says it was processed, and no row
version is logged twice (nothing applied twice); cursors never go back. At the end, with the
network healed: every outbox is empty and every workstation equals the central store.

Each example gets a fresh central database, cloned from a migrated template (PostgreSQL:
``CREATE DATABASE … TEMPLATE``; SQLite: a file copy), and fresh workstation files. The number of
examples and steps comes from a hypothesis profile: ``CLERK_SYNC_MODEL_PROFILE=sync-model``
(default, for every test run) or ``sync-model-thorough`` (many more, for a night run).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app.domain.case_states import CaseEvent, CaseState
from clerk_app.domain.halltime import hall_now
from clerk_app.domain.ticket_states import TicketState
from clerk_app.services.runtime import open_store
from clerk_app.store import migrate
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import (
    ChangeLogEntry,
    Hall,
    OutboxEntry,
    PushLedgerEntry,
)
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import client, faults
from clerk_app.sync.codec import synced_tables
from clerk_app.sync.protocol import RESULT_APPLIED, RESULT_DUPLICATE, RESULT_MERGED, RESULT_PARTIAL

N = 3
HALL_FIELDS = ("name", "address", "contact_phone")
CASE_FIELDS = ("agent_phone", "delivery_address")
#: ledger results after which the pushed row is in the central store
KEPT = (RESULT_APPLIED, RESULT_MERGED, RESULT_PARTIAL, RESULT_DUPLICATE)

_COMMON = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("sync-model", _COMMON, max_examples=5, stateful_step_count=30)
settings.register_profile("sync-model-thorough", _COMMON, max_examples=100, stateful_step_count=60)
MODEL_SETTINGS = settings.get_profile(os.environ.get("CLERK_SYNC_MODEL_PROFILE", "sync-model"))


class Crash(Exception):
    pass


def _snapshot(store: Store) -> dict[str, set[str]]:
    """Every synced row of ``store`` as comparable text, by table."""
    out: dict[str, set[str]] = {}
    with Session(store.engine) as s:
        for info in synced_tables():
            out[info.name] = {repr(sorted(info.encode(r).items())) for r in s.execute(select(info.table))}
    return out


def _seed_central(url: str) -> None:
    """A migrated central store with two halls: the template every example starts from."""
    store = open_store(url, kind="central")
    try:
        with store.unit_of_work() as uow:
            for code in ("H0", "H1"):
                uow.session.add(Hall(code=code, name=code, authority="局"))
            uow.commit()
    finally:
        store.dispose()


# --- fresh stores per example ---------------------------------------------------------------


class Centrals:
    """Hands out a fresh central store per example, cloned from one migrated template."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def new(self) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteCentrals(Centrals):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.template = folder / "central-template.sqlite"
        _seed_central(sqlite_url(self.template))

    def new(self) -> str:
        self.count += 1
        path = self.folder / f"central-{self.count}.sqlite"
        shutil.copyfile(self.template, path)
        return sqlite_url(path)

    def drop(self, url: str) -> None:
        Path(str(make_url(url).database)).unlink(missing_ok=True)


class PostgresCentrals(Centrals):
    """``CREATE DATABASE … TEMPLATE`` per example (a fraction of a second); the databases are
    dropped on a background thread so that the next example does not wait for it."""

    def __init__(self, folder: Path, server: str) -> None:
        super().__init__(folder)
        self.server = server
        self.prefix = f"clerk_t_model_{uuid.uuid4().hex[:8]}"
        self.template = self.prefix + "_tpl"
        self._admin(f'CREATE DATABASE "{self.template}"')
        _seed_central(self._url(self.template))
        self._dropper = ThreadPoolExecutor(max_workers=1)
        self._drops: list[Future[None]] = []

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql)

    def _url(self, name: str) -> str:
        return make_url(self.server).set(database=name).render_as_string(hide_password=False)

    def new(self) -> str:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        self._drops.append(self._dropper.submit(self._admin, sql))

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        for done in self._drops:
            done.result()
        self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


def _workstation_template(folder: Path) -> Path:
    """A migrated workstation file without a device id (each copy makes its own at first open)."""
    path = folder / "ws-template.sqlite"
    engine = make_engine(sqlite_url(path))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return path


# --- the model ------------------------------------------------------------------------------


class SyncModel(RuleBasedStateMachine):
    centrals: Centrals
    ws_template: Path

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="clerk-sync-model-"))
        self.central_url = self.centrals.new()
        self.central = open_store(self.central_url, kind="central")
        self.ws: list[Store] = []
        for i in range(N):
            shutil.copyfile(self.ws_template, self._ws_path(i))
            self.ws.append(open_store(sqlite_url(self._ws_path(i))))
        self.online = [True] * N
        self.created: list[set[int]] = [set() for _ in range(N)]  # outbox seqs ever made
        #: new records made on each workstation: (table, row id)
        self.records: list[set[tuple[str, uuid.UUID]]] = [set() for _ in range(N)]
        self.cursors = [0] * N
        self.serial = 0
        for store in self.ws:
            client.sync_round(store, self.central)

    def _ws_path(self, i: int) -> Path:
        return self.dir / f"ws{i}.sqlite"

    def teardown(self) -> None:
        faults.set_hook(None)
        for store in self.ws:
            store.dispose()
        self.central.dispose()
        self.centrals.drop(self.central_url)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- bookkeeping ---------------------------------------------------------------------

    def _note_outbox(self, i: int) -> None:
        with Session(self.ws[i].engine) as s:
            self.created[i].update(s.scalars(select(OutboxEntry.seq)))

    def _ids(self, i: int, model: type, *where: ColumnElement[bool]) -> list[uuid.UUID]:
        with Session(self.ws[i].engine) as s:
            stmt = select(model.id).where(*where).order_by(model.id)  # type: ignore[attr-defined]
            return list(s.scalars(stmt))

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    # --- rules: work at the counter --------------------------------------------------------

    @rule(
        i=st.integers(0, N - 1),
        pick=st.integers(0, 50),
        field=st.sampled_from(HALL_FIELDS),
        value=st.text("甲乙丙丁", min_size=1, max_size=3),
    )
    def edit_hall(self, i: int, pick: int, field: str, value: str) -> None:
        halls = self._ids(i, Hall)
        with self.ws[i].unit_of_work() as uow:
            hall = uow.session.get(Hall, halls[pick % len(halls)])
            assert hall is not None
            setattr(hall, field, value)
            uow.commit()
        self._note_outbox(i)

    @rule(i=st.integers(0, N - 1), mail=st.booleans())
    def accept_case(self, i: int, mail: bool) -> None:
        """收件并受理: the applicant, the case and its status event in one unit of work."""
        n = self._next()
        now = hall_now()
        with self.ws[i].unit_of_work() as uow:
            applicant = Applicant(kind="person", id_type="ID", id_number=f"1501{n:014d}", name="申请人")
            uow.session.add(applicant)
            uow.session.flush()
            case = Case(
                case_number=f"W{i}-{n:05d}",
                applicant_id=applicant.id,
                status=CaseState.ACCEPTED.value,
                accepted_at=now,
                clerk_id=uuid.uuid4(),
                clerk_name="窗口",
                window_number=i + 1,
                delivery="mail" if mail else "pickup",
            )
            uow.session.add(case)
            uow.session.flush()
            event = CaseEventRecord(
                case_id=case.id,
                event=CaseEvent.ACCEPT.value,
                from_state=CaseState.RECEIVED.value,
                to_state=CaseState.ACCEPTED.value,
                actor_id=case.clerk_id,
                window_number=i + 1,
            )
            uow.session.add(event)
            uow.commit()
            self.records[i].update(
                {("case_applicants", applicant.id), ("cases", case.id), ("case_events", event.id)}
            )
        self._note_outbox(i)

    @rule(
        i=st.integers(0, N - 1),
        pick=st.integers(0, 50),
        field=st.sampled_from(CASE_FIELDS),
        value=st.text("0123", min_size=1, max_size=3),
    )
    def edit_case(self, i: int, pick: int, field: str, value: str) -> None:
        cases = self._ids(i, Case)
        if not cases:
            return
        with self.ws[i].unit_of_work() as uow:
            case = uow.session.get(Case, cases[pick % len(cases)])
            assert case is not None
            setattr(case, field, value)
            uow.commit()
        self._note_outbox(i)

    @rule(i=st.integers(0, N - 1), pick=st.integers(0, 50))
    def complete_case(self, i: int, pick: int) -> None:
        """当场办结 of an accepted case (possibly one another workstation completes offline too)."""
        cases = self._ids(i, Case, Case.status == CaseState.ACCEPTED.value)
        if not cases:
            return
        with self.ws[i].unit_of_work() as uow:
            case = uow.session.get(Case, cases[pick % len(cases)])
            assert case is not None
            case.status = CaseState.APPROVED.value
            case.decided_at = hall_now()
            event = CaseEventRecord(
                case_id=case.id,
                event=CaseEvent.COMPLETE_ON_SPOT.value,
                from_state=CaseState.ACCEPTED.value,
                to_state=CaseState.APPROVED.value,
                actor_id=case.clerk_id,
                window_number=i + 1,
            )
            uow.session.add(event)
            uow.commit()
            self.records[i].add(("case_events", event.id))
        self._note_outbox(i)

    @rule(i=st.integers(0, N - 1), priority=st.booleans())
    def print_number(self, i: int, priority: bool) -> None:
        """取号 offline: the ticket and its history entry."""
        n = self._next()
        day = hall_now().date()
        with self.ws[i].unit_of_work() as uow:
            ticket = Ticket(
                service_day=day,
                number=f"W{i}{n:04d}",
                seq=n,
                category="A",
                priority=priority,
                offline=True,
                issued_by=self.ws[i].device_id,
                issued_at=dt.datetime.now(dt.UTC),
            )
            uow.session.add(ticket)
            uow.session.flush()
            event = TicketEvent(ticket_id=ticket.id, event="issue", to_state=TicketState.ISSUED.value)
            uow.session.add(event)
            uow.commit()
            self.records[i].update({("queue_tickets", ticket.id), ("queue_ticket_events", event.id)})
        self._note_outbox(i)

    # --- rules: sync and faults ------------------------------------------------------------

    @precondition(lambda self: any(self.online))
    @rule(i=st.integers(0, N - 1), batch=st.integers(1, 4))
    def push(self, i: int, batch: int) -> None:
        if self.online[i]:
            report = client.push(self.ws[i], self.central, batch_size=batch)
            if report.rejected:
                event("push with rejected entries")

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

    def _waiting(self, i: int) -> int:
        return client.outbox_waiting(self.ws[i])

    def _behind(self, i: int) -> bool:
        return client.cursor(self.ws[i]) < central_side.server_info(self.central).high_water

    def _prepare_crash(self, i: int, point: str) -> int | None:
        """The online workstation (from ``i`` on) whose sync round reaches ``point``; when none
        would, the work that gets there first: a clerk's edit on ``i`` for a push point, another
        workstation's push for a pull point. None when every workstation is offline."""
        order = [k % N for k in range(i, i + N) if self.online[k % N]]
        if not order:
            return None
        if point.startswith("push."):
            found = [k for k in order if self._waiting(k)]
            if found:
                return found[0]
            self.edit_hall(order[0], i, "contact_phone", f"0471-{self._next():07d}")
            return order[0]
        found = [k for k in order if self._behind(k)]
        if found:
            return found[0]
        other = order[-1] if len(order) > 1 else order[0]
        if not self._waiting(other):
            self.edit_hall(other, i, "address", f"{self._next()}号")
        client.push(self.ws[other], self.central)
        return order[0] if self._behind(order[0]) else None

    @rule(i=st.integers(0, N - 1), point=st.sampled_from(faults.POINTS))
    def crash(self, i: int, point: str) -> None:
        """A sync round killed at ``point`` (a power cut), the workstation restarted on the same
        file."""
        chosen = self._prepare_crash(i, point)
        if chosen is None:
            event(f"crash at {point}: every workstation offline")
            return
        i = chosen

        def boom(name: str) -> None:
            if name == point:
                raise Crash(name)

        faults.set_hook(boom)
        try:
            client.sync_round(self.ws[i], self.central, batch_size=2, page_size=2)
        except Crash:
            event(f"crash at {point}")
        finally:
            faults.set_hook(None)
        self.ws[i].dispose()
        self.ws[i] = open_store(sqlite_url(self._ws_path(i)))  # restarted on the same file

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def nothing_lost_nothing_doubled(self) -> None:
        with Session(self.central.engine) as s:
            log = s.execute(
                select(ChangeLogEntry.row_id, ChangeLogEntry.version, ChangeLogEntry.source).where(
                    ChangeLogEntry.table_name != "sync_rejections"
                )
            ).all()
            ledger = s.execute(
                select(
                    PushLedgerEntry.device_id,
                    PushLedgerEntry.seq,
                    PushLedgerEntry.row_id,
                    PushLedgerEntry.result,
                )
            ).all()
            # no row version is logged twice
            versions = Counter((row_id, version) for row_id, version, _src in log)
            assert not [k for k, n in versions.items() if n > 1], "a row version was logged twice"
            # a change is logged at most once per processed ledger entry of its row
            logged = Counter((src, row_id) for row_id, _v, src in log)
            processed = Counter((device, row_id) for device, _seq, row_id, _r in ledger)
            doubled = [k for k, n in logged.items() if k[0] != self.central.device_id and n > processed[k]]
            assert not doubled, f"a pushed change was applied twice: {doubled[:3]}"
            for i, store in enumerate(self.ws):
                mine = {seq: (rid, res) for dev, seq, rid, res in ledger if dev == store.device_id}
                with Session(store.engine) as local:
                    waiting = set(local.scalars(select(OutboxEntry.seq)))
                assert self.created[i] <= mine.keys() | waiting, "an acknowledged change is gone"
                # every new record the central store acknowledged as kept is there
                kept = {row_id for row_id, result in mine.values() if result in KEPT}
                by_table: dict[str, list[uuid.UUID]] = {}
                for table, row_id in self.records[i]:
                    if row_id in kept:
                        by_table.setdefault(table, []).append(row_id)
                for info in synced_tables():
                    ids = by_table.get(info.name)
                    if ids:
                        found = set(s.scalars(select(info.table.c.id).where(info.table.c.id.in_(ids))))
                        assert found == set(ids), f"acknowledged {info.name} rows missing centrally"

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


def _run(centrals: Centrals, folder: Path) -> None:
    template = _workstation_template(folder)

    class Model(ConvergingModel):
        pass

    Model.centrals = centrals
    Model.ws_template = template
    try:
        run_state_machine_as_test(Model, settings=MODEL_SETTINGS)
    finally:
        centrals.close()


@pytest.fixture
def model_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="clerk-sync-model-tpl-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_sync_model_postgresql(pg_server: str, model_dir: Path) -> None:
    _run(PostgresCentrals(model_dir, pg_server), model_dir)


def test_sync_model_sqlite(model_dir: Path) -> None:
    _run(SqliteCentrals(model_dir), model_dir)
