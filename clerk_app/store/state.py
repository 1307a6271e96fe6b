"""Local key/value facts in ``sync_state``: the device identity and, later, sync cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clerk_app.store.ids import new_id
from clerk_app.store.models import SyncState

DEVICE_KEY = "device"


def get_state(session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(SyncState, key)
    return dict(row.value) if row else None


def put_state(session: Session, key: str, value: dict[str, Any]) -> None:
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def ensure_device_id(engine: Engine, kind: str = "workstation") -> str:
    """This store's device id, made once (UUIDv7 text) and kept in the store itself."""
    with Session(engine) as session, session.begin():
        row = session.scalar(select(SyncState).where(SyncState.key == DEVICE_KEY))
        if row is not None:
            return str(row.value["id"])
        device_id = str(new_id())
        session.add(SyncState(key=DEVICE_KEY, value={"id": device_id, "kind": kind}))
        return device_id
