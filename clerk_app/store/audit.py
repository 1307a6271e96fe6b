"""Appending to the audit chain of this device."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.security.audit import chain_hash
from clerk_app.store.base import utcnow
from clerk_app.store.ids import new_id
from clerk_app.store.models import AuditEntry


def _last_hash(session: Session, device: str) -> str:
    stmt = (
        select(AuditEntry.hash)
        .where(AuditEntry.origin == device)
        .order_by(AuditEntry.hlc.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    return session.scalar(stmt) or ""


def append_audit(
    session: Session,
    device: str,
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    actor_name: str = "",
    window_number: int | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    at = at or utcnow()
    entry_id = new_id()
    fields = {
        "id": str(entry_id),
        "at": at.isoformat(),
        "actor_id": str(actor_id) if actor_id else None,
        "actor_name": actor_name,
        "window_number": window_number,
        "action": action,
        "target": target,
        "detail": detail or {},
    }
    session.flush()  # earlier entries of this unit of work must be visible to _last_hash
    prev = _last_hash(session, device)
    entry = AuditEntry(
        id=entry_id,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        window_number=window_number,
        action=action,
        target=target,
        detail=detail or {},
        prev_hash=prev,
        hash=chain_hash(prev, fields),
    )
    session.add(entry)
    session.flush()
    return entry


def audit_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "at": entry.at.isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_name": entry.actor_name,
        "window_number": entry.window_number,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }
