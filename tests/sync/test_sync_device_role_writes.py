"""A registered workstation works on the central store with its own least-privilege role, not as
the database owner: everything it does there while online must be within that role's rights.

Driven as the device role made by ``create_device_role``: a kiosk ticket, call next, start,
recall and finish (the one-statement press functions), a block of document numbers reserved, and
a pushed applicant (whose search keys a trigger writes in the same transaction). A role made by
an earlier release without the queue's and numbering's rights gets them back from
``central init``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app.documents import numbers
from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine
from clerk_app.store.models import Hall
from clerk_app.store.models.cases import Applicant
from clerk_app.store.uow import Store
from clerk_app.sync import client
from clerk_app.sync.central_admin import create_device_role, init_central

pytestmark = pytest.mark.postgres


def _as_device(pg_url: str, owner: Store) -> tuple[Store, str]:
    """The central store as a workstation of every hall there sees it, through its own role (the
    ``pg_url`` fixture drops the role with the database)."""
    with Session(owner.engine) as s:
        halls = list(s.scalars(select(Hall.id)))
    role = f"ws_{uuid.uuid4().hex[:10]}"
    create_device_role(pg_url, role, "s3cret", halls)
    url = make_url(pg_url).set(username=role, password="s3cret").render_as_string(hide_password=False)
    return Store(make_engine(url), owner.device_id, role="central"), role


@pytest.fixture
def role_store(pg_url: str) -> Iterator[tuple[Store, Store, str]]:
    """(the central store as its owner, the same as a workstation's role, the role name)"""
    owner = open_store(pg_url, kind="central")
    seed_demo_queue(owner)
    device, role = _as_device(pg_url, owner)
    yield owner, device, role
    device.dispose()
    owner.dispose()


def _clerk(window: int) -> UserSession:
    return UserSession(uuid.UUID(int=window), f"c{window}", f"窗口{window}", Role.CLERK, window, "")


def _serve_one(svc: QueueService) -> None:
    issued = svc.issue("A").ticket
    who = _clerk(3)
    called = svc.call_next(who, uuid.uuid4().hex)
    assert called is not None and called.id == issued.id
    assert svc._claim_fn  # the one-statement path, not a fallback
    svc.recall(who, called.id, uuid.uuid4().hex)
    svc.start(who, called.id, uuid.uuid4().hex)
    done = svc.finish(who, called.id, uuid.uuid4().hex)
    assert done is not None and done.state == "done"
    assert svc._press_fn


def test_the_queue_numbers_and_a_push_work_as_the_device_role(
    role_store: tuple[Store, Store, str], tmp_path: Path
) -> None:
    owner, device, role = role_store
    with device.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == role
    _serve_one(QueueService(device))

    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'ws.sqlite'}")
    assert numbers.refill(local, device, "acceptance_notice", 2026) > 0

    with local.unit_of_work() as uow:
        applicant = Applicant(kind="person", id_type="ID", id_number="150102199001011234", name="申请人")
        uow.session.add(applicant)
        uow.commit()
    report = client.push(local, device)
    assert report.pushed == 1 and client.outbox_waiting(local) == 0
    with Session(owner.engine) as s:
        assert s.get(Applicant, applicant.id) is not None
        keys = s.scalar(
            text("SELECT count(*) FROM case_search_keys WHERE applicant_id = :a"), {"a": applicant.id}
        )
        assert keys and keys > 0
        rejected = s.scalar(text("SELECT count(*) FROM sync_push_ledger WHERE result <> 'applied'"))
        assert rejected == 0
    local.dispose()


def test_central_init_gives_an_older_role_the_rights_it_lacks(
    role_store: tuple[Store, Store, str], pg_url: str
) -> None:
    owner, device, role = role_store
    with owner.engine.begin() as conn:  # as a role made before the queue ran on the central store
        for table in ("queue_counters", "queue_requests", "queue_window_states", "number_series"):
            conn.execute(text(f'REVOKE INSERT, UPDATE ON "{table}" FROM "{role}"'))
    with pytest.raises(Exception, match="permission denied"):
        QueueService(device).issue("A")
    init_central(pg_url)
    _serve_one(QueueService(device))
    with Session(owner.engine) as s:
        assert s.scalar(select(func.count()).select_from(Applicant)) == 0


def test_a_days_work_at_the_counter_pushes_without_refusal_as_the_device_role(
    pg_url: str, tmp_path: Path
) -> None:
    """Three working days of the demo hall's counter work (tickets, cases with their events and
    materials, documents, ratings, complaints and their follow-ups, audit) made on a workstation
    and pushed with its own role: the central store refuses none of it."""
    from clerk_app.services.demo import ensure_demo
    from clerk_app.services.supervision_demo import seed_supervision_history

    owner = open_store(pg_url, kind="central")
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'ws.sqlite'}")
    ensure_demo(owner, local)
    device, _role = _as_device(pg_url, owner)
    try:
        rated = seed_supervision_history(local, central=owner, days=3)
        waiting = client.outbox_waiting(local)
        assert rated > 0 and waiting > 100
        report = client.push(local, device, batch_size=200)
        with local.engine.connect() as conn:
            refused = conn.execute(text("SELECT table_name, reason FROM sync_rejections")).all()
        assert refused == [] and report.rejected == 0
        assert report.pushed == waiting and client.outbox_waiting(local) == 0
    finally:
        device.dispose()
        local.dispose()
        owner.dispose()
