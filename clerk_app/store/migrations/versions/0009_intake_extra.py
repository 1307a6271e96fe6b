"""cases: matter-specific intake fields (catalogue ``ExtraField`` values) on the case

Revision ID: 0009_intake_extra
Revises: 0006_cases
Create Date: 2026-11-28 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_intake_extra"
down_revision: str | Sequence[str] | None = "0006_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("extra", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("extra")
