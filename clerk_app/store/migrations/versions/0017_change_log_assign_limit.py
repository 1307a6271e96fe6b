"""sync: the change log numbered a page at a time, as pulls read it

``change_log_assign()`` (``0014_change_log_assign``) numbers every committed entry still without a
number, in one transaction. After a large push (a workstation back from a day offline, a hall's
first upload) the first pull to come waited for all of them to be numbered before it got its first
page: 100,000 entries took 1.5 s, the counter's row lock held all that time, every entry rewritten
in one go, and nothing to show on the progress bar meanwhile.

``change_log_assign(p_limit)`` numbers at most ``p_limit`` of them, the oldest first (``id``
order, as before); NULL numbers all. A pull asks for one page's worth before each page, so the
next page is numbered by the server while the workstation applies the current one. The order
guarantee is the one of 0014: the entries left unnumbered are numbered by a later run, after
everything numbered before, exactly as if their transactions had committed later; a reader that
sees a number sees every number below it.

The function without an argument stays (older workstations call it) and numbers everything, as
before. Both run with their owner's rights; like the first, the new one is taken from ``PUBLIC``
and given to the workstations' roles (``create_device_role`` gives it to the roles it makes or
refreshes). Nothing to do on SQLite, where a writer numbers its own entries.

Revision ID: 0017_change_log_assign_limit
Revises: 0016_change_log_assign_grant
Create Date: 2026-11-28 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_change_log_assign_limit"
down_revision: str | Sequence[str] | None = "0016_change_log_assign_grant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSIGN_LIMITED = """
CREATE OR REPLACE FUNCTION change_log_assign(p_limit integer) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    v_last bigint;
    v_count bigint;
BEGIN
    -- each statement below sees what was committed before it started (READ COMMITTED): the
    -- numbering sees the previous run's numbers, which committed before this run got the lock
    IF NOT EXISTS (SELECT 1 FROM change_log WHERE seq IS NULL) THEN
        SELECT value INTO v_last FROM sync_counter WHERE name = 'change_log';
        RETURN coalesce(v_last, 0);
    END IF;
    SELECT value INTO v_last FROM sync_counter WHERE name = 'change_log' FOR UPDATE;
    WITH pending AS (
        SELECT o.id, row_number() OVER (ORDER BY o.id) AS n
        FROM (SELECT c.id FROM change_log c WHERE c.seq IS NULL ORDER BY c.id LIMIT p_limit) o
    )
    UPDATE change_log c
    SET seq = v_last + p.n, committed_at = clock_timestamp()
    FROM pending p
    WHERE c.id = p.id AND c.seq IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        UPDATE sync_counter SET value = v_last + v_count WHERE name = 'change_log';
    END IF;
    RETURN v_last + v_count;
END;
$$
"""

#: the roles of the registered workstations (as 0016 finds them)
DEVICE_ROLES = (
    "SELECT DISTINCT h.role_name FROM sync_role_halls h JOIN pg_roles r ON r.rolname = h.role_name ORDER BY 1"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(ASSIGN_LIMITED)
    op.execute("REVOKE EXECUTE ON FUNCTION change_log_assign(integer) FROM PUBLIC")
    quote = bind.dialect.identifier_preparer.quote
    for role in bind.execute(sa.text(DEVICE_ROLES)).scalars():
        op.execute(f"GRANT EXECUTE ON FUNCTION change_log_assign(integer) TO {quote(role)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS change_log_assign(integer)")
