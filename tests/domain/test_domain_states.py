"""Case and ticket state machines: every state × event pair, roles, reasons, clock effects."""

from __future__ import annotations

import itertools

import pytest

from clerk_app.domain import case_states, ticket_states
from clerk_app.domain.case_states import CaseEvent, CaseState, ClockEffect, Refusal, Role
from clerk_app.domain.ticket_states import TicketEvent, TicketState

C, E = CaseState, CaseEvent

# The lifecycle of DOMAIN.md written out independently of the implementation's table:
# (state, event) -> (target, roles allowed, reason required, clock effect)
DESK = {"clerk", "supervisor"}
BOSS = {"supervisor"}
ALL = {"clerk", "supervisor", "admin"}
CASE_SPEC = {
    (C.RECEIVED, E.ACCEPT): (C.ACCEPTED, DESK, False, "start"),
    (C.RECEIVED, E.COMPLETE_ON_SPOT): (C.APPROVED, DESK, False, "none"),
    (C.RECEIVED, E.REJECT): (C.NOT_ACCEPTED, DESK, True, "none"),
    (C.RECEIVED, E.REQUEST_CORRECTION): (C.CORRECTION_REQUESTED, DESK, True, "none"),
    (C.RECEIVED, E.WITHDRAW): (C.WITHDRAWN, DESK, True, "none"),
    (C.CORRECTION_REQUESTED, E.ACCEPT): (C.ACCEPTED, DESK, False, "start"),
    (C.CORRECTION_REQUESTED, E.REJECT): (C.NOT_ACCEPTED, DESK, True, "none"),
    (C.CORRECTION_REQUESTED, E.RESUME_REVIEW): (C.IN_REVIEW, DESK, False, "resume"),
    (C.CORRECTION_REQUESTED, E.WITHDRAW): (C.WITHDRAWN, DESK, True, "none"),
    (C.ACCEPTED, E.START_REVIEW): (C.IN_REVIEW, DESK, False, "none"),
    (C.ACCEPTED, E.COMPLETE_ON_SPOT): (C.APPROVED, DESK, False, "stop"),
    (C.ACCEPTED, E.REQUEST_CORRECTION): (C.CORRECTION_REQUESTED, DESK, True, "suspend"),
    (C.ACCEPTED, E.WITHDRAW): (C.WITHDRAWN, DESK, True, "stop"),
    (C.IN_REVIEW, E.REQUEST_CORRECTION): (C.CORRECTION_REQUESTED, DESK, True, "suspend"),
    (C.IN_REVIEW, E.START_SPECIAL): (C.SPECIAL_PROCEDURE, DESK, True, "suspend"),
    (C.IN_REVIEW, E.APPROVE): (C.APPROVED, DESK, False, "stop"),
    (C.IN_REVIEW, E.APPROVE_TOLERANCE): (C.APPROVED_TOLERANCE, BOSS, True, "stop"),
    (C.IN_REVIEW, E.REFUSE): (C.REFUSED, BOSS, True, "stop"),
    (C.IN_REVIEW, E.WITHDRAW): (C.WITHDRAWN, DESK, True, "stop"),
    (C.SPECIAL_PROCEDURE, E.END_SPECIAL): (C.IN_REVIEW, DESK, False, "resume"),
    (C.SPECIAL_PROCEDURE, E.REFUSE): (C.REFUSED, BOSS, True, "stop"),
    (C.SPECIAL_PROCEDURE, E.WITHDRAW): (C.WITHDRAWN, DESK, True, "none"),
    (C.APPROVED_TOLERANCE, E.CONFIRM_TOLERANCE): (C.APPROVED, DESK, False, "none"),
    (C.APPROVED, E.DELIVER): (C.DELIVERED, DESK, False, "none"),
    (C.APPROVED_TOLERANCE, E.DELIVER): (C.DELIVERED, DESK, False, "none"),
    (C.REFUSED, E.DELIVER): (C.DELIVERED, DESK, False, "none"),
    (C.DELIVERED, E.ARCHIVE): (C.ARCHIVED, ALL, False, "none"),
    (C.NOT_ACCEPTED, E.ARCHIVE): (C.ARCHIVED, ALL, False, "none"),
    (C.WITHDRAWN, E.ARCHIVE): (C.ARCHIVED, ALL, False, "none"),
}


@pytest.mark.parametrize(("state", "event", "role"), list(itertools.product(CaseState, CaseEvent, Role)))
def test_every_case_state_event_role(state: CaseState, event: CaseEvent, role: Role) -> None:
    spec = CASE_SPEC.get((state, event))
    with_reason = case_states.check(state, event, role, "申请人要求")
    if spec is None:
        assert not with_reason.allowed
        assert with_reason.refusal in (Refusal.ILLEGAL, Refusal.FINAL_STATE)
        assert state.label in with_reason.message and event.label in with_reason.message
        return
    target, roles, needs_reason, clock = spec
    if role.value not in roles:
        assert (with_reason.allowed, with_reason.refusal) == (False, Refusal.ROLE)
        assert event.label in with_reason.message
        return
    assert (with_reason.allowed, with_reason.target, with_reason.clock) == (True, target, ClockEffect(clock))
    assert with_reason.message == ""
    without = case_states.check(state, event, role, "  ")
    assert without.allowed is not needs_reason
    if needs_reason:
        assert without.refusal is Refusal.REASON_REQUIRED
        assert without.message == f"“{event.label}”必须填写原因"


