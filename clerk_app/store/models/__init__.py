"""All mapped classes. Each area has its own module; import it here so that metadata and
Alembic see every table. Areas added by later work go in their own module below."""

from clerk_app.store.models.core import (
    AuditEntry,
    Department,
    Device,
    Hall,
    LoginThrottle,
    OutboxEntry,
    Setting,
    SyncState,
    User,
    Window,
)

__all__ = [
    "AuditEntry",
    "Department",
    "Device",
    "Hall",
    "LoginThrottle",
    "OutboxEntry",
    "Setting",
    "SyncState",
    "User",
    "Window",
]
