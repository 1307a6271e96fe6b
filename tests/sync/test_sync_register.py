"""Registering a workstation with the central store (``clerk-app central register``): the device
in the central ``devices`` table, its least-privilege role, the URL in the settings without the
password, the password in the keyring, and a first pull so that clerks can sign in offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app import settings as settings_mod
from clerk_app.cli import main as cli_main
from clerk_app.services.demo import ensure_demo, seed_central
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import open_runtime, open_store
from clerk_app.services.sync import register_workstation
from clerk_app.settings import resolve_paths
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import Device, Hall, OutboxEntry, User, Window
from clerk_app.sync import client
from clerk_app.sync.central_admin import connect_url, init_central


def _seeded_central(url: str) -> None:
    init_central(url)
    central = open_store(url, kind="central")
    try:
        seed_central(central)
    finally:
        central.dispose()


@pytest.mark.postgres
def test_register_with_postgresql(
    pg_url: str, tmp_path: Path, memory_keyring: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _seeded_central(pg_url)
    data = tmp_path / "ws"
    assert cli_main(["central", "register", "--url", pg_url, "--window", "7", "--data-dir", str(data)]) == 0
    assert "registered" in capsys.readouterr().out
    saved = settings_mod.load(resolve_paths(data).settings_file)
    url = make_url(saved.central_url)
    assert url.username and url.username.startswith("ws_") and url.password is None
    assert any(url.username in name for _svc, name in memory_keyring.store)
    assert saved.last_window == 7

    runtime = open_runtime(resolve_paths(data))  # the saved URL, the keyring's password
    try:
        assert runtime.central.engine.url.username == url.username
        with Session(runtime.local.engine) as s:  # the first pull: offline sign-in works
            assert s.scalar(select(User).where(User.username == "wangxy")) is not None
            assert len(s.scalars(select(Window)).all()) == 24
        with Session(runtime.central.engine) as s:
            device = s.scalar(select(Device).where(Device.device_key == runtime.device_id))
            assert device is not None and device.window_number == 7
            assert s.scalar(text("SELECT current_user")) == url.username
        # the device role syncs its own hall's rows …
        with runtime.local.unit_of_work() as uow:
            hall = uow.session.scalar(select(Hall))
            assert hall is not None
            hall.contact_phone = "0471-7777777"
            uow.commit()
        report = client.sync_round(runtime.local, runtime.central)
        assert report.push.pushed >= 1 and report.push.rejected == 0
        with Session(runtime.local.engine) as s:
            assert s.scalar(select(OutboxEntry).limit(1)) is None
        # … and cannot change audit rows
        with pytest.raises(Exception, match="permission denied"), runtime.central.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_entries"))
    finally:
        runtime.close()

    # registering again (a new window) refreshes the same device and role
    runtime = open_runtime(resolve_paths(data))
    try:
        again = register_workstation(runtime, pg_url, window_number=8)
        assert again.role == url.username
        engine = make_engine(connect_url(runtime.settings.central_url))
        with Session(engine) as s:
            assert s.scalar(select(Device.window_number).where(Device.device_key == runtime.device_id)) == 8
            assert len(s.scalars(select(Device)).all()) == 1
        engine.dispose()
    finally:
        runtime.close()


def test_register_with_an_embedded_central_store(tmp_path: Path) -> None:
    central_url = sqlite_url(tmp_path / "central.sqlite")
    _seeded_central(central_url)
    runtime = open_runtime(resolve_paths(tmp_path / "ws").ensure(), central_url)
    try:
        done = register_workstation(runtime, central_url, window_number=3, name="三号窗")
        assert done.role == "" and done.pulled > 0 and runtime.settings.central_url == central_url
        with Session(runtime.central.engine) as s:
            device = s.scalar(select(Device))
            assert device is not None and device.name == "三号窗" and device.window_number == 3
        with pytest.raises(UserError, match="99 号窗口"):
            register_workstation(runtime, central_url, window_number=99)
    finally:
        runtime.close()


def test_demo_workstation_gets_its_copy_by_a_first_pull(tmp_path: Path) -> None:
    runtime = open_runtime(resolve_paths(tmp_path / "demo").ensure())
    try:
        ensure_demo(runtime.central, runtime.local)
        assert client.cursor(runtime.local) > 0
        with Session(runtime.local.engine) as s:
            assert s.scalar(select(User).where(User.username == "wangxy")) is not None
            assert s.scalar(select(OutboxEntry).limit(1)) is None  # central data, not a local change
        ensure_demo(runtime.central, runtime.local)  # again at the next start: nothing changes
    finally:
        runtime.close()
