"""supervision: ratings, rectifications and their events, the 办不成事 ledger and its events

Revision ID: 0008_supervision
Revises: 0001
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_supervision"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("supervision",)
depends_on: str | Sequence[str] | None = None


def _synced(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.String(length=96), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("service_ref", sa.String(length=120), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=True),
        sa.Column("efficiency", sa.Integer(), nullable=True),
        sa.Column("competence", sa.Integer(), nullable=True),
        sa.Column("attitude", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("clerk_id", sa.Uuid(), nullable=True),
        sa.Column("clerk_name", sa.String(length=100), nullable=False),
        sa.Column("window_number", sa.Integer(), nullable=True),
        sa.Column("matter_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_phone", sa.String(length=32), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        *_synced("ratings"),
    )
    op.create_index("uq_ratings_service_ref", "ratings", ["service_ref"], unique=True)
    op.create_index("ix_ratings_clerk_id", "ratings", ["clerk_id"])
    op.create_table(
        "rectifications",
        sa.Column("rating_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("clerk_id", sa.Uuid(), nullable=True),
        sa.Column("clerk_name", sa.String(length=100), nullable=False),
        sa.Column("window_number", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("follow_ups", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("cause_category", sa.String(length=32), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=False),
        sa.Column("re_rating", sa.String(length=8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["rating_id"], ["ratings.id"], name=op.f("fk_rectifications_rating_id_ratings")
        ),
        *_synced("rectifications"),
    )
    op.create_index("uq_rectifications_rating_id", "rectifications", ["rating_id"], unique=True)
    op.create_index("ix_rectifications_status", "rectifications", ["status"])
    op.create_table(
        "rectification_events",
        sa.Column("rectification_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectifications.id"],
            name=op.f("fk_rectification_events_rectification_id_rectifications"),
        ),
        *_synced("rectification_events"),
    )
    op.create_index("ix_rectification_events_rectification_id", "rectification_events", ["rectification_id"])
    op.create_table(
        "complaint_cases",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("hotline_ref", sa.String(length=64), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_phone", sa.String(length=32), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("window_number", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("matter_name", sa.String(length=200), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("rating_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("complexity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("first_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handover_department", sa.String(length=200), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("negative_reason", sa.Text(), nullable=False),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=False),
        *_synced("complaint_cases"),
        sa.UniqueConstraint("number", name=op.f("uq_complaint_cases_number")),
    )
    op.create_index("ix_complaint_cases_registered_at", "complaint_cases", ["registered_at"])
    op.create_table(
        "complaint_events",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["complaint_cases.id"], name=op.f("fk_complaint_events_case_id_complaint_cases")
        ),
        *_synced("complaint_events"),
    )
    op.create_index("ix_complaint_events_case_id", "complaint_events", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_events_case_id", table_name="complaint_events")
    op.drop_table("complaint_events")
    op.drop_index("ix_complaint_cases_registered_at", table_name="complaint_cases")
    op.drop_table("complaint_cases")
    op.drop_index("ix_rectification_events_rectification_id", table_name="rectification_events")
    op.drop_table("rectification_events")
    op.drop_index("ix_rectifications_status", table_name="rectifications")
    op.drop_index("uq_rectifications_rating_id", table_name="rectifications")
    op.drop_table("rectifications")
    op.drop_index("ix_ratings_clerk_id", table_name="ratings")
    op.drop_index("uq_ratings_service_ref", table_name="ratings")
    op.drop_table("ratings")
