"""Bring a store's schema up to date on start, and refuse a store newer than this program.

Migrations live in ``clerk_app/store/migrations/versions``. Areas of the product add their own
branch (``down_revision`` = the foundation revision, a ``branch_labels`` of their own); the
store is upgraded to every head.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

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


if TYPE_CHECKING:
    from alembic.config import Config

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.M)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@cache
def _revision_graph() -> tuple[frozenset[str], frozenset[str]]:
    """(all revisions, heads) read from the migration files' headers without importing Alembic:
    start-up only needs to know whether the store is current, which is the common case."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in (files("clerk_app.store") / "migrations" / "versions").iterdir():
        if not entry.name.endswith(".py"):
            continue
        source = entry.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions), frozenset(revisions - parents)


def _stored_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}


def _config(stack: ExitStack) -> Config:
    from alembic.config import Config

    folder = stack.enter_context(as_file(files("clerk_app.store") / "migrations"))
    config = Config()
    config.set_main_option("script_location", str(folder))
    return config


def script_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    with ExitStack() as stack:
        return set(ScriptDirectory.from_config(_config(stack)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    return _stored_revisions(engine)


def known_revisions() -> set[str]:
    return set(_revision_graph()[0])


def upgrade(engine: Engine) -> None:
    """Migrate ``engine``'s database to every head; raise StoreTooNewError first if needed."""
    stored = _stored_revisions(engine)
    unknown = stored - known_revisions()
    if unknown:
        raise StoreTooNewError(unknown)
    if stored == set(_revision_graph()[1]):
        return
    from alembic import command

    with ExitStack() as stack, engine.begin() as conn:
        config = _config(stack)
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == script_heads()
