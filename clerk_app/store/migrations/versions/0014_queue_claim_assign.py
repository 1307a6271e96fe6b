"""queue: call next writes its change-log entries without numbers (no shared lock)

``queue_claim_next`` (``0012_queue_claim_fn``) took its two change-log numbers under the lock of
the ``sync_counter`` row, held to its commit, which serialised every window's press with every
other write of the hall. From ``0014_change_log_assign`` the entries are inserted with ``seq``
NULL and numbered by ``change_log_assign()`` before a pull reads them; this revision redefines
the function with that last step only changed (a PL/pgSQL body is checked against the tables
only when it runs, so this revision need not wait for the sync branch's; a store is always
upgraded to every head before use). On SQLite it does nothing.

Revision ID: 0014_queue_claim_assign
Revises: 0013_queue_appointments
Create Date: 2026-11-28 04:55:00
"""

from collections.abc import Sequence

from alembic import op

from clerk_app.store.migrations.sources import revision_module as _revision
from clerk_app.store.migrations.sources import swapped

revision: str = "0014_queue_claim_assign"
down_revision: str | Sequence[str] | None = "0013_queue_appointments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TAIL = """    -- last: the change-log numbers are taken under the counter's row lock, held to the commit
    UPDATE sync_counter SET value = value + 2 WHERE name = 'change_log' RETURNING value INTO v_seq;
    INSERT INTO change_log (seq, table_name, row_id, op, version, source, changed, payload,
                            committed_at)
    VALUES (v_seq - 1, 'queue_tickets',"""
NEW_TAIL = """    -- the change-log entries, without numbers: change_log_assign() numbers them once committed
    INSERT INTO change_log (table_name, row_id, op, version, source, changed, payload,
                            committed_at)
    VALUES ('queue_tickets',"""
OLD_EVENT = """           (v_seq, 'queue_ticket_events',"""
NEW_EVENT = """           ('queue_ticket_events',"""


def claim_function() -> str:
    """The 0012 function with only its change-log step changed."""
    source: str = _revision("0012_queue_claim_fn").CLAIM_FUNCTION
    swaps = ((OLD_TAIL, NEW_TAIL), (OLD_EVENT, NEW_EVENT), ("    v_seq bigint;\n", ""))
    return swapped(source, swaps, "queue_claim_next of 0012")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(claim_function())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_revision("0012_queue_claim_fn").CLAIM_FUNCTION)
