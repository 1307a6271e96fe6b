"""Fixtures of the sync tests: a central store (SQLite file or a fresh PostgreSQL database) and
workstations, each with its own local SQLite file. The helpers the tests call are in
``sync_helpers`` (a module of its own: a ``conftest`` imported by name can be another
directory's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clerk_app.services.runtime import open_store
from clerk_app.store.engine import sqlite_url
from clerk_app.store.uow import Store
from clerk_app.sync import faults


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def central_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "central.sqlite")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def central(central_url: str) -> Iterator[Store]:
    store = open_store(central_url, kind="central")
    yield store
    store.dispose()


@pytest.fixture
def make_ws(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    opened: list[Store] = []

    def make(name: str) -> Store:
        store = open_store(sqlite_url(tmp_path / f"ws-{name}.sqlite"))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.dispose()


@pytest.fixture(autouse=True)
def no_fault_hook() -> Iterator[None]:
    yield
    faults.set_hook(None)
