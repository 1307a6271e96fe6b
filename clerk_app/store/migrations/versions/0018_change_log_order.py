"""sync: the change log's numbers in a narrow table of their own (PostgreSQL)

Until this revision ``change_log_assign`` numbered an entry by updating its ``change_log`` row.
A log row is wide (its payload: about 460 bytes for a hall) and indexed four times, so each
number rewrote the whole row and added three index entries: 17 µs per entry, most of a pull's
server time (the page itself is built in about 4 µs per entry).

From this revision, on PostgreSQL:

- ``change_log_pending(id)`` holds the ids of the entries still without a number. A statement
  trigger on ``change_log`` (``change_log_pend``, with its owner's rights) adds them in the
  writer's transaction, so they become visible exactly when the entries do; no writer changes.
- ``change_log_assign(p_limit)`` (and ``change_log_assign()``, all of them), under the counter
  row's lock as before, deletes the oldest committed pending ids and inserts
  ``change_log_order(seq, id, numbered_at)``: two narrow rows instead of a wide one. The order
  guarantee is the one of ``0014_change_log_assign``: a transaction that commits late is
  invisible to one run and numbered by a later one, above everything numbered before; a run's
  numbers commit together.
- A pull reads ``change_log_order`` from its cursor and joins the log rows by ``id``;
  retention prunes by ``numbered_at``.
- ``change_log.seq`` stays (the numbers given before this revision, copied into
  ``change_log_order``); new entries leave it NULL. Its two indexes go (a NULL was indexed for
  every new entry).

The workstation roles that exist get ``SELECT`` on both tables (new roles get it with every
table). Nothing changes on SQLite, where a writer numbers its own entries at commit.

Revision ID: 0018_change_log_order
Revises: 0017_change_log_assign_limit
Create Date: 2026-11-28 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clerk_app.store.migrations.sources import revision_module, swapped

revision: str = "0018_change_log_order"
down_revision: str | Sequence[str] | None = "0017_change_log_assign_limit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    """CREATE TABLE change_log_order (
    seq bigint PRIMARY KEY,
    id bigint NOT NULL,
    numbered_at timestamptz NOT NULL DEFAULT clock_timestamp()
)""",
    "CREATE TABLE change_log_pending (id bigint PRIMARY KEY)",
)

PEND_TRIGGER = """
CREATE OR REPLACE FUNCTION change_log_pend() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
    INSERT INTO change_log_pending (id) SELECT id FROM new_entries;
    RETURN NULL;
END;
$$
"""
PEND_TRIGGER_ON = """
CREATE TRIGGER change_log_pend AFTER INSERT ON change_log
REFERENCING NEW TABLE AS new_entries
FOR EACH STATEMENT EXECUTE FUNCTION change_log_pend();
"""

#: how this revision numbers: committed pending ids move into ``change_log_order``
NUMBER_INTO_ORDER = """    WITH taken AS (
        DELETE FROM change_log_pending p
        WHERE p.id IN (SELECT q.id FROM change_log_pending q ORDER BY q.id LIMIT p_limit)
        RETURNING p.id
    )
    INSERT INTO change_log_order (seq, id)
    SELECT v_last + row_number() OVER (ORDER BY t.id), t.id FROM taken t;
"""


def assign_function() -> str:
    """``change_log_assign(p_limit)`` of 0017 (itself 0014's) numbering into the new table: the
    same lock, counter and answer."""
    source: str = revision_module("0017_change_log_assign_limit").assign_function()
    start = source.index("    WITH pending AS (")
    end = source.index("c.seq IS NULL;\n", start) + len("c.seq IS NULL;\n")
    swaps = (
        ("IF NOT EXISTS (SELECT 1 FROM change_log WHERE seq IS NULL)", "IF NOT EXISTS (SELECT 1 FROM change_log_pending)"),
        (source[start:end], NUMBER_INTO_ORDER),
    )
    return swapped(source, swaps, "change_log_assign of 0017")


ASSIGN_FUNCTION = assign_function()
#: the same with no limit (older workstations call it), a function of its own
ASSIGN_ALL_FUNCTION = swapped(
    ASSIGN_FUNCTION,
    (
        ("change_log_assign(p_limit integer) RETURNS", "change_log_assign() RETURNS"),
        (" ORDER BY q.id LIMIT p_limit)", ")"),
    ),
    "change_log_assign of 0018",
)


def _device_roles(bind: sa.Connection) -> list[str]:
    query: str = revision_module("0016_change_log_assign_grant").DEVICE_ROLES
    return list(bind.execute(sa.text(query)).scalars())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # writers wait until the numbers move over: an entry inserted before the trigger exists and
    # committed after the copy would otherwise never be numbered
    op.execute("LOCK TABLE change_log IN SHARE ROW EXCLUSIVE MODE")
    op.execute("SELECT change_log_assign()")  # 0017's function: every committed entry numbered
    for statement in TABLES:
        op.execute(statement)
    op.execute(
        "INSERT INTO change_log_order (seq, id, numbered_at) "
        "SELECT seq, id, committed_at FROM change_log WHERE seq IS NOT NULL"
    )
    op.execute("INSERT INTO change_log_pending (id) SELECT id FROM change_log WHERE seq IS NULL")
    for statement in (PEND_TRIGGER, PEND_TRIGGER_ON, ASSIGN_FUNCTION, ASSIGN_ALL_FUNCTION):
        op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_change_log_unassigned")
    op.execute("DROP INDEX IF EXISTS ix_change_log_seq")
    op.execute("REVOKE ALL ON change_log_order, change_log_pending FROM PUBLIC")
    quote = bind.dialect.identifier_preparer.quote
    for role in _device_roles(bind):
        op.execute(f"GRANT SELECT ON change_log_order, change_log_pending TO {quote(role)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE change_log IN SHARE ROW EXCLUSIVE MODE")
    op.execute("SELECT change_log_assign()")
    op.execute("DROP TRIGGER IF EXISTS change_log_pend ON change_log")
    op.execute("DROP FUNCTION IF EXISTS change_log_pend()")
    op.execute(
        "UPDATE change_log c SET seq = o.seq, committed_at = o.numbered_at "
        "FROM change_log_order o WHERE o.id = c.id AND c.seq IS NULL"
    )
    op.execute("DROP TABLE change_log_order, change_log_pending")
    op.create_index("ix_change_log_seq", "change_log", ["seq"], unique=True)
    op.create_index("ix_change_log_unassigned", "change_log", ["id"], postgresql_where=sa.text("seq IS NULL"))
    op.execute(revision_module("0014_change_log_assign").ASSIGN_FUNCTION)
    op.execute(revision_module("0017_change_log_assign_limit").assign_function())
