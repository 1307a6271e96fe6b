"""case search: ``case_search_keys`` (reversed number tails and name suffixes, kept by triggers)
replaces ``case_search_tails`` — a number *ending with* 4 to 8 typed characters and a name
*containing* the typed text are both found by one range over an index; and the covering index
``ix_cases_applicant_search`` (applicant, deleted, received, status, id) from which the cases of
the applicants found are paged and counted without reading a case row

Revision ID: 0012_case_search_tail
Revises: 0011_case_search_status
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_case_search_tail"
down_revision: str | Sequence[str] | None = "0011_case_search_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAIL = 8  # characters of a number kept, reversed
NAME_STARTS = 24  # a name is found by text starting within its first 24 characters
KEY = 40  # characters of a name suffix kept (a longer query is checked against the name itself)


def _reversed_tail(column: str) -> str:
    """SQLite: the last ``TAIL`` characters of ``column``, last one first (shorter values whole)."""
    return "||".join(f"substr({column}, {-i}, 1)" for i in range(1, TAIL + 1))


_POSITIONS = "[" + ",".join(str(i) for i in range(1, NAME_STARTS + 1)) + "]"

#: the keys of one applicant row (``{row}`` = NEW or the table alias)
_SQLITE_KEYS = f"""
    INSERT OR IGNORE INTO case_search_keys (kind, key, applicant_id)
    SELECT 'i', {_reversed_tail("{row}.id_number")}, {{row}}.id {{source}} WHERE {{row}}.id_number <> ''
    UNION ALL
    SELECT 'p', {_reversed_tail("{row}.phone")}, {{row}}.id {{source}} WHERE {{row}}.phone <> ''
    UNION ALL
    SELECT 'n', lower(substr({{row}}.name, j.value, {KEY})), {{row}}.id
    FROM {{source_from}} json_each('{_POSITIONS}') AS j
    WHERE j.value <= length({{row}}.name) AND substr({{row}}.name, j.value, 1) NOT IN (' ', '　', '·')
"""


def _sqlite_keys(row: str, table: str | None) -> str:
    return _SQLITE_KEYS.format(
        row=row,
        source=f"FROM {table} AS {row}" if table else "",
        source_from=f"{table} AS {row}," if table else "",
    )


_SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER trg_case_search_keys_insert AFTER INSERT ON case_applicants
    BEGIN
        {_sqlite_keys("NEW", None)};
    END
    """,
    f"""
    CREATE TRIGGER trg_case_search_keys_update AFTER UPDATE OF id_number, phone, name ON case_applicants
    BEGIN
        DELETE FROM case_search_keys WHERE applicant_id = OLD.id;
        {_sqlite_keys("NEW", None)};
    END
    """,
    """
    CREATE TRIGGER trg_case_search_keys_delete AFTER DELETE ON case_applicants
    BEGIN
        DELETE FROM case_search_keys WHERE applicant_id = OLD.id;
    END
    """,
]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_POSTGRES_KEYS = f"""
    INSERT INTO case_search_keys (kind, key, applicant_id)
    SELECT 'i', left(reverse({{row}}.id_number), {TAIL}), {{row}}.id {{source}} WHERE {{row}}.id_number <> ''
    UNION ALL
    SELECT 'p', left(reverse({{row}}.phone), {TAIL}), {{row}}.id {{source}} WHERE {{row}}.phone <> ''
    UNION ALL
    SELECT 'n', substr(translate({{row}}.name, '{_UPPER}', '{_UPPER.lower()}'), k, {KEY}), {{row}}.id
    FROM {{source_from}} generate_series(1, least(char_length({{row}}.name), {NAME_STARTS})) AS k
    WHERE substr({{row}}.name, k, 1) NOT IN (' ', '　', '·')
    ON CONFLICT DO NOTHING
"""


def _postgres_keys(row: str, table: str | None) -> str:
    return _POSTGRES_KEYS.format(
        row=row,
        source=f"FROM {table} AS {row}" if table else "",
        source_from=f"{table} AS {row}," if table else "",
    )


_POSTGRES_TRIGGERS = [
    f"""
    CREATE OR REPLACE FUNCTION case_search_keys_keep() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM case_search_keys WHERE applicant_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        {_postgres_keys("NEW", None)};
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER trg_case_search_keys
    AFTER INSERT OR DELETE OR UPDATE OF id_number, phone, name ON case_applicants
    FOR EACH ROW EXECUTE FUNCTION case_search_keys_keep()
    """,
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS trg_case_search_tails ON case_applicants")
        op.execute("DROP FUNCTION IF EXISTS case_search_tails_keep()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_case_search_tails_{name}")
    op.drop_index(op.f("ix_case_search_tails_phone_tail"), table_name="case_search_tails")
    op.drop_index(op.f("ix_case_search_tails_id_tail"), table_name="case_search_tails")
    op.drop_table("case_search_tails")
    op.create_table(
        "case_search_keys",
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column(
            "key",
            sa.String(length=KEY).with_variant(sa.String(length=KEY, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "applicant_id", name=op.f("pk_case_search_keys")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_case_search_keys_applicant_id"), "case_search_keys", ["applicant_id"], unique=False
    )
    op.create_index(
        "ix_cases_applicant_search",
        "cases",
        ["applicant_id", "deleted", "received_at", "status", "id"],
        unique=False,
    )
    if postgres:
        op.execute(_postgres_keys("a", "case_applicants"))
        for statement in _POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(_sqlite_keys("a", "case_applicants"))
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS trg_case_search_keys ON case_applicants")
        op.execute("DROP FUNCTION IF EXISTS case_search_keys_keep()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_case_search_keys_{name}")
    op.drop_index("ix_cases_applicant_search", table_name="cases")
    op.drop_index(op.f("ix_case_search_keys_applicant_id"), table_name="case_search_keys")
    op.drop_table("case_search_keys")
    # back to the four-character tails of 0010_case_search, with its triggers
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
    tail = "right({0}, 4)" if postgres else "substr({0}, -4)"
    op.execute(
        "INSERT INTO case_search_tails (applicant_id, id_tail, phone_tail) "
        f"SELECT id, {tail.format('id_number')}, {tail.format('phone')} FROM case_applicants"
    )
    if postgres:
        op.execute(
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
            """
        )
        op.execute(
            """
            CREATE TRIGGER trg_case_search_tails
            AFTER INSERT OR DELETE OR UPDATE OF id_number, phone ON case_applicants
            FOR EACH ROW EXECUTE FUNCTION case_search_tails_keep()
            """
        )
        return
    keep = (
        "INSERT OR REPLACE INTO case_search_tails (applicant_id, id_tail, phone_tail) "
        "VALUES (NEW.id, substr(NEW.id_number, -4), substr(NEW.phone, -4))"
    )
    op.execute(
        f"CREATE TRIGGER trg_case_search_tails_insert AFTER INSERT ON case_applicants BEGIN {keep}; END"
    )
    op.execute(
        "CREATE TRIGGER trg_case_search_tails_update AFTER UPDATE OF id_number, phone ON case_applicants "
        f"BEGIN {keep}; END"
    )
    op.execute(
        "CREATE TRIGGER trg_case_search_tails_delete AFTER DELETE ON case_applicants "
        "BEGIN DELETE FROM case_search_tails WHERE applicant_id = OLD.id; END"
    )
