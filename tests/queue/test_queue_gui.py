"""The queue faces offscreen: kiosk, hall display (mock speech engine), the clerk's panel."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication, QDockWidget, QPushButton
from pytestqt.qtbot import QtBot
from queue_helpers import clerk, key
from window_helpers import bring_to_front

from clerk_app.gui import app as gui_app
from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.printing import PrinterChoices
from clerk_app.gui.queue.display import HallDisplay, call_text
from clerk_app.gui.queue.kiosk import Kiosk
from clerk_app.gui.queue.panel import QueuePanel
from clerk_app.gui.queue.speech import Announcer, SpeechEngine
from clerk_app.gui.rating_pad import RATING
from clerk_app.gui.tasks import TaskRunner
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import ensure_demo
from clerk_app.services.queue import QueueService, device_code, device_code_of, seed_demo_queue
from clerk_app.services.queue_rules import CHINA, service_day
from clerk_app.services.runtime import Runtime, open_runtime, open_store
from clerk_app.settings import resolve_paths
from clerk_app.store.engine import make_engine
from clerk_app.store.models.queue import Appointment
from clerk_app.store.uow import Store


class MockEngine(SpeechEngine):
    """Records what it is asked to say; takes 60 ms per text; fails the test on an overlap."""

    name = "mock"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.said: list[str] = []
        self.busy = False
        self.overlaps = 0

    def say(self, text: str) -> None:
        if self.busy:
            self.overlaps += 1
        self.busy = True
        self.said.append(text)
        QTimer.singleShot(60, self._end)

    def _end(self) -> None:
        self.busy = False
        self.finished.emit()


@pytest.fixture
def runtime(qapp: QApplication, data_dir: Path) -> Iterator[Runtime]:
    gui_app.configure(qapp, "zh_CN")
    rt = open_runtime(resolve_paths(data_dir))
    ensure_demo(rt.central, rt.local)
    yield rt
    rt.close()


@pytest.fixture
def tasks(qapp: QApplication, data_dir: Path) -> Iterator[TaskRunner]:
    errors = ErrorReporter(data_dir / "crash")
    errors.interactive = False
    runner = TaskRunner(errors)
    yield runner
    runner.wait_idle(10_000)


def test_kiosk_issues_and_prints_or_saves_the_slip(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner) -> None:
    kiosk = Kiosk(
        QueueService(runtime.central), tasks, printers=PrinterChoices(), pdf_dir=runtime.paths.data / "slips"
    )
    qtbot.addWidget(kiosk)
    kiosk.show()
    qtbot.waitUntil(lambda: "A" in kiosk.category_buttons, timeout=5000)
    assert kiosk.hall.text()
    kiosk.priority_buttons["elderly"].click()
    with (
        qtbot.waitSignal(kiosk.slip_done, timeout=15000) as slip,
        qtbot.waitSignal(kiosk.issued, timeout=5000) as issued,
    ):
        qtbot.mouseClick(kiosk.category_buttons["A"], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(kiosk.category_buttons["A"], Qt.MouseButton.LeftButton)  # a double tap
    ticket = issued.args[0]
    assert ticket.ticket.number == "A001" and ticket.ticket.priority_kind == "elderly"
    assert kiosk.slip_number.text() == "A001" and kiosk.pages.currentIndex() == 1
    outcome = slip.args[0]
    if outcome.pdf_path is not None:
        assert outcome.pdf_path.read_bytes().startswith(b"%PDF")
    else:
        assert outcome.printed_on
    tasks.wait_idle(5000)
    assert QueueService(runtime.central).categories()[0].waiting == 1, "one ticket per touch"
    kiosk.reset()
    assert kiosk.pages.currentIndex() == 0 and not kiosk.priority_buttons["elderly"].isChecked()
    kiosk.id_edit.setText("110105194912310021")
    qtbot.mouseClick(kiosk.category_buttons["B"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "校验码" in kiosk.message.text(), timeout=5000)


def test_kiosk_checks_in_an_appointment(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner) -> None:
    """预约签到 by code: a ticket for the booked slot; a second check-in is answered plainly."""
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(minutes=30)
    with runtime.central.unit_of_work() as uow:
        uow.session.add(Appointment(code="T0001", service_day=service_day(now), category="C",
                                    slot_start=start, slot_end=start + dt.timedelta(minutes=30),
                                    applicant_name="何静", id_number="330106198808080047"))  # fmt: skip
        uow.commit()
    kiosk = Kiosk(
        QueueService(runtime.central), tasks, printers=PrinterChoices(), pdf_dir=runtime.paths.data / "slips"
    )
    qtbot.addWidget(kiosk)
    kiosk.show()
    qtbot.waitUntil(lambda: "C" in kiosk.category_buttons, timeout=5000)
    kiosk.appointment_edit.setText("t0001")
    with qtbot.waitSignal(kiosk.issued, timeout=5000) as issued:
        qtbot.mouseClick(kiosk.check_in_button, Qt.MouseButton.LeftButton)
    ticket = issued.args[0].ticket
    assert ticket.category == "C" and ticket.appointment_at == start
    assert kiosk.slip_number.text() == ticket.number and kiosk.pages.currentIndex() == 1
    slot = start.astimezone(CHINA).strftime("%H:%M")
    assert "预约签到成功" in kiosk.slip_detail.text() and slot in kiosk.slip_detail.text()
    tasks.wait_idle(15_000)
    kiosk.reset()
    assert kiosk.appointment_edit.text() == ""
    kiosk.appointment_edit.setText("330106198808080047")
    qtbot.keyClick(kiosk.appointment_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: f"已签到，号码是 {ticket.number}" in kiosk.message.text(), timeout=5000)
    assert kiosk.pages.currentIndex() == 0


def _display(
    qtbot: QtBot, service: QueueService, tasks: TaskRunner, **kw: object
) -> tuple[HallDisplay, MockEngine]:
    engine = MockEngine()
    display = HallDisplay(service, tasks, Announcer(engine), **kw)  # type: ignore[arg-type]
    qtbot.addWidget(display)
    display.show()
    qtbot.waitUntil(lambda: display._seen is not None, timeout=5000)
    return display, engine


def test_display_follows_calls_by_polling_and_speaks_them_in_turn(
    qtbot: QtBot, runtime: Runtime, tasks: TaskRunner
) -> None:
    service = QueueService(runtime.central)
    for _ in range(3):
        service.issue("A")
    display, engine = _display(qtbot, service, tasks)
    display.start_polling(100)
    w3, w5 = clerk(3), clerk(5)
    first = service.call_next(w3, key())
    second = service.call_next(w5, key())
    assert first and second
    qtbot.waitUntil(lambda: len(engine.said) == 2, timeout=5000)
    assert engine.said == [call_text("A001", 3), call_text("A002", 5)]
    assert engine.overlaps == 0, "never spoken over each other"
    assert display.table.item(0, 1).text() == "A001"
    service.recall(w3, first.id, key())
    qtbot.waitUntil(lambda: len(engine.said) == 3, timeout=5000)
    assert engine.said[-1] == call_text("A001", 3) and display.recent.count() == 2
    display.shutdown()


def test_display_without_engine_says_so(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner) -> None:
    display = HallDisplay(QueueService(runtime.central), tasks, Announcer(None))
    qtbot.addWidget(display)
    assert "语音" in display.notice.text()
    display.shutdown()


@pytest.mark.postgres
def test_display_listens_on_postgres_within_a_second_and_reconnects(
    qtbot: QtBot, qapp: QApplication, pg_url: str, tasks: TaskRunner
) -> None:
    import psycopg

    gui_app.configure(qapp, "zh_CN")
    store = open_store(pg_url, kind="central")
    seed_demo_queue(store)
    service = QueueService(store)
    service.issue("A")
    service.issue("A")
    display, engine = _display(qtbot, service, tasks, listen_url=pg_url)
    assert display.listener is not None
    qtbot.waitUntil(lambda: display.listener.backend_pid is not None, timeout=5000)
    started = time.monotonic()
    service.call_next(clerk(2), key())
    qtbot.waitUntil(lambda: display.banner.text() == call_text("A001", 2), timeout=1000)
    assert time.monotonic() - started < 1.0
    old_pid = display.listener.backend_pid
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (old_pid,))
    qtbot.waitUntil(lambda: display.listener.backend_pid not in (None, old_pid), timeout=8000)
    service.call_next(clerk(4), key())
    qtbot.waitUntil(lambda: display.banner.text() == call_text("A002", 4), timeout=2000)
    qtbot.waitUntil(lambda: len(engine.said) == 2, timeout=3000)
    display.shutdown()
    store.dispose()


def _panel(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner, window: int = 3) -> QueuePanel:
    errors = ErrorReporter(runtime.paths.crash_reports)
    errors.interactive = False
    ctx = PageContext(runtime, clerk(window), tasks, errors, AuthService(runtime))
    panel = QueuePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    return panel


def test_online_panel_numbers_its_workstation_for_offline_tickets(
    qtbot: QtBot, runtime: Runtime, tasks: TaskRunner
) -> None:
    """Online, the panel has the central store number this workstation once (its offline code)
    and reserve today's block for its window."""
    local = QueueService(runtime.local, offline=True)
    assert local.local_device_code() is None
    _panel(qtbot, runtime, tasks)
    qtbot.waitUntil(lambda: local.local_block(clerk(3)) is not None, timeout=5000)
    assert local.local_device_code() == device_code_of(1) and local.local_prefix(clerk(3)) == "03A-"


