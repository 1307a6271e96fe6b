"""The workstation face: open the stores, sign in, then the main window."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QApplication

from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.lock import IdleWatcher
from clerk_app.gui.login import LoginDialog
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.pages import PageContext
from clerk_app.gui.tasks import TaskRunner
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.runtime import Runtime

log = logging.getLogger("clerk.app")


class Workstation:
    """Holds the pieces of one running workstation (no business rules here)."""

    def __init__(
        self,
        runtime: Runtime,
        app: QApplication,
        errors: ErrorReporter | None = None,
        tasks: TaskRunner | None = None,
    ) -> None:
        self.runtime = runtime
        self.app = app
        self.errors = errors or ErrorReporter(runtime.paths.crash_reports)
        self.tasks = tasks or TaskRunner(self.errors)
        self.auth = AuthService(runtime)
        self.window: MainWindow | None = None

    def hall_name(self) -> str:
        return _hall_name(self.runtime)

    def login_dialog(self) -> LoginDialog:
        settings = self.runtime.settings
        hall = self.hall_name()
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
        if self.window is not None:
            self.window.sync.stop()
        self.tasks.wait_idle(30_000)
        self.app.processEvents()  # deliver the results of those last tasks while their pages exist
        self.runtime.close()


def _hall_name(runtime: Runtime) -> str:
    from sqlalchemy import select

    from clerk_app.store.models import Hall

    with runtime.local.unit_of_work() as uow:
        return uow.session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""
