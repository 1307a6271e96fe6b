"""sync: only the workstations' roles may run change_log_assign()

``change_log_assign()`` (``0014_change_log_assign``) runs with its owner's rights (``SECURITY
DEFINER``) and PostgreSQL lets every role execute a new function (the ``PUBLIC`` grant), so any
login role of the server could move the central change-log counter. From this revision only the
function's owner and the roles granted it may call it: ``create_device_role`` grants it to every
workstation role it makes or refreshes, and this revision grants it to the workstation roles
that already exist (those named in ``sync_role_halls``). Nothing to do on SQLite.

Revision ID: 0016_change_log_assign_grant
Revises: 0015_outbox_row_index
Create Date: 2026-11-28 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_change_log_assign_grant"
down_revision: str | Sequence[str] | None = "0015_outbox_row_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the login roles of the registered workstations
DEVICE_ROLES = (
    "SELECT DISTINCT h.role_name FROM sync_role_halls h JOIN pg_roles r ON r.rolname = h.role_name ORDER BY 1"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("REVOKE EXECUTE ON FUNCTION change_log_assign() FROM PUBLIC")
    roles = bind.execute(sa.text(DEVICE_ROLES)).scalars()
    quote = bind.dialect.identifier_preparer.quote
    for role in roles:
        op.execute(f"GRANT EXECUTE ON FUNCTION change_log_assign() TO {quote(role)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("GRANT EXECUTE ON FUNCTION change_log_assign() TO PUBLIC")
