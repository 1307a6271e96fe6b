"""sync: the push ledger's row index holds only the entries a later edit is decided on

``ix_sync_push_ledger_device_row`` (device, row) serves one lookup: before a batch's edits are
decided, the device's last processed entry of each edited row, whose (device version, central
version) tells what the next edit of that row was based on (``clerk_app.sync.central._Batch``).
An entry applied as sent has both versions equal and changes nothing in that lookup: an edit based
on its version is based on the same central version. Such entries are nearly all of them (every
new row), and each cost an index entry; the index now holds only the entries whose two versions
differ (merged, rejected, given another version), and the lookup asks only for those. An older
entry of the same row cannot stand in for a skipped one: a device's versions of a row only grow,
so an older entry's device version is below the version any later edit is based on.

Revision ID: 0019_push_ledger_edit_index
Revises: 0018_change_log_order
Create Date: 2026-11-28 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_push_ledger_edit_index"
down_revision: str | Sequence[str] | None = "0018_change_log_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("local_version <> central_version")


def upgrade() -> None:
    op.drop_index("ix_sync_push_ledger_device_row", table_name="sync_push_ledger")
    op.create_index(
        "ix_sync_push_ledger_edits",
        "sync_push_ledger",
        ["device_id", "row_id"],
        postgresql_where=WHERE,
        sqlite_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_sync_push_ledger_edits", table_name="sync_push_ledger")
    op.create_index("ix_sync_push_ledger_device_row", "sync_push_ledger", ["device_id", "row_id"])
