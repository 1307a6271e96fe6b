"""Bring a store's schema up to date on start, and refuse a store newer than this program.

Migrations live in ``clerk_app/store/migrations/versions``. Areas of the product add their own
branch (``down_revision`` = the foundation revision, a ``branch_labels`` of their own); the
store is upgraded to every head.
"""

from __future__ import annotations

from contextlib import ExitStack
from importlib.resources import as_file, files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from clerk_app.i18n import _


class StoreTooNewError(RuntimeError):
    """The database was migrated by a newer version of the application."""

    def __init__(self, unknown: set[str]) -> None:
        self.unknown = unknown
        super().__init__(
            _("数据库由更新版本的程序创建（版本 {revs}），本程序无法安全使用。请升级本程序后再启动。").format(
                revs=", ".join(sorted(unknown))
            )
        )


def _config(stack: ExitStack) -> Config:
    folder = stack.enter_context(as_file(files("clerk_app.store") / "migrations"))
    config = Config()
    config.set_main_option("script_location", str(folder))
    return config


def script_heads() -> set[str]:
    with ExitStack() as stack:
        return set(ScriptDirectory.from_config(_config(stack)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def known_revisions() -> set[str]:
    with ExitStack() as stack:
        script = ScriptDirectory.from_config(_config(stack))
        return {rev.revision for rev in script.walk_revisions()}


def upgrade(engine: Engine) -> None:
    """Migrate ``engine``'s database to every head; raise StoreTooNewError first if needed."""
    unknown = current_revisions(engine) - known_revisions()
    if unknown:
        raise StoreTooNewError(unknown)
    with ExitStack() as stack, engine.begin() as conn:
        config = _config(stack)
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == script_heads()
