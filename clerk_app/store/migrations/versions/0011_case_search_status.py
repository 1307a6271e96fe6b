"""case search: index on cases (status, deleted, received_at) — a status filter reads its newest
cases in order and counts them from the index alone

Revision ID: 0011_case_search_status
Revises: 0010_case_search
Create Date: 2026-11-28 01:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_case_search_status"
down_revision: str | Sequence[str] | None = "0010_case_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_status_received", "cases", ["status", "deleted", "received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_status_received", table_name="cases")
