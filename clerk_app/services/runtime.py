"""Opening the stores: the local SQLite store of this workstation and the central store.

With no configuration the central store is a SQLite file beside the local one (the embedded
default, for one machine and for demos); a real hall points ``--central`` at PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

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
    return Store(engine, device, role="central" if kind == "central" else "workstation")


def open_central(url: str, local: Store) -> Store:
    """The central store as this workstation writes to it: its changes carry this workstation's
    device id and clock. Unreachable is not an error: the workstation starts offline and works
    on its local store (the central schema is brought up to date once it is reached)."""
    engine = make_engine(_with_password(url))
    try:
        migrate.upgrade(engine)
    except OperationalError as exc:
        log.warning("central store unreachable at start: %s", type(exc).__name__)
    return Store(engine, local.device_id, local.clock, role="central")


def _with_password(url: str) -> str:
    """The settings keep the central URL without its password; the keyring has it."""
    from clerk_app.security.credentials import NoSecureKeyringError
    from clerk_app.sync.central_admin import connect_url

    try:
        return connect_url(url)
    except NoSecureKeyringError as exc:
        log.warning("no secure keyring for the central password: %s", exc.backend)
        return url


def open_runtime(paths: AppPaths, central_url: str | None = None) -> Runtime:
    """Create or migrate the local store (StoreTooNewError for one from a newer release) and
    attach the central store, online or not."""
    paths.ensure()
    current = settings_mod.load(paths.settings_file)
    url = central_url or current.central_url or sqlite_url(paths.embedded_central)
    local = open_store(sqlite_url(paths.local_store))
    central = open_central(url, local)
    shown = make_url(url).render_as_string(hide_password=True)
    log.info("local store %s, central %s", paths.local_store, shown)
    return Runtime(paths, current, local, central, url)
