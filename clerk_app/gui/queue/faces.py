"""Starting the kiosk and the hall display as their own full-screen applications."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from clerk_app.gui import app as gui_app
from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.printing import load_choices
from clerk_app.gui.queue.display import HallDisplay
from clerk_app.gui.queue.kiosk import Kiosk
from clerk_app.gui.queue.speech import Announcer, pick_engine
from clerk_app.gui.tasks import TaskRunner
from clerk_app.services.queue import QueueService
from clerk_app.services.runtime import Runtime

log = logging.getLogger("clerk.queue")


def build_kiosk(runtime: Runtime, tasks: TaskRunner) -> Kiosk:
    return Kiosk(
        QueueService(runtime.central),
        tasks,
        printers=load_choices(runtime.paths.config),
        pdf_dir=runtime.paths.data / "slips",
    )


def build_display(runtime: Runtime, tasks: TaskRunner) -> HallDisplay:
    announcer = Announcer(pick_engine())
    service = QueueService(runtime.central)
    if runtime.central_is_embedded:
        display = HallDisplay(service, tasks, announcer)
        display.start_polling()
    else:
        display = HallDisplay(service, tasks, announcer, listen_url=runtime.central_url)
        display.start_polling(10_000)  # a slow safety net beside LISTEN/NOTIFY
    return display


def run_face(kind: str, language: str, open_runtime: Callable[[], Runtime], *, windowed: bool = False) -> int:
    qt = gui_app.application()
    gui_app.configure(qt, language)
    runtime = open_runtime()
    errors = ErrorReporter(runtime.paths.crash_reports)
    tasks = TaskRunner(errors)
    face: QWidget = build_kiosk(runtime, tasks) if kind == "kiosk" else build_display(runtime, tasks)
    if windowed:
        face.resize(1080, 1920) if kind == "kiosk" else face.resize(1920, 1080)
        face.show()
    else:
        face.showFullScreen()
    code = qt.exec()
    if isinstance(face, HallDisplay):
        face.shutdown()
    tasks.wait_idle(10_000)
    runtime.close()
    return code
