"""All mapped classes. Each area has its own module; import it here so that metadata and
Alembic see every table. Areas added by later work go in their own module below."""

from clerk_app.store.models import (
    case_search,  # noqa: F401 - registers the case search indexes
    cases,  # noqa: F401 - registers the case tables
    documents,  # noqa: F401 - registers the document tables
    queue,  # noqa: F401 - registers the queue tables
    supervision,  # noqa: F401 - registers the supervision tables
)
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
from clerk_app.store.models.sync import (
    ChangeLogEntry,
    PushLedgerEntry,
    SyncCounter,
    SyncDevice,
    SyncRejection,
    SyncRoleHall,
)

__all__ = [
    "AuditEntry",
    "ChangeLogEntry",
    "Department",
    "Device",
    "Hall",
    "LoginThrottle",
    "OutboxEntry",
    "PushLedgerEntry",
    "Setting",
    "SyncCounter",
    "SyncDevice",
    "SyncRejection",
    "SyncRoleHall",
    "SyncState",
    "User",
    "Window",
]
