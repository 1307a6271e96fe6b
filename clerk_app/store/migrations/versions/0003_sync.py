"""sync: change log with commit-ordered counter, push ledger, devices, rejections

Revision ID: 0003_sync
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003_sync"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("sync",)
depends_on: str | Sequence[str] | None = None

def _synced() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.String(length=96), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The outbox sequence is the device order of changes and the key of the central push
        # ledger: it must never be handed out twice. A plain INTEGER PRIMARY KEY reuses numbers
        # once the outbox has been emptied; AUTOINCREMENT does not.
        with op.batch_alter_table(
            "outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.alter_column("seq", existing_type=sa.Integer(), autoincrement=True)
    op.create_table(
        "change_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_log")),
    )
    op.create_index("ix_change_log_row_version", "change_log", ["row_id", "version"])

    counter = op.create_table(
        "sync_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_counter")),
    )
    op.bulk_insert(
        counter,
        [
            {"name": "change_log", "value": 0},
            {"name": "pruned_through", "value": 0},
            {"name": "schema", "value": 1},
        ],
    )

    op.create_table(
        "sync_push_ledger",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("local_version", sa.BigInteger(), nullable=False),
        sa.Column("central_version", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "seq", name=op.f("pk_sync_push_ledger")),
    )
    op.create_index("ix_sync_push_ledger_device_row", "sync_push_ledger", ["device_id", "row_id"])

    op.create_table(
        "sync_devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hall_id", sa.Uuid(), nullable=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_push_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("outbox_waiting", sa.Integer(), nullable=False),
        sa.Column("clock_skew_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_sync_devices")),
    )

    op.create_table(
        "sync_role_halls",
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.Column("hall_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("role_name", "hall_id", name=op.f("pk_sync_role_halls")),
    )

    op.create_table(
        "sync_rejections",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("rejected_values", sa.JSON(), nullable=False),
        sa.Column("central_values", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_synced(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_rejections")),
    )
    op.create_index("ix_sync_rejections_device_id", "sync_rejections", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_rejections_device_id", table_name="sync_rejections")
    op.drop_table("sync_rejections")
    op.drop_table("sync_role_halls")
    op.drop_table("sync_devices")
    op.drop_index("ix_sync_push_ledger_device_row", table_name="sync_push_ledger")
    op.drop_table("sync_push_ledger")
    op.drop_table("sync_counter")
    op.drop_index("ix_change_log_row_version", table_name="change_log")
    op.drop_table("change_log")