def test_archived_is_final() -> None:
    verdict = case_states.check("archived", "withdraw", "supervisor", "x")
    assert verdict.refusal is Refusal.FINAL_STATE
    assert verdict.message == "已处于“归档”状态，不能再“撤件”"


def test_case_plain_words() -> None:
    verdict = case_states.check(C.RECEIVED, E.APPROVE, Role.CLERK)
    assert verdict.message == "当前为“收件”状态，不能“准予许可”"
    verdict = case_states.check(C.IN_REVIEW, E.REFUSE, "clerk", "材料不实")
    assert verdict.message == "“不予许可”只能由值班负责人操作"


def test_full_paths() -> None:
    path = [
        (E.ACCEPT, C.ACCEPTED),
        (E.START_REVIEW, C.IN_REVIEW),
        (E.START_SPECIAL, C.SPECIAL_PROCEDURE),
        (E.END_SPECIAL, C.IN_REVIEW),
        (E.APPROVE, C.APPROVED),
        (E.DELIVER, C.DELIVERED),
        (E.ARCHIVE, C.ARCHIVED),
    ]
    state = C.RECEIVED
    for event, expected in path:
        verdict = case_states.check(state, event, Role.SUPERVISOR, "理由")
        assert verdict.allowed and verdict.target is expected
        state = expected
    on_spot = case_states.check(C.RECEIVED, E.COMPLETE_ON_SPOT, Role.CLERK)
    assert on_spot.target is C.APPROVED


def test_allowed_events_and_clock() -> None:
    assert case_states.allowed_events(C.IN_REVIEW, Role.CLERK) == [
        E.REQUEST_CORRECTION,
        E.START_SPECIAL,
        E.APPROVE,
        E.WITHDRAW,
    ]
    assert case_states.allowed_events(C.ARCHIVED, Role.ADMIN) == []
    assert case_states.clock_running(C.IN_REVIEW) and not case_states.clock_running(C.SPECIAL_PROCEDURE)
    with pytest.raises(ValueError):
        case_states.check("nonsense", E.ACCEPT, Role.CLERK)


# ---- tickets ------------------------------------------------------------------------------------

S, T = TicketState, TicketEvent
TICKET_SPEC = {
    (S.ISSUED, T.CALL): (S.CALLED, DESK, False),
    (S.ISSUED, T.CANCEL): (S.CANCELLED, ALL, True),
    (S.CALLED, T.RECALL): (S.CALLED, DESK, False),
    (S.CALLED, T.START): (S.SERVING, DESK, False),
    (S.CALLED, T.NO_SHOW): (S.NO_SHOW, DESK, False),
    (S.CALLED, T.TRANSFER): (S.TRANSFERRED, DESK, True),
    (S.SERVING, T.PARK): (S.PARKED, DESK, False),
    (S.SERVING, T.TRANSFER): (S.TRANSFERRED, DESK, True),
    (S.SERVING, T.FINISH): (S.DONE, DESK, False),
    (S.PARKED, T.CALL_BACK): (S.CALLED, DESK, False),
    (S.PARKED, T.CANCEL): (S.CANCELLED, ALL, True),
    (S.TRANSFERRED, T.CALL): (S.CALLED, DESK, False),
    (S.TRANSFERRED, T.CANCEL): (S.CANCELLED, ALL, True),
    (S.NO_SHOW, T.CALL_BACK): (S.CALLED, BOSS, True),
    (S.NO_SHOW, T.CANCEL): (S.CANCELLED, ALL, True),
}


@pytest.mark.parametrize(("state", "event", "role"), list(itertools.product(TicketState, TicketEvent, Role)))
def test_every_ticket_state_event_role(state: TicketState, event: TicketEvent, role: Role) -> None:
    spec = TICKET_SPEC.get((state, event))
    verdict = ticket_states.check(state, event, role, "窗口调整")
    if spec is None:
        assert not verdict.allowed and verdict.refusal in (Refusal.ILLEGAL, Refusal.FINAL_STATE)
        final = state in (S.DONE, S.CANCELLED)
        assert (verdict.refusal is Refusal.FINAL_STATE) is final
        return
    target, roles, needs_reason = spec
    if role.value not in roles:
        assert verdict.refusal is Refusal.ROLE
        return
    assert verdict.allowed and verdict.target is target and verdict.clock is ClockEffect.NONE
    assert ticket_states.check(state, event, role, None).allowed is not needs_reason


def test_ticket_words_and_allowed_events() -> None:
    verdict = ticket_states.check("done", "call", "clerk")
    assert verdict.message == "已处于“已办结”状态，不能再“叫号”"
    assert ticket_states.allowed_events(S.SERVING, Role.CLERK) == [T.PARK, T.TRANSFER, T.FINISH]
    assert ticket_states.allowed_events(S.NO_SHOW, Role.CLERK) == [T.CANCEL]
    assert T.CALL_BACK in ticket_states.allowed_events(S.NO_SHOW, Role.SUPERVISOR)
    assert {S.CALLED, S.SERVING} == ticket_states.ACTIVE_STATES
