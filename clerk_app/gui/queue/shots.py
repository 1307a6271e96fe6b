"""Screenshots of the queue faces with demo data: kiosk (portrait touch screen), hall display
(1920×1080) and the clerk's queue panel docked in the workstation beside the intake form (1920×1080,
and 1366×768)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QWidget

from clerk_app.gui.printing import PrinterChoices
from clerk_app.gui.queue.display import HallDisplay
from clerk_app.gui.queue.kiosk import Kiosk
from clerk_app.gui.queue.speech import Announcer
from clerk_app.gui.tasks import TaskRunner
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService
from clerk_app.services.runtime import Runtime

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext


def _settle(app: QApplication, tasks: TaskRunner, seconds: float = 1.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    tasks.wait_idle(10_000)
    app.processEvents()


def _grab(app: QApplication, tasks: TaskRunner, widget: QWidget, path: Path) -> Path:
    widget.show()
    _settle(app, tasks)
    widget.grab().save(str(path))
    widget.close()
    return path


def busy_hall(runtime: Runtime, sessions: list[UserSession]) -> None:
    """A morning in the demo hall: tickets of every category, a few windows calling."""
    svc = QueueService(runtime.central)
    for i in range(30):
        svc.issue("ABCDE"[i % 5], priority_kind="elderly" if i % 7 == 3 else "")
    for who in sessions:
        try:
            ticket = svc.call_next(who, uuid.uuid4().hex)
        except UserError:  # an earlier screen left this window busy: it shows that ticket
            continue
        if ticket is not None and who.window_number and who.window_number % 2:
            svc.start(who, ticket.id, uuid.uuid4().hex)


def render_queue_shots(app: QApplication, runtime: Runtime, tasks: TaskRunner, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    svc = QueueService(runtime.central)
    kiosk = Kiosk(svc, tasks, printers=PrinterChoices(), pdf_dir=runtime.paths.data / "slips")
    kiosk.resize(1080, 1920)
    written = [_grab(app, tasks, kiosk, out / "queue_kiosk.png")]
    display = HallDisplay(svc, tasks, Announcer(None))
    display.resize(1920, 1080)
    display.show()
    _settle(app, tasks)
    display._seen = set()  # announce what is on the board, so the banner shows the last call
    display.refresh()
    written.append(_grab(app, tasks, display, out / "queue_display.png"))
    display.shutdown()
    return written


def shot_queue(ctx: ShotContext) -> list[Path]:
    """For ``clerk-app screenshots``: a busy morning, then the kiosk, the display and the panel."""
    station = ctx.station
    logins = [(3, "wangxy"), (5, "lijg"), (9, "zhangli"), (14, "zhaomin"), (20, "liuqiang")]
    sessions = [station.auth.login(w, u, "Window#2026") for w, u in logins]
    busy_hall(station.runtime, sessions)
    written = render_queue_shots(ctx.app, station.runtime, station.tasks, ctx.out)
    main = ctx.main_window("wangxy", "Window#2026", 3)
    main.show_page("intake")  # the queue panel is docked beside whatever page is shown
    written.append(ctx.save(main, "queue_panel"))
    main.resize(1366, 768)  # a small counter monitor: the compact layout, nothing scrolls
    written.append(ctx.save(main, "queue_panel_1366x768"))
    main.close()
    return written


QUEUE_SHOTS = [shot_queue]
