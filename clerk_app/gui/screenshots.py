"""``clerk-app screenshots --out DIR``: every screen rendered offscreen with demo data.

Each area registers a function in ``SHOTS`` that receives a :class:`ShotContext` and returns
the PNG files it wrote. Screens render at 1920×1080, the counter monitor of current hall PCs;
the queue panel docked beside the intake form is also rendered at 1366×768, where the
workstation takes its compact layout (``MainWindow.set_compact``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from clerk_app.gui import app as gui_app
from clerk_app.gui.appointments_shots import APPOINTMENTS_SHOTS
from clerk_app.gui.cases_shots import CASES_SHOTS
from clerk_app.gui.documents_shots import DOCUMENTS_SHOTS
from clerk_app.gui.intake_shots import INTAKE_SHOTS
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.queue.shots import QUEUE_SHOTS
from clerk_app.gui.supervision_shots import SUPERVISION_SHOTS
from clerk_app.gui.sync_register import shot_register
from clerk_app.gui.workstation import Workstation
from clerk_app.services.demo import ensure_demo
from clerk_app.services.runtime import Runtime, open_runtime
from clerk_app.settings import resolve_paths

SIZE = (1920, 1080)


@dataclass
class ShotContext:
    app: QApplication
    station: Workstation
    out: Path

    def settle(self, seconds: float = 5.0) -> None:
        """Let queued work finish and its results arrive before grabbing the screen."""
        deadline = time.monotonic() + seconds
        self.app.processEvents()
        while (
            self.station.tasks.busy or time.monotonic() < deadline - seconds + 0.2
        ) and time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.01)
        self.app.processEvents()

    def save(self, widget: QWidget, name: str) -> Path:
        widget.show()
        self.settle()
        path = self.out / f"{name}.png"
        widget.grab().save(str(path))
        return path

    def main_window(self, username: str, password: str, window: int | None) -> MainWindow:
        session = self.station.auth.login(window, username, password)
        main = self.station.open_main(session)
        main.resize(*SIZE)
        return main


def shot_login(ctx: ShotContext) -> list[Path]:
    dialog = ctx.station.login_dialog()
    dialog.resize(560, 480)
    path = ctx.save(dialog, "login")
    dialog.close()
    return [path]


def shot_home(ctx: ShotContext) -> list[Path]:
    main = ctx.main_window("wangxy", "Window#2026", 3)
    path = ctx.save(main, "workstation-home")
    main.close()
    return [path]


def shot_system(ctx: ShotContext) -> list[Path]:
    main = ctx.main_window("chenjing", "Duty#2026", None)
    main.show_page("system")
    path = ctx.save(main, "system-supervisor")
    main.close()
    return [path]


SHOTS: list[Callable[[ShotContext], list[Path]]] = [shot_login, shot_home, shot_system]
SHOTS.extend(SUPERVISION_SHOTS)
SHOTS.extend(APPOINTMENTS_SHOTS)
SHOTS.extend(DOCUMENTS_SHOTS)
SHOTS.extend(CASES_SHOTS)
SHOTS.extend(QUEUE_SHOTS)
SHOTS.extend(INTAKE_SHOTS)
SHOTS.append(shot_register)


def demo_runtime(folder: Path) -> Runtime:
    runtime = open_runtime(resolve_paths(folder).ensure())
    ensure_demo(runtime.central, runtime.local)
    return runtime


def render_all(out: str | Path, language: str = "zh_CN") -> list[Path]:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    app = gui_app.application()
    gui_app.configure(app, language)
    written: list[Path] = []
    # ignore_cleanup_errors: a database file reopened by a closing face must not fail the run
    with tempfile.TemporaryDirectory(prefix="clerk-shots-", ignore_cleanup_errors=True) as folder:
        runtime = demo_runtime(Path(folder))
        station = Workstation(runtime, app)
        station.errors.interactive = False
        ctx = ShotContext(app, station, target)
        try:
            for shot in SHOTS:
                written.extend(shot(ctx))
        finally:
            for widget in app.topLevelWidgets():  # stop every face's timers before the stores close
                widget.close()
            app.processEvents()
            station.shutdown()
    return written
