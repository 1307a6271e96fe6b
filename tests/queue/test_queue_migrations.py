"""The queue's migrations (0004_queue, 0012_queue_claim_fn, 0013_queue_appointments) build exactly
the tables the queue models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clerk_app.services.runtime import open_store
from clerk_app.store.base import Base

QUEUE_TABLES = {
    "queue_categories", "queue_window_categories", "queue_tickets", "queue_ticket_events",
    "queue_counters", "queue_requests", "queue_window_states", "queue_appointments",
}  # fmt: skip


def _tables(diff: Any) -> set[str]:
    item = diff[0] if isinstance(diff, list) else diff
    found = set()
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(getattr(part, "table", None), "name", None)
        found |= {n for n in (name, table, part if isinstance(part, str) else None) if n}
    return found


def test_queue_migrations_match_the_models(db_url: str) -> None:
    store = open_store(db_url, kind="central")
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _tables(d) & QUEUE_TABLES] == []
    store.dispose()
