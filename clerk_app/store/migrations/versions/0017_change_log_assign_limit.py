"""sync: change_log_assign(limit) numbers at most ``limit`` entries per run

``change_log_assign()`` numbers every committed entry still without a number in one run. A pull
calls it before reading each page, so after a large push the first page waited for the whole
backlog to be numbered (100,000 entries: one UPDATE of 100,000 log rows) before a single row
could be applied. ``change_log_assign(p_limit)`` numbers only the first ``p_limit`` of them (in
``id`` order, the order inserted); a pull asks for one page's worth and numbers the rest page by
page, while it applies the previous page.

The guarantee is unchanged: a run still numbers, after the last number handed out and in
insertion order, entries that committed before it; what it leaves (committed later, or beyond
the limit) is numbered by a later run above every number handed out before. Runs are serialised
by the ``sync_counter`` row as before. ``change_log_assign()`` (no limit) stays for status,
snapshots and older programs. Only the workstation roles may run it (as ``0016``).

Revision ID: 0017_change_log_assign_limit
Revises: 0016_change_log_assign_grant
Create Date: 2026-11-28 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_change_log_assign_limit"
down_revision: str | Sequence[str] | None = "0016_change_log_assign_grant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSIGN_LIMITED = """
CREATE OR REPLACE FUNCTION change_log_assign(p_limit bigint) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    v_last bigint;
    v_count bigint;
BEGIN
    -- as change_log_assign(): each statement sees what was committed before it started, so the
    -- numbering sees the previous run's numbers, which committed before this run got the lock
    IF NOT EXISTS (SELECT 1 FROM change_log WHERE seq IS NULL) THEN
        SELECT value INTO v_last FROM sync_counter WHERE name = 'change_log';
        RETURN coalesce(v_last, 0);
    END IF;
    SELECT value INTO v_last FROM sync_counter WHERE name = 'change_log' FOR UPDATE;
    WITH pending AS (
        SELECT u.id, row_number() OVER (ORDER BY u.id) AS n
        FROM (SELECT c.id FROM change_log c WHERE c.seq IS NULL ORDER BY c.id LIMIT p_limit) AS u
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


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(ASSIGN_LIMITED)
    op.execute("REVOKE EXECUTE ON FUNCTION change_log_assign(bigint) FROM PUBLIC")
    roles = bind.execute(
        sa.text(
            "SELECT DISTINCT h.role_name FROM sync_role_halls h"
            " JOIN pg_roles r ON r.rolname = h.role_name ORDER BY 1"
        )
    ).scalars()
    quote = bind.dialect.identifier_preparer.quote
    for role in roles:
        op.execute(f"GRANT EXECUTE ON FUNCTION change_log_assign(bigint) TO {quote(role)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS change_log_assign(bigint)")
