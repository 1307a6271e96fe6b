"""queue: appointments checked in at the kiosk

Revision ID: 0013_queue_appointments
Revises: 0012_queue_claim_fn
Create Date: 2026-11-28 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_queue_appointments"
down_revision: str | Sequence[str] | None = "0012_queue_claim_fn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_appointments",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=4), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applicant_name", sa.String(length=60), nullable=False),
        sa.Column("id_number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.String(length=96), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_queue_appointments_code")),
    )
    op.create_index("ix_queue_appointments_day_id", "queue_appointments", ["service_day", "id_number"])


def downgrade() -> None:
    op.drop_index("ix_queue_appointments_day_id", table_name="queue_appointments")
    op.drop_table("queue_appointments")
