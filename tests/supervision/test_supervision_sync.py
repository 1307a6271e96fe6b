"""Ratings, rectifications and the 办不成事 ledger travel between workstations through the central
store (central on SQLite and on PostgreSQL, workstations on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from supervision_helpers import session_for

from clerk_app.services.complaints import ComplaintService, Complexity, Status
from clerk_app.services.demo import copy_reference, seed_central
from clerk_app.services.errors import UserError
from clerk_app.services.ratings import Cause, Level, RatingInput, RatingService
from clerk_app.services.runtime import Runtime, open_store
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import SyncRejection
from clerk_app.store.models.supervision import Rating, RectificationEvent
from clerk_app.store.uow import Store
from clerk_app.sync import client


@pytest.fixture
def central(db_url: str) -> Iterator[Store]:
    store = open_store(db_url, kind="central")
    seed_central(store)
    yield store
    store.dispose()


def _workstation(tmp_path: Path, name: str, central: Store) -> Runtime:
    paths = resolve_paths(tmp_path / name).ensure()
    local = open_store(sqlite_url(paths.local_store))
    copy_reference(central, local)
    return Runtime(paths, Settings(), local, central, "central")


@pytest.fixture
def pair(tmp_path: Path, central: Store) -> Iterator[tuple[Runtime, Runtime]]:
    a, b = _workstation(tmp_path, "a", central), _workstation(tmp_path, "b", central)
    yield a, b
    a.local.dispose()
    b.local.dispose()


def _count(store: Store, model: type) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_bad_rating_at_one_window_is_rectified_at_another(
    pair: tuple[Runtime, Runtime], central: Store
) -> None:
    a, b = pair
    clerk = session_for(a, "wangxy", 3)
    rect = (
        RatingService(a)
        .record(clerk, RatingInput("ticket:S1", Level.VERY_DISSATISFIED, comment="太慢"))
        .rectification
    )
    assert rect is not None
    client.sync_round(a.local, central)
    client.sync_round(b.local, central)
    supervisor = session_for(b, "chenjing", None)
    ratings_b = RatingService(b)
    (seen,) = ratings_b.rectifications(supervisor)
    assert seen.id == rect.id and seen.comment == "太慢" and seen.due_date == rect.due_date
    with pytest.raises(UserError, match="只能评价一次"):  # one rating per service, hall-wide
        ratings_b.record(session_for(b, "lijg", 4), RatingInput("ticket:S1", Level.SATISFIED))
    ratings_b.record_follow_up(supervisor, rect.id, reached=True, note="已致歉")
    ratings_b.record_cause(supervisor, rect.id, cause=Cause.EFFICIENCY, action="增开窗口")
    ratings_b.close(supervisor, rect.id)
    report = client.sync_round(b.local, central)
    assert report.push.rejected == 0
    client.sync_round(a.local, central)
    _detail, events = RatingService(a).rectification(session_for(a, "chenjing", None), rect.id)
    assert _detail.closed and _detail.closed_by == "陈静"
    assert [e.kind for e in events] == ["opened", "follow_up", "rectified", "closed"]
    assert _count(central, RectificationEvent) == 4 and _count(central, Rating) == 1


def test_ledger_case_registered_at_a_window_is_handled_by_the_supervisor_elsewhere(
    pair: tuple[Runtime, Runtime], central: Store
) -> None:
    a, b = pair
    case = ComplaintService(a).ask_for_supervisor(session_for(a, "wangxy", 3), "ticket:S2")
    client.sync_round(a.local, central)
    client.sync_round(b.local, central)
    supervisor = session_for(b, "chenjing", None)
    service_b = ComplaintService(b)
    service_b.hand_over(supervisor, case.id, department="税务局", complexity=Complexity.SIMPLE)
    service_b.resolve(supervisor, case.id, "当场解决")
    assert client.sync_round(b.local, central).push.rejected == 0
    client.sync_round(a.local, central)
    view, events = ComplaintService(a).get(session_for(a, "chenjing", None), case.id)
    assert view.status is Status.RESOLVED and view.handover_department == "税务局"
    assert [e.kind for e in events] == ["registered", "handed_over", "resolved"]


def test_same_service_rated_on_two_offline_workstations_first_push_wins(
    pair: tuple[Runtime, Runtime], central: Store
) -> None:
    a, b = pair
    RatingService(a).record(session_for(a, "wangxy", 3), RatingInput("ticket:S3", Level.SATISFIED))
    RatingService(b).record(session_for(b, "lijg", 4), RatingInput("ticket:S3", Level.DISSATISFIED))
    client.sync_round(a.local, central)
    report = client.push(b.local, central)
    # the central unique key refuses the second rating of the service, and with it its
    # rectification and event: kept as rejections, nothing applied twice
    assert (report.pushed, report.rejected) == (3, 3)
    with central.unit_of_work() as uow:
        levels = uow.session.scalars(select(Rating.level).where(Rating.service_ref == "ticket:S3")).all()
        rejected = uow.session.scalars(select(SyncRejection.table_name)).all()
    assert levels == ["满意"]
    assert sorted(rejected) == ["ratings", "rectification_events", "rectifications"]
