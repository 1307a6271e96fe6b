"""The queue service's value types (what the GUI and other services get back) and small helpers
shared by the queue modules (``queue``, ``queue_claim``)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError, OperationalError

from clerk_app.domain import queue_order as qo
from clerk_app.domain.identifiers import IdentifierError, parse_resident_id
from clerk_app.domain.ticket_states import TicketState
from clerk_app.i18n import N_, _
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import CHINA
from clerk_app.store.models.queue import Ticket

T: Table = Ticket.__table__  # type: ignore[assignment]
PRIORITY_KINDS = {
    "elderly": N_("老年人"),
    "disabled": N_("残疾人"),
    "military": N_("军人"),
    "pregnant": N_("孕妇"),
}
PAUSE_REASONS = {"break": N_("休息"), "meeting": N_("开会"), "back_office": N_("后台办理")}


@dataclass(frozen=True, slots=True)
class TicketView:
    id: uuid.UUID
    number: str
    category: str
    state: str
    priority: bool
    priority_kind: str
    window_number: int | None
    routed_window: int | None
    return_window: int | None
    recall_count: int
    issued_at: dt.datetime
    called_at: dt.datetime | None
    started_at: dt.datetime | None
    appointment_at: dt.datetime | None
    case_ref: str
    call_reason: str
    offline: bool


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket: TicketView
    category_name: str
    people_ahead: int
    estimated_wait: dt.timedelta
    hall_name: str
    routed_to_window: int | None


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    code: str
    name: str
    description: str
    waiting: int
    longest_wait: dt.timedelta


@dataclass(frozen=True, slots=True)
class WindowView:
    number: int
    status: str
    pause_reason: str
    current: TicketView | None
    parked: tuple[TicketView, ...]
    waiting: tuple[TicketView, ...]
    categories: tuple[CategoryInfo, ...]
    recall_limit: int


@dataclass(frozen=True, slots=True)
class BoardRow:
    window: int | None
    number: str
    state: str
    called_at: dt.datetime | None
    recall_count: int


@dataclass(frozen=True, slots=True)
class BoardView:
    hall_name: str
    serving: tuple[BoardRow, ...]
    recent_calls: tuple[BoardRow, ...]
    categories: tuple[CategoryInfo, ...]
    marker: str


def view(t: Ticket) -> TicketView:
    return TicketView(
        t.id, t.number, t.category, t.state, t.priority, t.priority_kind, t.window_number,
        t.routed_window, t.return_window, t.recall_count, t.issued_at, t.called_at, t.started_at,
        t.appointment_at, t.case_ref, t.call_reason, t.offline,
    )  # fmt: skip


def format_number(prefix: str, seq: int) -> str:
    """``A`` + 1 → ``A001``; the width grows past 999 rather than wrap."""
    return f"{prefix}{seq:03d}"


_WAITING_COLS = (
    T.c.id, T.c.state, T.c.category, T.c.issued_at, T.c.priority, T.c.appointment_at, T.c.routed_window,
    T.c.routed_at,
)  # fmt: skip


def _waiting(row: Any) -> qo.WaitingTicket:
    return qo.WaitingTicket(
        key=row.id,
        category=row.category,
        issued_at=_aware(row.issued_at),
        priority=bool(row.priority),
        appointment_at=_aware(row.appointment_at) if row.appointment_at else None,
        routed_window=row.routed_window,
        routed_at=_aware(row.routed_at) if row.routed_at else None,
    )


def _aware(value: Any) -> Any:
    """Core selects of UtcDateTime columns come back aware; SQLite aggregates come back naive text."""
    if value is None or (isinstance(value, dt.datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC)


def _window_of(who: UserSession) -> int:
    if who.window_number is None:
        raise UserError(_("请先在登录时选择窗口。"))
    return who.window_number


def _priority_from_id(id_number: str, now: dt.datetime, elderly_age: int) -> str:
    try:
        rid = parse_resident_id(id_number, today=now.astimezone(CHINA).date())
    except IdentifierError as exc:
        raise UserError(_("身份证号码有误：{m}").format(m=exc.message), field="id_number") from exc
    today = now.astimezone(CHINA).date()
    age = (
        today.year
        - rid.birth_date.year
        - ((today.month, today.day) < (rid.birth_date.month, rid.birth_date.day))
    )
    return "elderly" if age >= elderly_age else ""


def _is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


def _is_duplicate_key(exc: IntegrityError, name: str) -> bool:
    text = str(exc.orig)
    return (
        name in text
        or (name == "queue_requests" and "queue_requests.key" in text)
        or (name == "uq_queue_tickets_active_window" and "queue_tickets.window_number" in text)
    )


def state_label(state: str) -> str:
    return TicketState(state).label
