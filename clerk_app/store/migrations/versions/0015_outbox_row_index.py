"""sync: an index on the outbox's row id

The workstation looks outbox entries up by row (``clerk_app.sync.client._pending``: a pulled or
acknowledged row is left alone while changes of it still wait; ``_drop_provisional``), with
``row_id IN (…)`` for up to 500 ids at a time; without an index each such lookup read the whole
outbox, which after a day offline holds thousands of entries.

Revision ID: 0015_outbox_row_index
Revises: 0014_change_log_assign
Create Date: 2026-11-28 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_outbox_row_index"
down_revision: str | Sequence[str] | None = "0014_change_log_assign"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_row_id", "outbox", ["row_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_row_id", table_name="outbox")
