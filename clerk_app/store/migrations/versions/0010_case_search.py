"""case search: indexes on applicants' number, phone and name and on cases' reception time, and the
store-local ``case_search_tails`` (last four characters of number and phone) kept by triggers

Revision ID: 0010_case_search
Revises: 0006_cases
Create Date: 2026-11-28 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_case_search"
down_revision: str | Sequence[str] | None = "0006_cases"
branch_labels: str | Sequence[str] | None = ("case_search",)
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER trg_case_search_tails_insert AFTER INSERT ON case_applicants
    BEGIN
        INSERT OR REPLACE INTO case_search_tails (applicant_id, id_tail, phone_tail)
        VALUES (NEW.id, substr(NEW.id_number, -4), substr(NEW.phone, -4));
    END
    """,
    """
    CREATE TRIGGER trg_case_search_tails_update AFTER UPDATE OF id_number, phone ON case_applicants
    BEGIN
        INSERT OR REPLACE INTO case_search_tails (applicant_id, id_tail, phone_tail)
        VALUES (NEW.id, substr(NEW.id_number, -4), substr(NEW.phone, -4));
    END
    """,
    """
    CREATE TRIGGER trg_case_search_tails_delete AFTER DELETE ON case_applicants
    BEGIN
        DELETE FROM case_search_tails WHERE applicant_id = OLD.id;
    END
    """,
]

_POSTGRES_TRIGGERS = [
    """
    CREATE OR REPLACE FUNCTION case_search_tails_keep() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM case_search_tails WHERE applicant_id = OLD.id;
            RETURN OLD;
        END IF;
        INSERT INTO case_search_tails (applicant_id, id_tail, phone_tail)
        VALUES (NEW.id, right(NEW.id_number, 4), right(NEW.phone, 4))
        ON CONFLICT (applicant_id)
        DO UPDATE SET id_tail = EXCLUDED.id_tail, phone_tail = EXCLUDED.phone_tail;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER trg_case_search_tails
    AFTER INSERT OR DELETE OR UPDATE OF id_number, phone ON case_applicants
    FOR EACH ROW EXECUTE FUNCTION case_search_tails_keep()
    """,
]


def upgrade() -> None:
    op.create_index("ix_case_applicants_id_number", "case_applicants", ["id_number"], unique=False)
    op.create_index("ix_case_applicants_phone", "case_applicants", ["phone"], unique=False)
    op.create_index("ix_case_applicants_name", "case_applicants", ["name"], unique=False)
    op.create_index("ix_cases_received_at", "cases", ["received_at"], unique=False)
    op.create_table(
        "case_search_tails",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("id_tail", sa.String(length=4), nullable=False),
        sa.Column("phone_tail", sa.String(length=4), nullable=False),
        sa.PrimaryKeyConstraint("applicant_id", name=op.f("pk_case_search_tails")),
    )
    op.create_index(op.f("ix_case_search_tails_id_tail"), "case_search_tails", ["id_tail"], unique=False)
    op.create_index(
        op.f("ix_case_search_tails_phone_tail"), "case_search_tails", ["phone_tail"], unique=False
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    tail = "right({0}, 4)" if postgres else "substr({0}, -4)"
    op.execute(
        "INSERT INTO case_search_tails (applicant_id, id_tail, phone_tail) "
        f"SELECT id, {tail.format('id_number')}, {tail.format('phone')} FROM case_applicants"
    )
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_case_search_tails ON case_applicants")
        op.execute("DROP FUNCTION IF EXISTS case_search_tails_keep()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_case_search_tails_{name}")
    op.drop_index(op.f("ix_case_search_tails_phone_tail"), table_name="case_search_tails")
    op.drop_index(op.f("ix_case_search_tails_id_tail"), table_name="case_search_tails")
    op.drop_table("case_search_tails")
    op.drop_index("ix_cases_received_at", table_name="cases")
    op.drop_index("ix_case_applicants_name", table_name="case_applicants")
    op.drop_index("ix_case_applicants_phone", table_name="case_applicants")
    op.drop_index("ix_case_applicants_id_number", table_name="case_applicants")
