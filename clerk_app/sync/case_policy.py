"""Case status events are checked by the case state machine when they reach the central store.

A workstation may record a step of a case while offline; on arrival the step must be a legal
transition (``clerk_app.domain.case_states.check``: from its ``from_state`` by its ``event``, done by
the actor's role, with a reason where one is required) and land in the ``to_state`` it claims.
An illegal event is rejected (kept in ``sync_rejections`` with the state machine's words), not
applied.
"""

from __future__ import annotations

import uuid
from typing import Any

from clerk_app.domain import case_states
from clerk_app.i18n import _
from clerk_app.sync.policies import CheckedInsert, RowReader

CASE_EVENTS_TABLE = "case_events"


def check_case_event(payload: dict[str, Any], read: RowReader) -> str | None:
    try:
        event = case_states.CaseEvent(str(payload.get("event")))
        source = case_states.CaseState(str(payload.get("from_state")))
    except ValueError:
        return _("未知的办件状态或事件：{state} / {event}").format(
            state=payload.get("from_state"), event=payload.get("event")
        )
    actor = payload.get("actor_id")
    user = read("users", uuid.UUID(str(actor))) if actor else None
    role = str(user["role"]) if user else case_states.Role.CLERK.value
    verdict = case_states.check(source, event, role, payload.get("reason") or None)
    if not verdict.allowed:
        return verdict.message
    if verdict.target is not None and str(verdict.target) != str(payload.get("to_state")):
        return _("办件状态变更的目标状态不符：应为 {expected}，记录为 {claimed}").format(
            expected=verdict.target, claimed=payload.get("to_state")
        )
    return None


CASE_EVENT_POLICY = CheckedInsert(check_case_event)
