"""Alembic environment: always run programmatically with a connection handed in by
``clerk_app.store.migrate`` (there is no alembic.ini to point at a database)."""

from __future__ import annotations

from alembic import context

from clerk_app.store import models  # noqa: F401 - registers every table
from clerk_app.store.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
