"""Starting the workstation so that the sign-in window is on screen at once.

The dialog appears before the store layer (SQLAlchemy, the migrations) is even imported; the
stores are opened on the database worker meanwhile, and the dialog accepts the password as soon
as they are ready (what the clerk typed in the meantime stays). A store that cannot be opened is
explained in a dialog, never a traceback.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from clerk_app import settings as settings_mod
from clerk_app.gui import app as gui_app
from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.login import LoginDialog
from clerk_app.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from clerk_app.gui.workstation import Workstation
    from clerk_app.services.auth import UserSession
    from clerk_app.services.runtime import Runtime

log = logging.getLogger("clerk.app")


class Launcher:
    def __init__(
        self, app: QApplication, paths: settings_mod.AppPaths, open_runtime: Callable[[], Runtime]
    ) -> None:
        self.app = app
        self.errors = ErrorReporter(paths.crash_reports)
        self.tasks = TaskRunner(self.errors)
        self.station: Workstation | None = None
        self.failed = False
        remembered = settings_mod.load(paths.settings_file)
        self.dialog = LoginDialog(None, self.tasks, "", remembered.last_window, remembered.last_username)
        self.dialog.signed_in.connect(self._signed_in)
        self.dialog.rejected.connect(app.quit)
        self._open_runtime = open_runtime

    def start(self) -> None:
        """Open the stores on the database worker (after the first paint of the dialog)."""
        self.tasks.db(self._open_runtime, self._ready, self._failed)

    def _ready(self, runtime: Runtime) -> None:
        from clerk_app.gui.workstation import Workstation

        station = Workstation(runtime, self.app, self.errors, self.tasks)
        self.station = station
        self.tasks.db(station.hall_name, lambda name: self.dialog.attach(station.auth, name))

    def _failed(self, exc: BaseException) -> None:
        """A store that cannot be opened (newer than this program, unreadable): say so, then stop."""
        log.error("cannot open the stores", exc_info=exc)
        self.errors.parent = self.dialog
        self.errors(exc)
        self.failed = True
        self.dialog.reject()

    def _signed_in(self, session: UserSession) -> None:
        assert self.station is not None
        self.station.open_main(session).show()

    def shutdown(self) -> None:
        if self.station is not None:
            self.station.shutdown()  # background sync first, then the tasks, then the stores
        else:
            self.tasks.wait_idle(30_000)


def run(
    paths: settings_mod.AppPaths,
    language: str,
    open_runtime: Callable[[], Runtime],
    exit_when_shown: bool = False,
) -> int:
    app = gui_app.application()
    gui_app.route_qt_messages()
    gui_app.configure(app, language)
    launcher = Launcher(app, paths, open_runtime)
    sys.excepthook = launcher.errors.excepthook
    launcher.dialog.show()
    QTimer.singleShot(0, launcher.start)
    if exit_when_shown:  # start-up benchmark: the moment the sign-in window is on screen
        app.processEvents()
        print(f"shown {time.time():.6f}", flush=True)
        QTimer.singleShot(0, app.quit)
    code = app.exec()
    launcher.shutdown()
    return 2 if launcher.failed else code
