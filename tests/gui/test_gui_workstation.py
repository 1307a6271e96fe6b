"""The workstation as a clerk meets it: sign in, pages, idle lock, errors (offscreen Qt)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot
from shiboken6 import Shiboken
from window_helpers import bring_to_front

from clerk_app.gui import app as gui_app
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.workstation import Workstation
from clerk_app.services.demo import DEMO_USERS, ensure_demo
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import open_runtime
from clerk_app.settings import resolve_paths


def _password(username: str) -> str:
    return next(u.password for u in DEMO_USERS if u.username == username)


def _sign_in(qtbot: QtBot, station: Workstation, username: str, window_index: int = 2) -> MainWindow:
    dialog = station.login_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.window_combo.count() == 25)
    dialog.window_combo.setCurrentIndex(window_index)
    dialog.user_edit.clear()
    qtbot.keyClicks(dialog.user_edit, username)
    qtbot.keyClicks(dialog.password_edit, _password(username))
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.window is not None, timeout=5000)
    assert station.window is not None
    qtbot.addWidget(station.window)
    return station.window


def test_clerk_signs_in_at_a_window(qtbot: QtBot, station: Workstation) -> None:
    main = _sign_in(qtbot, station, "wangxy", window_index=2)
    assert main.ctx.session.window_number == 3
    keys = [p.key for p in main.pages]
    assert keys[0] == "home" and "system" in keys
    assert not {"monitor", "complaints", "rectifications", "reports"} & set(keys)  # supervisor pages
    assert "3 号窗口" in main.window_label.text() and "王晓燕" in main.user_label.text()
    qtbot.waitUntil(lambda: "在线" in main.central_label.text())
    assert station.runtime.settings.last_window == 3


def test_wrong_password_is_explained_in_the_dialog_and_five_lock(qtbot: QtBot, station: Workstation) -> None:
    dialog = station.login_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.window_combo.count() == 25)
    qtbot.keyClicks(dialog.user_edit, "lijg")
    for attempt in range(5):
        qtbot.keyClicks(dialog.password_edit, "wrong-password")
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dialog.login_button.isEnabled() and dialog.message.text() != "")
        if attempt < 4:
            assert "用户名或密码不正确" in dialog.message.text()
            dialog.message.setText("")
    assert "已锁定" in dialog.message.text()
    assert dialog.password_edit.text() == "" and dialog.user_edit.text() == "lijg"
    assert station.window is None


def test_idle_lock_keeps_what_was_typed(qtbot: QtBot, station: Workstation) -> None:
    main = _sign_in(qtbot, station, "wangxy")
    main.show()
    field = QLineEdit(main.pages[0])
    field.setObjectName("draftField")
    main.pages[0].layout_.addWidget(field)
    field.setText("申请人：张三，材料已收")
    main.idle_watcher.limit_s = 0.05
    qtbot.waitUntil(lambda: main.lock_dialog is not None, timeout=5000)
    lock = main.lock_dialog
    assert lock is not None and lock.isVisible()
    qtbot.keyClicks(lock.password_edit, "not-it")
    qtbot.keyClick(lock.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "不正确" in lock.message.text())
    assert main.lock_dialog is lock
    main.idle_watcher.limit_s = 600
    qtbot.keyClicks(lock.password_edit, _password("wangxy"))
    qtbot.keyClick(lock.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.lock_dialog is None)
    assert field.text() == "申请人：张三，材料已收"


def test_ctrl_l_locks_and_escape_does_not_unlock(qtbot: QtBot, station: Workstation) -> None:
    main = _sign_in(qtbot, station, "zhangli")
    main.show()
    main.activateWindow()
    main.lock()
    lock = main.lock_dialog
    assert lock is not None
    qtbot.keyClick(lock, Qt.Key.Key_Escape)
    assert lock.isVisible()


def test_keyboard_switches_pages(qtbot: QtBot, station: Workstation) -> None:
    main = _sign_in(qtbot, station, "wangxy")
    bring_to_front(qtbot, main)
    keys = [p.key for p in main.pages]
    system_index = keys.index("system")
    qtbot.keyClick(main, Qt.Key(Qt.Key.Key_1 + system_index), Qt.KeyboardModifier.ControlModifier)
    assert main.current_page().objectName() == "page_system"
    qtbot.keyClick(main, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert main.current_page().objectName() == "page_home"


def test_supervisor_unlocks_a_locked_clerk_from_the_system_page(qtbot: QtBot, station: Workstation) -> None:
    from clerk_app.services.errors import LoginError

    for _attempt in range(5):
        with pytest.raises(LoginError):
            station.auth.login(3, "lijg", "bad")
    main = _sign_in(qtbot, station, "chenjing", window_index=24)
    assert main.ctx.session.window_number is None
    page = main.show_page("system")
    table = page.findChild(QTableWidget, "lockedTable")
    assert table is not None
    qtbot.waitUntil(lambda: table.rowCount() == 1)
    table.selectRow(0)
    page.unlock_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: table.rowCount() == 0)


def test_clerk_has_no_unlock_section(qtbot: QtBot, station: Workstation) -> None:
    main = _sign_in(qtbot, station, "wangxy")
    page = main.show_page("system")
    assert page.findChild(QTableWidget, "lockedTable") is None


def test_expected_error_is_plain_and_bug_writes_redacted_report(station: Workstation) -> None:
    station.errors(UserError("材料清单不能为空"))
    assert station.errors.last == ("expected", "材料清单不能为空")
    try:
        raise RuntimeError("bad state for 11010519491231002X")
    except RuntimeError as exc:
        station.errors(exc)
    kind, message = station.errors.last or ("", "")
    assert kind == "crash" and "故障报告" in message
    reports = list(station.runtime.paths.crash_reports.glob("crash-*.txt"))
    assert len(reports) == 1
    content = reports[0].read_text(encoding="utf-8")
    assert "RuntimeError" in content and "11010519491231002X" not in content


def test_task_runner_reports_errors_in_one_place(qtbot: QtBot, station: Workstation) -> None:
    def fail() -> None:
        raise UserError("网络不通")

    station.tasks.db(fail)
    qtbot.waitUntil(lambda: station.errors.last is not None)
    assert station.errors.last == ("expected", "网络不通")


def test_task_result_for_a_closed_widget_is_dropped(qtbot: QtBot, station: Workstation) -> None:
    """A page closed while its load ran: the late result reaches nobody and raises nothing."""
    import threading

    from PySide6.QtWidgets import QLabel

    class Page(QLabel):
        def show_result(self, text: str) -> None:
            self.setText(text)  # would raise "Internal C++ object already deleted"

    page, gate, seen = Page(), threading.Event(), []
    station.tasks.db(lambda: gate.wait(5) and "已载入", page.show_result)
    station.tasks.db(lambda: "又载入", lambda text: page.show_result(f"{text}。"))
    station.tasks.db(lambda: "后续", seen.append)
    page.deleteLater()
    qtbot.waitUntil(lambda: not Shiboken.isValid(page))
    gate.set()
    qtbot.waitUntil(lambda: seen == ["后续"])
    assert station.errors.last is None and not station.tasks.busy


def test_english_interface(qtbot: QtBot, qapp: QApplication, station: Workstation) -> None:
    gui_app.configure(qapp, "en")
    dialog = station.login_dialog()
    qtbot.addWidget(dialog)
    assert dialog.login_button.text() == "Sign in"
    gui_app.configure(qapp, "zh_CN")


def test_app_starts_offscreen_to_the_login_window(data_dir: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-m", "clerk_app", "--data-dir", str(data_dir), "--exit-when-shown"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / "workstation.sqlite").exists()


def test_screenshots_command_renders_pngs(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "shots"
    result = subprocess.run(
        [sys.executable, "-m", "clerk_app", "screenshots", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    names = {p.name for p in out.glob("*.png")}
    assert {"login.png", "workstation-home.png", "system-supervisor.png"} <= names


def test_sign_in_window_shows_before_the_stores_open(
    qtbot: QtBot, qapp: QApplication, data_dir: Path
) -> None:
    from clerk_app.gui.launch import Launcher

    paths = resolve_paths(data_dir).ensure()

    def open_stores() -> object:
        runtime = open_runtime(paths)
        ensure_demo(runtime.central, runtime.local)
        return runtime

    launcher = Launcher(qapp, paths, open_stores)  # type: ignore[arg-type]
    launcher.errors.interactive = False
    dialog = launcher.dialog
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.login_button.isEnabled() and "正在打开" in dialog.message.text()
    dialog.user_edit.setText("wangxy")  # the clerk types while the stores open
    dialog.password_edit.setText(_password("wangxy"))
    launcher.start()
    qtbot.waitUntil(
        lambda: dialog.login_button.isEnabled() and dialog.window_combo.count() == 25, timeout=10000
    )
    assert "演示" in dialog.hall_label.text() and dialog.password_edit.text() == _password("wangxy")
    dialog.window_combo.setCurrentIndex(4)
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: launcher.station is not None and launcher.station.window is not None, timeout=5000
    )
    assert launcher.station is not None and launcher.station.window is not None
    qtbot.addWidget(launcher.station.window)
    assert launcher.station.window.ctx.session.window_number == 5
    launcher.shutdown()


def test_store_from_a_newer_release_is_explained_not_traced(
    qtbot: QtBot, qapp: QApplication, data_dir: Path
) -> None:
    from clerk_app.gui.launch import Launcher
    from clerk_app.store.migrate import StoreTooNewError

    paths = resolve_paths(data_dir).ensure()

    def too_new() -> object:
        raise StoreTooNewError({"9999_future"})

    launcher = Launcher(qapp, paths, too_new)  # type: ignore[arg-type]
    launcher.errors.interactive = False
    qtbot.addWidget(launcher.dialog)
    launcher.dialog.show()
    launcher.start()
    qtbot.waitUntil(lambda: launcher.failed)
    kind, message = launcher.errors.last or ("", "")
    assert kind == "expected" and "请升级本程序" in message
    launcher.shutdown()
