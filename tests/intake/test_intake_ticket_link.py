"""The ticket being served is linked to the new case by its id through the queue service
(``QueueService.link_case``), right after the case commits; the case keeps the ticket id in its
event; a link that cannot be made leaves the case saved and says why."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from intake_helpers import _CALENDAR, _CATALOGUE, Clock, make_session
from sqlalchemy import select

from clerk_app.services.auth import UserSession
from clerk_app.services.intake import IntakeForm, IntakeService, form_from_dict, form_to_dict
from clerk_app.services.queue import QueueService, TicketView, seed_demo_queue
from clerk_app.services.runtime import open_store
from clerk_app.store.models.cases import Case, CaseEventRecord
from clerk_app.store.models.queue import Ticket
from clerk_app.store.uow import Store

Form = Callable[..., IntakeForm]


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'local.sqlite'}")
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    seed_demo_queue(central)
    seed_demo_queue(local)
    yield local, central
    local.dispose()
    central.dispose()


def _serving(queue: QueueService, who: UserSession, *, offline: bool = False) -> TicketView:
    if offline:
        queue.issue_local(who)
    else:
        queue.issue("A")
    called = queue.call_next(who, uuid.uuid4().hex)
    assert called is not None
    started = queue.start(who, called.id, uuid.uuid4().hex)
    assert started is not None and started.state == "serving"
    return started


def _service(local: Store, central: Store, clock: Clock) -> IntakeService:
    queues = {False: QueueService(central), True: QueueService(local, offline=True)}
    return IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock, tickets=queues.__getitem__)


def _case_ref(store: Store, ticket_id: uuid.UUID) -> str:
    with store.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.case_ref


@pytest.mark.parametrize("offline", [False, True], ids=["central-queue", "local-queue"])
def test_served_ticket_is_linked_to_the_case_by_id(
    hall: tuple[Store, Store], clock: Clock, complete_form: Form, offline: bool
) -> None:
    local, central = hall
    clerk = make_session()
    queue = QueueService(local, offline=True) if offline else QueueService(central)
    ticket = _serving(queue, clerk, offline=offline)
    service = _service(local, central, clock)
    form = complete_form(
        extra=(("food_category", "预包装食品销售"),),
        ticket_number=ticket.number,
        ticket_id=str(ticket.id),
        ticket_offline=offline,
    )
    assert form_from_dict(form_to_dict(form)) == form  # a parked draft keeps the link
    result = service.accept(clerk, form)
    assert result.ticket_linked and not any("排队号" in w for w in result.warnings)
    assert _case_ref(local if offline else central, ticket.id) == result.case_number
    with local.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        event = uow.session.scalars(select(CaseEventRecord)).one()
        assert case.ticket_number == ticket.number
        assert event.detail["ticket_id"] == str(ticket.id) and event.detail["ticket"] == ticket.number


def test_a_ticket_that_cannot_be_linked_leaves_the_case_saved_with_a_warning(
    hall: tuple[Store, Store], clock: Clock, complete_form: Form
) -> None:
    local, central = hall
    other_window = make_session(window=9)
    ticket = _serving(QueueService(central), other_window)  # served at window 9, not here
    service = _service(local, central, clock)
    form = complete_form(
        extra=(("food_category", "预包装食品销售"),), ticket_number=ticket.number, ticket_id=str(ticket.id)
    )
    result = service.accept(make_session(), form)
    assert not result.ticket_linked
    assert any(f"未能与排队号 {ticket.number} 关联" in w for w in result.warnings)
    assert _case_ref(central, ticket.id) == ""
    with local.unit_of_work() as uow:
        assert uow.session.scalars(select(Case)).one().case_number == result.case_number


def test_unreachable_queue_is_a_warning_not_a_failure(
    hall: tuple[Store, Store], clock: Clock, complete_form: Form
) -> None:
    local, central = hall
    clerk = make_session()
    ticket = _serving(QueueService(central), clerk)

    class Down:
        """The central store as seen with the network cable out."""

        def link_case(self, who: UserSession, ticket_id: uuid.UUID, case_ref: str) -> object:
            raise OSError("connection refused")

    service = IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock, tickets=lambda _offline: Down())
    form = complete_form(
        extra=(("food_category", "预包装食品销售"),), ticket_number=ticket.number, ticket_id=str(ticket.id)
    )
    result = service.accept(clerk, form)
    assert not result.ticket_linked
    assert any("连接不上排队系统" in w for w in result.warnings)


def test_a_malformed_ticket_id_is_a_field_problem(service: IntakeService, complete_form: Form) -> None:
    form = complete_form(extra=(("food_category", "预包装食品销售"),), ticket_id="A012")
    assert [p.field for p in service.validate(form)] == ["ticket_id"]
