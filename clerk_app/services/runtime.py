"""Opening the stores: the local SQLite store of this workstation and the central store.

With no configuration the central store is a SQLite file beside the local one (the embedded
default, for one machine and for demos); a real hall points ``--central`` at PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from clerk_app import settings as settings_mod
from clerk_app.settings import AppPaths, Settings
from clerk_app.store import migrate
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.state import ensure_device_id
from clerk_app.store.uow import Store

log = logging.getLogger("clerk.db")


@dataclass
class Runtime:
    paths: AppPaths
    settings: Settings
    local: Store
    central: Store
    central_url: str

    @property
    def device_id(self) -> str:
        return self.local.device_id

    @property
    def central_is_embedded(self) -> bool:
        return make_url(self.central_url).get_backend_name() == "sqlite"

    def describe_central(self) -> str:
        return make_url(self.central_url).render_as_string(hide_password=True)

    def save_settings(self, new: Settings) -> None:
        settings_mod.save(self.paths.settings_file, new)
        self.settings = new

    def close(self) -> None:
        self.local.dispose()
        self.central.dispose()


def open_store(url: str, kind: str = "workstation") -> Store:
    engine = make_engine(url)
    migrate.upgrade(engine)
    device = ensure_device_id(engine, kind)
    return Store(engine, device)


def open_runtime(paths: AppPaths, central_url: str | None = None) -> Runtime:
    """Create or migrate both stores; raises StoreTooNewError for a store from a newer release."""
    paths.ensure()
    current = settings_mod.load(paths.settings_file)
    url = central_url or current.central_url or sqlite_url(paths.embedded_central)
    local = open_store(sqlite_url(paths.local_store))
    central = open_store(url, kind="central")
    log.info(
        "local store %s, central %s", paths.local_store, make_url(url).render_as_string(hide_password=True)
    )
    return Runtime(paths, current, local, central, url)
