"""Registering this workstation from the GUI (登记到中心库) and from the command line without the
administrator's password on it, against a real PostgreSQL central store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app import settings as settings_mod
from clerk_app.cli import main as cli_main
from clerk_app.gui import app as gui_app
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.pages.sync import SyncPage
from clerk_app.gui.sync_register import RegisterDialog
from clerk_app.gui.workstation import Workstation
from clerk_app.security.roles import PermissionDenied
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS, ensure_demo, seed_central
from clerk_app.services.runtime import open_runtime, open_store
from clerk_app.services.sync import ADMIN_PASSWORD_ENV, register_this_workstation
from clerk_app.settings import resolve_paths
from clerk_app.store.engine import make_engine
from clerk_app.store.models import Device, User
from clerk_app.sync.central_admin import connect_url, init_central

pytestmark = pytest.mark.postgres

TYPED_PASSWORD = "Adm1n-typed-once"


def _seeded_central(url: str) -> None:
    init_central(url)
    central = open_store(url, kind="central")
    try:
        seed_central(central)
    finally:
        central.dispose()


def _address(url: str) -> str:
    """The central address as an administrator types it: no user, no password."""
    parsed = make_url(url)
    return f"postgresql://{parsed.host}:{parsed.port}/{parsed.database}"


@pytest.fixture
def central_url(pg_url: str) -> str:
    _seeded_central(pg_url)
    return pg_url


@pytest.fixture
def station(qapp: QApplication, data_dir: Path) -> Iterator[Workstation]:
    gui_app.configure(qapp, "zh_CN")
    runtime = open_runtime(resolve_paths(data_dir))
    ensure_demo(runtime.central, runtime.local)  # the demo accounts to sign in with
    ws = Workstation(runtime, qapp)
    ws.errors.interactive = False
    yield ws
    if ws.window is not None:
        ws.window.close()
    ws.shutdown()


def _open(qtbot: QtBot, station: Workstation, username: str) -> MainWindow:
    user = next(u for u in DEMO_USERS if u.username == username)
    window = None if user.role.value == "admin" else 3
    session = AuthService(station.runtime).login(window, user.username, user.password)
    main = station.open_main(session)
    qtbot.addWidget(main)
    return main


def _admin_name() -> str:
    return next(u.username for u in DEMO_USERS if u.role.value == "admin")


def _register_with(qtbot: QtBot, dialog: RegisterDialog, url: str) -> None:
    dialog.url_edit.setText(url)
    qtbot.mouseClick(dialog.register_button, _left())
    assert dialog.running and not dialog.url_edit.isEnabled()  # inputs locked while it runs
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def _check_registered(station: Workstation, role: str, database: str, memory_keyring: Any) -> None:
    """The settings name the central store as the workstation's own role without a password,
    the keyring holds that role's password (not the administrator's), and the role connects."""
    rt = station.runtime
    saved = settings_mod.load(rt.paths.settings_file)
    url = make_url(saved.central_url)
    assert url.username == role and url.password is None and url.database == database
    assert saved.last_window == 5
    settings_text = rt.paths.settings_file.read_text(encoding="utf-8")
    assert TYPED_PASSWORD not in settings_text
    assert TYPED_PASSWORD not in memory_keyring.store.values()
    assert any(role in name for _svc, name in memory_keyring.store)
    engine = make_engine(connect_url(saved.central_url))  # the settings' URL + the keyring
    try:
        with Session(engine) as s:
            assert s.scalar(text("SELECT current_user")) == role
            device = s.scalar(select(Device).where(Device.device_key == rt.device_id))
            assert device is not None and device.window_number == 5
    finally:
        engine.dispose()
    with Session(rt.local.engine) as s:  # the first pull came through the workstation's account
        assert s.scalar(select(User).where(User.username == "wangxy")) is not None


def test_admin_registers_from_the_sync_page(
    qtbot: QtBot, station: Workstation, central_url: str, memory_keyring: Any
) -> None:
    main = _open(qtbot, station, _admin_name())
    page = main.show_page("sync")
    assert isinstance(page, SyncPage)
    assert page.register_button is not None and page.register_button.isVisibleTo(page)
    assert not page.rejections_box.isVisibleTo(page)  # rejections are the counter staff's business
    qtbot.mouseClick(page.register_button, _left())
    dialog = page.findChild(RegisterDialog)
    assert isinstance(dialog, RegisterDialog) and dialog.isVisible()
    dialog.user_edit.setText("postgres")
    dialog.password_edit.setText(TYPED_PASSWORD)
    dialog.window_spin.setValue(5)
    steps: list[tuple[int, int]] = []
    original = dialog._progress

    def noted(done: int, total: int, text: str) -> None:
        steps.append((done, total))
        original(done, total, text)

    dialog._progress = noted  # type: ignore[method-assign]

    # a database that is not there, then a server that is not there: plain words, nothing saved
    parsed = make_url(central_url)
    _register_with(qtbot, dialog, _address(central_url).replace(str(parsed.database), "no_such_hall_db"))
    assert dialog.message.objectName() == "registerError"
    assert "没有这个数据库" in dialog.message.text() and "Traceback" not in dialog.message.text()
    _register_with(qtbot, dialog, "postgresql://127.0.0.1:1/hall")
    assert "连接不上中心库服务器" in dialog.message.text()
    assert dialog.password_edit.text() == TYPED_PASSWORD  # kept for a retry while the dialog is open
    assert not station.runtime.settings.central_url
    assert memory_keyring.store == {}

    # the right address: registered, tested as the workstation's own account, data downloaded
    _register_with(qtbot, dialog, _address(central_url))
    assert dialog.message.objectName() == "registerMessage", dialog.message.text()
    assert "登记完成" in dialog.message.text() and "重新启动" in dialog.message.text()
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert [d for d, _t in steps] == sorted(d for d, _t in steps) and len(steps) >= 6
    assert dialog.password_edit.text() == ""  # the administrator's password is gone
    done = dialog.result_
    assert done is not None and done.role.startswith("ws_") and done.window_number == 5 and done.pulled > 0

    _check_registered(station, done.role, str(parsed.database), memory_keyring)

    # registering again keeps the workstation's account and its password
    secret_before = dict(memory_keyring.store)
    dialog.password_edit.setText(TYPED_PASSWORD)
    dialog.window_spin.setValue(6)
    _register_with(qtbot, dialog, _address(central_url))
    assert dialog.result_ is not None and dialog.result_.role == done.role
    assert memory_keyring.store == secret_before
    dialog.reject()


def test_the_system_page_opens_the_registration_for_an_administrator(
    qtbot: QtBot, station: Workstation
) -> None:
    main = _open(qtbot, station, _admin_name())
    page = main.show_page("system")
    button = page.findChild(QPushButton, "systemRegisterButton")
    assert button is not None and button.isVisibleTo(page)
    qtbot.mouseClick(button, _left())
    dialog = page.findChild(RegisterDialog)
    assert isinstance(dialog, RegisterDialog) and dialog.isVisible()
    dialog.reject()
    clerk = _open(qtbot, station, "wangxy")
    assert clerk.show_page("system").findChild(QPushButton, "systemRegisterButton") is None


def test_only_an_administrator_registers(qtbot: QtBot, station: Workstation, central_url: str) -> None:
    main = _open(qtbot, station, "wangxy")  # a clerk
    page = main.show_page("sync")
    assert isinstance(page, SyncPage)
    assert page.register_button is None and page.rejections_box.isVisibleTo(page)
    with pytest.raises(PermissionDenied):
        register_this_workstation(station.runtime, main.ctx.session, _address(central_url), "postgres", "x")


def test_command_line_takes_the_password_from_a_prompt_or_the_environment(
    central_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: Any
) -> None:
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return TYPED_PASSWORD

    monkeypatch.setattr("getpass.getpass", prompt)
    data = tmp_path / "ws"
    address = _address(central_url)
    argv = ["central", "register", "--url", address, "--admin-user", "postgres", "--data-dir", str(data)]
    assert cli_main([*argv, "--window", "4", "--ask-password"]) == 0
    assert len(asked) == 1
    saved = settings_mod.load(resolve_paths(data).settings_file)
    assert (make_url(saved.central_url).username or "").startswith("ws_")
    assert TYPED_PASSWORD not in resolve_paths(data).settings_file.read_text(encoding="utf-8")

    monkeypatch.setenv(ADMIN_PASSWORD_ENV, TYPED_PASSWORD)
    assert cli_main([*argv, "--window", "6"]) == 0
    assert len(asked) == 1  # the environment, no prompt

    # no administrator named anywhere: told so in plain words
    monkeypatch.delenv(ADMIN_PASSWORD_ENV)
    assert cli_main(["central", "register", "--url", address, "--data-dir", str(data)]) == 1


def test_settings_change_only_after_the_workstation_account_connects(
    central_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from sqlalchemy.exc import OperationalError

    from clerk_app.services import sync as sync_service
    from clerk_app.services.errors import UserError
    from clerk_app.sync import central as central_side

    def unreachable(_store: object) -> None:
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))

    runtime = open_runtime(resolve_paths(tmp_path / "ws").ensure())
    try:
        before = runtime.settings.central_url
        monkeypatch.setattr(central_side, "server_info", unreachable)
        with pytest.raises(UserError, match="连接不上中心库服务器"):
            sync_service.register_workstation(runtime, central_url, window_number=5)
        assert runtime.settings.central_url == before
        assert settings_mod.load(runtime.paths.settings_file).central_url == before
        monkeypatch.undo()
        done = sync_service.register_workstation(runtime, central_url, window_number=5)
        assert runtime.settings.central_url == done.central_url != before
    finally:
        runtime.close()
