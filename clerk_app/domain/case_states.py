"""The case lifecycle as a pure state machine (see ``shared/DOMAIN.md``, "Case lifecycle").

Received (收件) → accepted (受理) | not accepted (不予受理) | correction requested (补正) → in review
(审查) → [special procedure (特别程序) suspends the clock] → approved (办结-准予) | approved on
tolerance (容缺通过) | refused (不予许可) → delivered (送达) → archived (归档). Withdrawn (撤件) at any
point before the decision. A 即办件 is completed on the spot (当场办结) from received or accepted.

A correction requested before acceptance leaves the clock unstarted (it ends with ``accept``); a
correction requested after acceptance suspends it (行政许可法 art. 45) and ends with
``resume_review``. Each transition says who may make it (:class:`Role`), whether a reason is
required, and what it does to the deadline clock (:class:`ClockEffect`). :func:`check` answers
"may this event apply now, and if not, why" in plain, translated words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from clerk_app.i18n import N_, _


class Role(StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return _(_ROLE_NAMES[self])


_ROLE_NAMES = {Role.CLERK: N_("窗口人员"), Role.SUPERVISOR: N_("值班负责人"), Role.ADMIN: N_("系统管理员")}


class ClockEffect(StrEnum):
    """What a transition does to the deadline clock."""

    NONE = "none"
    START = "start"
    SUSPEND = "suspend"
    RESUME = "resume"
    STOP = "stop"


class Refusal(StrEnum):
    """Why an event may not apply (machine-readable)."""

    FINAL_STATE = "final_state"
    ILLEGAL = "illegal"
    ROLE = "role"
    REASON_REQUIRED = "reason_required"


S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Verdict(Generic[S]):
    """The answer of ``check``: allowed with the target state and clock effect, or refused and why."""

    allowed: bool
    target: S | None = None
    clock: ClockEffect = ClockEffect.NONE
    refusal: Refusal | None = None
    template: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        """Plain words for the clerk, in the current language ('' when allowed)."""
        return _(self.template).format(**dict(self.params)) if self.template else ""


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    target: S
    roles: frozenset[Role]
    needs_reason: bool = False
    clock: ClockEffect = ClockEffect.NONE


def decide(
    table: Mapping[tuple[S, E], Transition[S]],
    finals: frozenset[S],
    names: tuple[str, str],
    state: S,
    event: E,
    role: Role | str,
    reason: str | None,
) -> Verdict[S]:
    """Shared rule of both machines: final state, legal transition, role, then reason."""
    state_name, event_name = names
    step = table.get((state, event))
    if step is None and state in finals:
        return _refuse(
            Refusal.FINAL_STATE, N_("已处于“{state}”状态，不能再“{event}”"), state_name, event_name
        )
    if step is None:
        return _refuse(Refusal.ILLEGAL, N_("当前为“{state}”状态，不能“{event}”"), state_name, event_name)
    if Role(role) not in step.roles:
        allowed = "、".join(r.label for r in Role if r in step.roles)
        return _refuse(Refusal.ROLE, N_("“{event}”只能由{roles}操作"), state_name, event_name, roles=allowed)
    if step.needs_reason and not (reason or "").strip():
        return _refuse(Refusal.REASON_REQUIRED, N_("“{event}”必须填写原因"), state_name, event_name)
    return Verdict(True, step.target, step.clock)


def _refuse(refusal: Refusal, template: str, state: str, event: str, **extra: str) -> Verdict[S]:
    params = (("state", state), ("event", event), *extra.items())
    return Verdict(False, None, ClockEffect.NONE, refusal, template, params)


# ---- the case machine -----------------------------------------------------------------------------


class CaseState(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    CORRECTION_REQUESTED = "correction_requested"
    IN_REVIEW = "in_review"
    SPECIAL_PROCEDURE = "special_procedure"
    APPROVED = "approved"
    APPROVED_TOLERANCE = "approved_tolerance"
    REFUSED = "refused"
    DELIVERED = "delivered"
    ARCHIVED = "archived"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _(CASE_STATE_NAMES[self])


CASE_STATE_NAMES: Mapping[CaseState, str] = {
    CaseState.RECEIVED: N_("收件"),
    CaseState.ACCEPTED: N_("受理"),
    CaseState.NOT_ACCEPTED: N_("不予受理"),
    CaseState.CORRECTION_REQUESTED: N_("补正"),
    CaseState.IN_REVIEW: N_("审查"),
    CaseState.SPECIAL_PROCEDURE: N_("特别程序"),
    CaseState.APPROVED: N_("办结（准予）"),
    CaseState.APPROVED_TOLERANCE: N_("容缺通过"),
    CaseState.REFUSED: N_("不予许可"),
    CaseState.DELIVERED: N_("送达"),
    CaseState.ARCHIVED: N_("归档"),
    CaseState.WITHDRAWN: N_("撤件"),
}


class CaseEvent(StrEnum):
    ACCEPT = "accept"
    COMPLETE_ON_SPOT = "complete_on_spot"
    REJECT = "reject"
    REQUEST_CORRECTION = "request_correction"
    RESUME_REVIEW = "resume_review"
    START_REVIEW = "start_review"
    START_SPECIAL = "start_special"
    END_SPECIAL = "end_special"
    APPROVE = "approve"
    APPROVE_TOLERANCE = "approve_tolerance"
    CONFIRM_TOLERANCE = "confirm_tolerance"
    REFUSE = "refuse"
    DELIVER = "deliver"
    ARCHIVE = "archive"
    WITHDRAW = "withdraw"

    @property
    def label(self) -> str:
        return _(CASE_EVENT_NAMES[self])


CASE_EVENT_NAMES: Mapping[CaseEvent, str] = {
    CaseEvent.ACCEPT: N_("受理"),
    CaseEvent.COMPLETE_ON_SPOT: N_("当场办结"),
    CaseEvent.REJECT: N_("不予受理"),
    CaseEvent.REQUEST_CORRECTION: N_("要求补正"),
    CaseEvent.RESUME_REVIEW: N_("补正完成、恢复审查"),
    CaseEvent.START_REVIEW: N_("开始审查"),
    CaseEvent.START_SPECIAL: N_("进入特别程序"),
    CaseEvent.END_SPECIAL: N_("结束特别程序"),
    CaseEvent.APPROVE: N_("准予许可"),
    CaseEvent.APPROVE_TOLERANCE: N_("容缺通过"),
    CaseEvent.CONFIRM_TOLERANCE: N_("容缺材料已补齐"),
    CaseEvent.REFUSE: N_("不予许可"),
    CaseEvent.DELIVER: N_("送达"),
    CaseEvent.ARCHIVE: N_("归档"),
    CaseEvent.WITHDRAW: N_("撤件"),
}

_DESK = frozenset({Role.CLERK, Role.SUPERVISOR})
_BOSS = frozenset({Role.SUPERVISOR})
_ANYONE = frozenset(Role)
_C, _E = CaseState, CaseEvent
_UNDECIDED = (_C.RECEIVED, _C.ACCEPTED, _C.CORRECTION_REQUESTED, _C.IN_REVIEW, _C.SPECIAL_PROCEDURE)
_CLOCK_RUNNING = (_C.ACCEPTED, _C.IN_REVIEW)


def _case_table() -> dict[tuple[CaseState, CaseEvent], Transition[CaseState]]:
    t = Transition
    table: dict[tuple[CaseState, CaseEvent], Transition[CaseState]] = {
        (_C.RECEIVED, _E.ACCEPT): t(_C.ACCEPTED, _DESK, clock=ClockEffect.START),
        (_C.CORRECTION_REQUESTED, _E.ACCEPT): t(_C.ACCEPTED, _DESK, clock=ClockEffect.START),
        (_C.RECEIVED, _E.COMPLETE_ON_SPOT): t(_C.APPROVED, _DESK),
        (_C.ACCEPTED, _E.COMPLETE_ON_SPOT): t(_C.APPROVED, _DESK, clock=ClockEffect.STOP),
        (_C.RECEIVED, _E.REJECT): t(_C.NOT_ACCEPTED, _DESK, needs_reason=True),
        (_C.CORRECTION_REQUESTED, _E.REJECT): t(_C.NOT_ACCEPTED, _DESK, needs_reason=True),
        (_C.RECEIVED, _E.REQUEST_CORRECTION): t(_C.CORRECTION_REQUESTED, _DESK, needs_reason=True),
        (_C.ACCEPTED, _E.REQUEST_CORRECTION): t(_C.CORRECTION_REQUESTED, _DESK, True, ClockEffect.SUSPEND),
        (_C.IN_REVIEW, _E.REQUEST_CORRECTION): t(_C.CORRECTION_REQUESTED, _DESK, True, ClockEffect.SUSPEND),
        (_C.CORRECTION_REQUESTED, _E.RESUME_REVIEW): t(_C.IN_REVIEW, _DESK, clock=ClockEffect.RESUME),
        (_C.ACCEPTED, _E.START_REVIEW): t(_C.IN_REVIEW, _DESK),
        (_C.IN_REVIEW, _E.START_SPECIAL): t(_C.SPECIAL_PROCEDURE, _DESK, True, ClockEffect.SUSPEND),
        (_C.SPECIAL_PROCEDURE, _E.END_SPECIAL): t(_C.IN_REVIEW, _DESK, clock=ClockEffect.RESUME),
        (_C.IN_REVIEW, _E.APPROVE): t(_C.APPROVED, _DESK, clock=ClockEffect.STOP),
        (_C.IN_REVIEW, _E.APPROVE_TOLERANCE): t(_C.APPROVED_TOLERANCE, _BOSS, True, ClockEffect.STOP),
        (_C.APPROVED_TOLERANCE, _E.CONFIRM_TOLERANCE): t(_C.APPROVED, _DESK),
        (_C.IN_REVIEW, _E.REFUSE): t(_C.REFUSED, _BOSS, True, ClockEffect.STOP),
        (_C.SPECIAL_PROCEDURE, _E.REFUSE): t(_C.REFUSED, _BOSS, True, ClockEffect.STOP),
    }
    for state in (_C.APPROVED, _C.APPROVED_TOLERANCE, _C.REFUSED):
        table[(state, _E.DELIVER)] = t(_C.DELIVERED, _DESK)
    for state in (_C.DELIVERED, _C.NOT_ACCEPTED, _C.WITHDRAWN):
        table[(state, _E.ARCHIVE)] = t(_C.ARCHIVED, _ANYONE)
    for state in _UNDECIDED:
        clock = ClockEffect.STOP if state in _CLOCK_RUNNING else ClockEffect.NONE
        table[(state, _E.WITHDRAW)] = t(_C.WITHDRAWN, _DESK, True, clock)
    return table


CASE_TRANSITIONS: Mapping[tuple[CaseState, CaseEvent], Transition[CaseState]] = _case_table()
CASE_FINAL_STATES = frozenset({CaseState.ARCHIVED})


def check(
    case_state: CaseState | str, event: CaseEvent | str, role: Role | str, reason: str | None = None
) -> Verdict[CaseState]:
    """May ``event`` apply to a case in ``case_state`` now, done by ``role`` with ``reason``?"""
    state, step = CaseState(case_state), CaseEvent(event)
    return decide(CASE_TRANSITIONS, CASE_FINAL_STATES, (state.label, step.label), state, step, role, reason)


def allowed_events(case_state: CaseState | str, role: Role | str) -> list[CaseEvent]:
    """Events this role may apply in this state (a reason may still be required)."""
    state = CaseState(case_state)
    return [
        e
        for e in CaseEvent
        if (state, e) in CASE_TRANSITIONS and Role(role) in CASE_TRANSITIONS[(state, e)].roles
    ]


def clock_running(case_state: CaseState | str) -> bool:
    """Whether the deadline clock runs in this state (accepted or in review)."""
    return CaseState(case_state) in _CLOCK_RUNNING
