"""What was not applied, and what the clerk does about it.

A rejection is written centrally while a push is applied and reaches every workstation by pull
(``sync_rejections`` is a synced table). On the Sync page the clerk or supervisor sees it and
either dismisses it or re-applies the losing values as a new edit on top of the current row (which
then goes up like any other change); both are audited and travel back to the central store. A new
record set aside for a unique key held by another record (``unique_conflict``) cannot be re-applied
(``SetAside``): its content stays in the rejection, and the clerk enters it again if still needed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from clerk_app.i18n import N_
from clerk_app.store.audit import append_audit
from clerk_app.store.models import SyncRejection
from clerk_app.store.uow import Store
from clerk_app.sync.codec import known_table, synced_table

REASONS = {
    "conflict": N_("与他人同时修改了相同字段，中心库保留了先到的修改"),
    "insert_only": N_("此类记录只能新增，不能修改或删除"),
    "missing_row": N_("中心库中没有这条记录"),
    "denied": N_("中心库拒绝了此修改（权限或约束）"),
    "check_failed": N_("状态变更不符合办件流程规则"),
    "unknown_table": N_("中心库不认识此数据表，请升级中心库"),
    "unique_conflict": N_(
        "编号与其他工作站先同步的记录重复（如同一办件被重复评价），中心库保留了先到的记录，本条已搁置"
    ),
}

#: reasons whose losing values can be written again as a new edit
REAPPLICABLE = ("conflict", "denied")


class RejectionNotFound(LookupError):
    pass


class SetAside(ValueError):
    """A new record set aside because its unique key is held by another record: writing it again
    would be refused the same way. Its content stays in the rejection."""


@dataclass(frozen=True, slots=True)
class RejectionView:
    id: uuid.UUID
    device_id: str
    table_name: str
    row_id: uuid.UUID
    reason: str
    fields: tuple[str, ...]
    rejected_values: dict[str, Any]
    central_values: dict[str, Any]
    detail: str
    status: str
    created_at: dt.datetime


def _view(row: SyncRejection) -> RejectionView:
    return RejectionView(
        row.id,
        row.device_id,
        row.table_name,
        row.row_id,
        row.reason,
        tuple(row.fields),
        dict(row.rejected_values),
        dict(row.central_values),
        row.detail,
        row.status,
        row.created_at,
    )


def list_rejections(
    store: Store, *, status: str | None = "open", device_id: str | None = None
) -> list[RejectionView]:
    with store.unit_of_work(capture=False) as uow:
        stmt = select(SyncRejection).order_by(SyncRejection.created_at, SyncRejection.id)
        if status is not None:
            stmt = stmt.where(SyncRejection.status == status)
        if device_id is not None:
            stmt = stmt.where(SyncRejection.device_id == device_id)
        return [_view(r) for r in uow.session.scalars(stmt)]


def dismiss(store: Store, rejection_id: uuid.UUID, actor_name: str) -> None:
    with store.unit_of_work() as uow:
        row = uow.session.get(SyncRejection, rejection_id)
        if row is None:
            raise RejectionNotFound(str(rejection_id))
        row.status = "dismissed"
        row.resolved_by = actor_name
        row.resolved_at = dt.datetime.now(dt.UTC)
        append_audit(
            uow.session,
            store.device_id,
            "sync.rejection.dismiss",
            actor_name=actor_name,
            target=f"{row.table_name}/{row.row_id}",
            detail={"rejection": str(row.id), "fields": list(row.fields)},
        )
        uow.commit()


def reapply(store: Store, rejection_id: uuid.UUID, actor_name: str) -> None:
    """Write the rejected values again as a new local edit of the row (it is pushed next round)."""
    with store.unit_of_work() as uow:
        session = uow.session
        row = session.get(SyncRejection, rejection_id)
        if row is None:
            raise RejectionNotFound(str(rejection_id))
        if row.status == "open" and row.reason == "unique_conflict":
            raise SetAside(f"{row.table_name}/{row.row_id}")
        if row.status != "open" or not known_table(row.table_name) or row.reason not in REAPPLICABLE:
            raise ValueError(f"rejection {rejection_id} cannot be re-applied")
        info = synced_table(row.table_name)
        target = session.get(info.model, row.row_id)
        if target is None:
            if row.reason == "denied" and "id" in row.rejected_values:
                raise SetAside(f"{row.table_name}/{row.row_id}")  # a new record the central store refused
            raise RejectionNotFound(f"{row.table_name}/{row.row_id}")
        values = info.decode({k: v for k, v in row.rejected_values.items() if k in info.columns})
        for key, column in info.columns.items():
            if column.name in values:
                setattr(target, key, values[column.name])
        row.status = "reapplied"
        row.resolved_by = actor_name
        row.resolved_at = dt.datetime.now(dt.UTC)
        append_audit(
            session,
            store.device_id,
            "sync.rejection.reapply",
            actor_name=actor_name,
            target=f"{row.table_name}/{row.row_id}",
            detail={"rejection": str(row.id), "values": dict(row.rejected_values)},
        )
        uow.commit()
