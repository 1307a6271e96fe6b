"""The workstation face: open the stores, sign in, then the main window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from clerk_app import logs
from clerk_app.gui import app as gui_app
from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.lock import IdleWatcher
from clerk_app.gui.login import LoginDialog
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.pages import PageContext
from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.errors import is_expected
from clerk_app.services.runtime import Runtime

log = logging.getLogger("clerk.app")


class Workstation:
    """Holds the pieces of one running workstation (no business rules here)."""

    def __init__(self, runtime: Runtime, app: QApplication) -> None:
        self.runtime = runtime
        self.app = app
        self.errors = ErrorReporter(runtime.paths.crash_reports)
        self.tasks = TaskRunner(self.errors)
        self.auth = AuthService(runtime)
        self.window: MainWindow | None = None

    def login_dialog(self) -> LoginDialog:
        settings = self.runtime.settings
        hall = _hall_name(self.runtime)
        dialog = LoginDialog(self.auth, self.tasks, hall, settings.last_window, settings.last_username)
        dialog.signed_in.connect(self.open_main)
        return dialog

    def open_main(self, session: UserSession) -> MainWindow:
        self.runtime.save_settings(
            self.runtime.settings.replace(last_window=session.window_number, last_username=session.username)
        )
        ctx = PageContext(self.runtime, session, self.tasks, self.errors, self.auth)
        self.window = MainWindow(ctx)
        self.errors.parent = self.window
        watcher = IdleWatcher(self.runtime.settings.idle_lock_minutes, self.window)
        self.app.installEventFilter(watcher)
        self.window.watch_idle(watcher)
        return self.window

    def shutdown(self) -> None:
        self.tasks.wait_idle(10_000)
        self.runtime.close()


def _hall_name(runtime: Runtime) -> str:
    from sqlalchemy import select

    from clerk_app.store.models import Hall

    with runtime.local.unit_of_work() as uow:
        return uow.session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""


def run(runtime: Runtime, language: str) -> int:
    app = gui_app.application()
    gui_app.route_qt_messages()
    gui_app.configure(app, language)
    station = Workstation(runtime, app)
    sys.excepthook = station.errors.excepthook
    dialog = station.login_dialog()
    if dialog.exec() != QDialog.DialogCode.Accepted or station.window is None:
        station.shutdown()
        return 0
    station.window.show()
    code = app.exec()
    station.shutdown()
    log.info("workstation closed")
    return code


def show_startup_error(exc: BaseException, language: str) -> int:
    """A store that cannot be opened (too new, unreadable) is explained in a dialog, not a trace."""
    app = gui_app.application()
    gui_app.configure(app, language)
    message = (
        str(exc) if is_expected(exc) else _("无法打开本地数据库：{error}").format(error=logs.redact(str(exc)))
    )
    QMessageBox.critical(None, _("无法启动"), message)
    return 2