def test_panel_f_keys_call_start_finish(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner) -> None:
    service = QueueService(runtime.central)
    service.issue("A")
    service.issue("A", priority_kind="pregnant")
    panel = _panel(qtbot, runtime, tasks)
    assert panel.number.text() == "空闲" and panel.waiting.rowCount() == 2
    assert "综合业务 等候 2 人" in panel.counts.text()
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(panel, Qt.Key.Key_F5, shift)
    qtbot.waitUntil(lambda: panel.number.text() == "A001", timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_F7, shift)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.current is not None
                    and panel.view.current.state == "serving", timeout=5000)  # fmt: skip
    qtbot.keyClick(panel, Qt.Key.Key_F10, shift)
    qtbot.waitUntil(lambda: panel.number.text() == "空闲", timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_F5, shift)
    qtbot.waitUntil(lambda: panel.number.text() == "A002", timeout=5000)
    assert "绿色通道" in panel.state.text()


def test_panel_switches_to_the_local_queue_when_central_is_down(
    qtbot: QtBot, runtime: Runtime, tasks: TaskRunner
) -> None:
    dead = make_engine("postgresql://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    runtime.central = Store(dead, "dead-central", role="central")
    panel = _panel_offline(qtbot, runtime, tasks)
    assert panel.offline and "临时队列" in panel.banner.text() and panel.local_button.isVisible()
    qtbot.mouseClick(panel.local_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.view is not None and len(panel.view.waiting) == 1, timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    prefix = f"07{device_code(runtime.local.device_id)}-"
    qtbot.waitUntil(lambda: panel.number.text() == f"{prefix}001", timeout=5000)
    assert f"{prefix}001" in panel.banner.text()
    assert not panel.findChild(QPushButton, "transferButton").isEnabled()


def _panel_offline(qtbot: QtBot, runtime: Runtime, tasks: TaskRunner) -> QueuePanel:
    errors = ErrorReporter(runtime.paths.crash_reports)
    errors.interactive = False
    panel = QueuePanel(PageContext(runtime, clerk(7), tasks, errors, AuthService(runtime)))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.offline, timeout=15000)
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    return panel


def test_docked_panel_answers_its_keys_over_the_intake_page_and_asks_for_a_rating(
    qtbot: QtBot, station: Workstation
) -> None:
    """The panel is a dock of the main window; with the intake page shown, Shift+F5 calls,
    Shift+F7 starts, Shift+F10 finishes, and the finish opens the rating pad for that ticket."""
    service = QueueService(station.runtime.central)
    service.issue("A")
    main = station.open_main(station.auth.login(3, "wangxy", "Window#2026"))
    qtbot.addWidget(main)
    bring_to_front(qtbot, main)
    panel = main.docks["queue"]
    assert isinstance(panel, QueuePanel)
    dock = panel.parentWidget()
    assert isinstance(dock, QDockWidget) and dock.isVisible()
    assert "queue" not in [p.key for p in main.pages]
    intake = main.show_page("intake")
    assert main.current_page() is intake
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    assert panel.buttons["callNextButton"].text() == "⇧F5 叫下一位"

    qtbot.keyClick(main, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: panel.number.text() == "A001", timeout=5000)
    assert main.current_page() is intake
    qtbot.keyClick(main, Qt.Key.Key_F7, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.current is not None
                    and panel.view.current.state == "serving", timeout=5000)  # fmt: skip
    ticket = panel.view.current
    assert ticket is not None
    main.show_page("cases")
    with qtbot.waitSignal(panel.service_finished, timeout=5000) as finished:
        qtbot.keyClick(main, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert finished.args[1] == "综合业务"
    qtbot.waitUntil(lambda: panel.number.text() == "空闲", timeout=5000)
    pad = main.rating_pad()
    assert pad.isVisible() and pad.service_ref == f"ticket:{ticket.id}" and pad.matter_name == "综合业务"
    assert pad.stack.currentIndex() == RATING
    pad.close()


def test_plain_f5_is_left_to_the_intake_page(qtbot: QtBot, station: Workstation) -> None:
    """The intake page's own F5 (受理) is not taken by the docked panel: F5 calls nobody."""
    service = QueueService(station.runtime.central)
    service.issue("A")
    main = station.open_main(station.auth.login(3, "wangxy", "Window#2026"))
    qtbot.addWidget(main)
    panel = main.docks["queue"]
    assert isinstance(panel, QueuePanel)
    main.show()
    main.show_page("intake")
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    shortcuts = {s.key().toString() for s in panel.findChildren(QShortcut)}
    assert "F5" not in shortcuts and "Shift+F5" in shortcuts
