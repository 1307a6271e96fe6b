"""The queue ticket lifecycle as a pure state machine, in the style of :mod:`case_states`.

issued (取号) → called (叫号; ``recall`` repeats the call) → serving (办理中) → done (办结).
While serving a ticket may be parked (挂起: the applicant steps away, e.g. to copy a document) and
called back, or transferred (转窗) to another window or category, where it is called again. A called
applicant who does not come is a no-show (过号); only a supervisor may call a no-show back. A ticket
not yet being served may be cancelled (取消) with a reason. The queue service applies these
transitions conditionally on the current state in the central store (see ARCHITECTURE.md, Queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from clerk_app.domain.case_states import Role, Transition, Verdict, decide
from clerk_app.i18n import N_, _


class TicketState(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    TRANSFERRED = "transferred"
    NO_SHOW = "no_show"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _(TICKET_STATE_NAMES[self])


TICKET_STATE_NAMES: Mapping[TicketState, str] = {
    TicketState.ISSUED: N_("等候中"),
    TicketState.CALLED: N_("已叫号"),
    TicketState.SERVING: N_("办理中"),
    TicketState.PARKED: N_("挂起"),
    TicketState.TRANSFERRED: N_("已转窗"),
    TicketState.NO_SHOW: N_("过号"),
    TicketState.DONE: N_("已办结"),
    TicketState.CANCELLED: N_("已取消"),
}


class TicketEvent(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    PARK = "park"
    CALL_BACK = "call_back"
    TRANSFER = "transfer"
    NO_SHOW = "no_show"
    FINISH = "finish"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return _(TICKET_EVENT_NAMES[self])


TICKET_EVENT_NAMES: Mapping[TicketEvent, str] = {
    TicketEvent.CALL: N_("叫号"),
    TicketEvent.RECALL: N_("重呼"),
    TicketEvent.START: N_("开始办理"),
    TicketEvent.PARK: N_("挂起"),
    TicketEvent.CALL_BACK: N_("回呼"),
    TicketEvent.TRANSFER: N_("转窗"),
    TicketEvent.NO_SHOW: N_("过号"),
    TicketEvent.FINISH: N_("办结"),
    TicketEvent.CANCEL: N_("取消"),
}

_DESK = frozenset({Role.CLERK, Role.SUPERVISOR})
_BOSS = frozenset({Role.SUPERVISOR})
_STAFF = frozenset(Role)
_S, _E = TicketState, TicketEvent

TICKET_TRANSITIONS: Mapping[tuple[TicketState, TicketEvent], Transition[TicketState]] = {
    (_S.ISSUED, _E.CALL): Transition(_S.CALLED, _DESK),
    (_S.TRANSFERRED, _E.CALL): Transition(_S.CALLED, _DESK),
    (_S.CALLED, _E.RECALL): Transition(_S.CALLED, _DESK),
    (_S.CALLED, _E.START): Transition(_S.SERVING, _DESK),
    (_S.CALLED, _E.NO_SHOW): Transition(_S.NO_SHOW, _DESK),
    (_S.CALLED, _E.TRANSFER): Transition(_S.TRANSFERRED, _DESK, needs_reason=True),
    (_S.SERVING, _E.PARK): Transition(_S.PARKED, _DESK),
    (_S.SERVING, _E.TRANSFER): Transition(_S.TRANSFERRED, _DESK, needs_reason=True),
    (_S.SERVING, _E.FINISH): Transition(_S.DONE, _DESK),
    (_S.PARKED, _E.CALL_BACK): Transition(_S.CALLED, _DESK),
    (_S.NO_SHOW, _E.CALL_BACK): Transition(_S.CALLED, _BOSS, needs_reason=True),
    (_S.ISSUED, _E.CANCEL): Transition(_S.CANCELLED, _STAFF, needs_reason=True),
    (_S.PARKED, _E.CANCEL): Transition(_S.CANCELLED, _STAFF, needs_reason=True),
    (_S.TRANSFERRED, _E.CANCEL): Transition(_S.CANCELLED, _STAFF, needs_reason=True),
    (_S.NO_SHOW, _E.CANCEL): Transition(_S.CANCELLED, _STAFF, needs_reason=True),
}
TICKET_FINAL_STATES = frozenset({TicketState.DONE, TicketState.CANCELLED})
ACTIVE_STATES = frozenset({TicketState.CALLED, TicketState.SERVING})  # at most one per window


def check(
    ticket_state: TicketState | str, event: TicketEvent | str, role: Role | str, reason: str | None = None
) -> Verdict[TicketState]:
    """May ``event`` apply to a ticket in ``ticket_state`` now, done by ``role`` with ``reason``?"""
    state, step = TicketState(ticket_state), TicketEvent(event)
    return decide(
        TICKET_TRANSITIONS, TICKET_FINAL_STATES, (state.label, step.label), state, step, role, reason
    )


def allowed_events(ticket_state: TicketState | str, role: Role | str) -> list[TicketEvent]:
    state = TicketState(ticket_state)
    return [
        e
        for e in TicketEvent
        if (state, e) in TICKET_TRANSITIONS and Role(role) in TICKET_TRANSITIONS[(state, e)].roles
    ]
