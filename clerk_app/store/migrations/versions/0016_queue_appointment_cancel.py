"""queue: appointments imported from the booking platform, cancelled with a reason

Adds the applicant's mobile number (from the booking platform's export), and for a cancelled
booking when and why (申请人来电取消, 逾期未到 …) and by whom; the audit trail keeps the same.

Revision ID: 0016_queue_appointment_cancel
Revises: 0015_queue_press_fn
Create Date: 2026-11-28 07:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_queue_appointment_cancel"
down_revision: str | Sequence[str] | None = "0015_queue_press_fn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_appointments") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=False, server_default=""))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("queue_appointments") as batch:
        batch.drop_column("cancelled_by")
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
        batch.drop_column("phone")
