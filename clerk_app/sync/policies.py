"""Conflict policies, chosen per table.

The central store asks the policy of an entry's table what to do with a pushed change, given the
row as it stands centrally and the fields that other devices changed since the version the edit
was based on. Policies are registered by table name; a table without one gets the default of its
class: ``InsertOnly`` for ``__insert_only__`` tables, ``FieldMerge`` for the others. Areas that add
synced tables register their policy (e.g. a state-machine check for status events) with
``register_policy`` and the sync code does not change.

- ``FieldMerge``: edits of disjoint fields merge; where fields overlap the server's value stands
  and the losing values are recorded as a rejection (reason ``conflict``).
- ``InsertOnly``: rows are only inserted; a second insert of the same id is a harmless duplicate;
  an update or delete is rejected (reason ``insert_only``).
- ``CheckedInsert``: insert-only rows (status events) that must pass a check on arrival, such as
  the case state machine; an illegal one is rejected, not applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from clerk_app.sync.codec import BOOKKEEPING, synced_table
from clerk_app.sync.protocol import (
    RESULT_APPLIED,
    RESULT_DUPLICATE,
    RESULT_MERGED,
    RESULT_PARTIAL,
    RESULT_REJECTED,
    PushEntry,
)

REASON_CONFLICT = "conflict"
REASON_INSERT_ONLY = "insert_only"
REASON_MISSING_ROW = "missing_row"
REASON_DENIED = "denied"
REASON_CHECK = "check_failed"
#: a new row whose unique key (case number, document number, the rated service…) another row holds
REASON_UNIQUE = "unique_conflict"

#: read the central state of a row: (table name, id) -> payload or None
RowReader = Callable[[str, uuid.UUID], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Decision:
    result: str
    reason: str = ""
    #: payload keys to write from the entry (for an insert: the whole payload)
    apply: tuple[str, ...] = ()
    #: keys whose values lost, kept in the rejection
    rejected: tuple[str, ...] = ()
    detail: str = ""

    @property
    def writes(self) -> bool:
        return self.result in (RESULT_APPLIED, RESULT_MERGED, RESULT_PARTIAL)


class Policy(Protocol):
    def decide(
        self,
        entry: PushEntry,
        current: dict[str, Any] | None,
        conflicting: frozenset[str],
        read: RowReader,
    ) -> Decision: ...


def _insert(entry: PushEntry, current: dict[str, Any] | None) -> Decision:
    if current is not None:
        return Decision(RESULT_DUPLICATE)
    return Decision(RESULT_APPLIED, apply=tuple(entry.payload))


class FieldMerge:
    def decide(
        self,
        entry: PushEntry,
        current: dict[str, Any] | None,
        conflicting: frozenset[str],
        read: RowReader,
    ) -> Decision:
        if entry.op == "insert":
            return _insert(entry, current)
        if current is None:
            return Decision(RESULT_REJECTED, REASON_MISSING_ROW, rejected=entry.changed)
        fields = tuple(k for k in entry.changed if k not in BOOKKEEPING)
        lost = tuple(k for k in fields if k in conflicting)
        kept = tuple(k for k in fields if k not in conflicting)
        if not lost:
            return Decision(RESULT_MERGED if conflicting else RESULT_APPLIED, apply=kept)
        if kept:
            return Decision(RESULT_PARTIAL, REASON_CONFLICT, apply=kept, rejected=lost)
        return Decision(RESULT_REJECTED, REASON_CONFLICT, rejected=lost)


class InsertOnly:
    def decide(
        self,
        entry: PushEntry,
        current: dict[str, Any] | None,
        conflicting: frozenset[str],
        read: RowReader,
    ) -> Decision:
        if entry.op == "insert":
            return _insert(entry, current)
        return Decision(RESULT_REJECTED, REASON_INSERT_ONLY, rejected=entry.changed)


#: a check of an arriving row: returns None when legal, else a reason text shown to the clerk
RowCheck = Callable[[dict[str, Any], RowReader], str | None]


@dataclass(frozen=True)
class CheckedInsert:
    check: RowCheck

    def decide(
        self,
        entry: PushEntry,
        current: dict[str, Any] | None,
        conflicting: frozenset[str],
        read: RowReader,
    ) -> Decision:
        decision = InsertOnly().decide(entry, current, conflicting, read)
        if decision.result != RESULT_APPLIED:
            return decision
        problem = self.check(entry.payload, read)
        if problem is not None:
            return Decision(RESULT_REJECTED, REASON_CHECK, rejected=tuple(entry.payload), detail=problem)
        return decision


@dataclass
class _Registry:
    policies: dict[str, Policy] = field(default_factory=dict)


_registry = _Registry()
_FIELD_MERGE = FieldMerge()
_INSERT_ONLY = InsertOnly()


def register_policy(table_name: str, policy: Policy) -> None:
    """Use ``policy`` for ``table_name`` (replacing any earlier registration)."""
    _registry.policies[table_name] = policy


def unregister_policy(table_name: str) -> None:
    _registry.policies.pop(table_name, None)


def policy_for(table_name: str) -> Policy:
    registered = _registry.policies.get(table_name)
    if registered is not None:
        return registered
    return _INSERT_ONLY if synced_table(table_name).insert_only else _FIELD_MERGE


def _install_defaults() -> None:
    from clerk_app.sync.case_policy import CASE_EVENT_POLICY, CASE_EVENTS_TABLE

    _registry.policies.setdefault(CASE_EVENTS_TABLE, CASE_EVENT_POLICY)


_install_defaults()
