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

from clerk_app.store.migrations.sources import revision_module, swapped

revision: str = "0017_change_log_assign_limit"
down_revision: str | Sequence[str] | None = "0016_change_log_assign_grant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the entries 0014's function numbers (all of them), and those this one does
ALL_PENDING = """        SELECT c.id, row_number() OVER (ORDER BY c.id) AS n
        FROM change_log c
        WHERE c.seq IS NULL
"""
OLDEST_PENDING = """        SELECT o.id, row_number() OVER (ORDER BY o.id) AS n
        FROM (SELECT c.id FROM change_log c WHERE c.seq IS NULL ORDER BY c.id LIMIT p_limit) o
"""


def assign_function() -> str:
    """``change_log_assign(p_limit)``: the 0014 function numbering the oldest ``p_limit``."""
    source: str = revision_module("0014_change_log_assign").ASSIGN_FUNCTION
    swaps = (
        ("change_log_assign() RETURNS", "change_log_assign(p_limit integer) RETURNS"),
        (ALL_PENDING, OLDEST_PENDING),
    )
    return swapped(source, swaps, "change_log_assign of 0014")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(assign_function())
    op.execute("REVOKE EXECUTE ON FUNCTION change_log_assign(integer) FROM PUBLIC")
    quote = bind.dialect.identifier_preparer.quote
    device_roles = revision_module("0016_change_log_assign_grant").DEVICE_ROLES
    for role in bind.execute(sa.text(device_roles)).scalars():
        op.execute(f"GRANT EXECUTE ON FUNCTION change_log_assign(integer) TO {quote(role)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS change_log_assign(integer)")
