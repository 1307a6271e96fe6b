"""At 1366×768 (a common counter monitor) the workstation fits the screen: the intake form sits
beside the docked queue panel without scrolling and with nothing squeezed below its size; at
1920×1080 it takes its roomy layout again."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from clerk_app.gui import app as gui_app
from clerk_app.gui.main_window import (
    DOCK_COMPACT_WIDTH,
    DOCK_WIDTH,
    SIDEBAR_COMPACT_WIDTH,
    SIDEBAR_WIDTH,
    MainWindow,
)
from clerk_app.gui.pages.intake_view import IntakeView
from clerk_app.gui.queue.panel import QueuePanel
from clerk_app.gui.workstation import Workstation
from clerk_app.services.queue import QueueService


def _open(qtbot: QtBot, station: Workstation) -> MainWindow:
    main = station.open_main(station.auth.login(3, "wangxy", "Window#2026"))
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    return main


def _squeezed(root: QWidget) -> list[str]:
    """Visible widgets narrower or lower than their minimum (their content would be cut)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible() or isinstance(widget.parentWidget(), QAbstractScrollArea):
            continue  # a scroll area's own bars and viewport
        # what a layout grants at least: an explicit minimum where one is set, else the hint
        hint, explicit = widget.minimumSizeHint(), widget.minimumSize()
        need = QSize(explicit.width() or hint.width(), explicit.height() or hint.height())
        if widget.width() < need.width() or widget.height() < need.height():
            found.append(f"{type(widget).__name__} {widget.objectName()!r} {widget.size()} < {need}")
    return found


def _cut_choices(root: QWidget) -> list[str]:
    """Visible choice boxes whose chosen text is wider than the box shows."""
    cut = []
    for combo in root.findChildren(QComboBox):
        if not combo.isVisible() or not combo.currentText():
            continue
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        if combo.fontMetrics().horizontalAdvance(combo.currentText()) > field.width():
            cut.append(combo.currentText())
    return cut


def _inside(widget: QWidget, main: MainWindow) -> bool:
    top_left = widget.mapTo(main, widget.rect().topLeft())
    return main.rect().contains(QRect(top_left, widget.size()))


def test_intake_form_fits_beside_the_queue_panel_at_1366x768(qtbot: QtBot, station: Workstation) -> None:
    """Opened on a large monitor first (as the screenshots are), then at 1366×768 with tickets
    waiting (a 绿色通道 note in the last column) and one called."""
    queue = QueueService(station.runtime.central)
    for n in range(6):
        queue.issue("AB"[n % 2], priority_kind="elderly" if n == 3 else "")
    main = _open(qtbot, station)
    page = main.show_page("intake")
    assert isinstance(page, IntakeView) and main.current_page() is page
    main.resize(1920, 1080)
    qtbot.waitUntil(lambda: main.width() == 1920 and not main.compact, timeout=3000)
    panel = main.docks["queue"]
    assert isinstance(panel, QueuePanel)
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    panel.call_next()
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.current is not None, timeout=5000)
    main.resize(1366, 768)
    qtbot.waitUntil(lambda: main.size().width() == 1366 and main.size().height() == 768, timeout=3000)
    dock = main.docks["queue"].parentWidget()
    assert isinstance(dock, QDockWidget) and dock.isVisible() and _inside(dock, main)
    assert main.compact and main.side.width() == SIDEBAR_COMPACT_WIDTH
    assert main.nav.horizontalScrollBar().maximum() == 0 and _squeezed(main.side) == []
    QApplication.processEvents()
    for bar in (page.form_scroll.horizontalScrollBar(), page.form_scroll.verticalScrollBar()):
        assert bar.maximum() == 0, "the intake form scrolls"
    holder = page.parentWidget().parentWidget()
    assert isinstance(holder, QScrollArea)
    assert holder.horizontalScrollBar().maximum() == 0 and holder.verticalScrollBar().maximum() == 0
    assert _inside(page, main) and page.geometry().right() < dock.mapTo(main, dock.rect().topLeft()).x() + 1
    for button in page.buttons():
        assert button.isVisible() and _inside(button, main)
    assert _squeezed(page) == [] and _squeezed(dock) == [] and _cut_choices(page) == []
    assert {page.button_grid.getItemPosition(page.button_grid.indexOf(k))[0] for k in page.buttons()} == {0}
    assert all(f.rowWrapPolicy() == QFormLayout.RowWrapPolicy.DontWrapRows
               for f in (b.layout() for b in page.top_boxes) if isinstance(f, QFormLayout))  # fmt: skip
    qtbot.waitUntil(lambda: panel.waiting.rowCount() == 5, timeout=5000)
    assert panel.waiting.horizontalScrollBar().maximum() == 0, "the waiting list's columns are cut"
    # nothing parked: the waiting list has the room, and all five tickets show
    assert not panel.parked.isVisible() and panel.parked_title.text() == "已挂起：无"
    qtbot.waitUntil(lambda: panel.waiting.verticalScrollBar().maximum() == 0, timeout=3000)
    # a parked ticket: the parked list shows again, at least two rows high
    qtbot.mouseClick(panel.buttons["startButton"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.current.state == "serving", timeout=5000)
    qtbot.mouseClick(panel.buttons["parkButton"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.parked.count() == 1 and panel.parked.isVisible(), timeout=5000)
    assert panel.parked_title.text() == "已挂起（双击回呼）"
    two_rows = 2 * 2 * panel.parked.fontMetrics().height()
    qtbot.waitUntil(lambda: panel.parked.height() >= two_rows, timeout=3000)
    matters = page.matter_list
    assert matters.horizontalScrollBar().maximum() == 0
    widest = max(matters.visualItemRect(matters.item(i)).width() for i in range(matters.count()))
    assert widest <= matters.viewport().width(), "a matter's name runs off the list"

    main.resize(1920, 1080)  # the hall's larger monitors: the roomy layout again
    qtbot.waitUntil(lambda: main.width() == 1920, timeout=3000)
    assert not main.compact and main.side.width() == SIDEBAR_WIDTH and page.heading.isVisible()
    qtbot.waitUntil(lambda: dock.width() >= DOCK_WIDTH - 10, timeout=3000)
    assert _squeezed(page) == []


def test_every_page_opens_at_1366x768_without_growing_the_window(qtbot: QtBot, station: Workstation) -> None:
    """A page larger than the screen (the keyboard map of 工作台, the case list) scrolls instead
    of making the window larger than the monitor (it opened at 1434×901 before)."""
    main = _open(qtbot, station)
    assert main.minimumSizeHint().width() <= 1366 and main.minimumSizeHint().height() <= 768
    for page in main.pages:
        main.show_page(page.key)
        QApplication.processEvents()
        assert main.current_page() is page and main.size().width() == 1366 and main.size().height() == 768


def test_english_workstation_fits_1366x768(qtbot: QtBot, station: Workstation, qapp: QApplication) -> None:
    """English words are longer: the panel's wrap (按 Shift+F5 叫下一位 is "Press Shift+F5 to call
    the next applicant"), so the dock stays 360 px instead of taking 531 px; the navigation bar
    widens just enough; the intake form reflows instead of running 334 px off to the right."""
    gui_app.configure(qapp, "en")
    try:
        main = _open(qtbot, station)
        main.resize(1366, 768)
        qtbot.waitUntil(lambda: main.width() == 1366, timeout=3000)
        panel = main.docks["queue"]
        assert isinstance(panel, QueuePanel)
        qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
        assert panel.state.text() == "Press Shift+F5 to call the next applicant"
        # the keys say what they do (挂起 and 暂停 are also the states Parked and Paused)
        assert panel.buttons["parkButton"].text() == "⇧F9 Park"
        assert panel.buttons["pauseButton"].text() == "⇧F12 Pause"
        dock = panel.parentWidget()
        assert isinstance(dock, QDockWidget) and dock.width() <= DOCK_COMPACT_WIDTH and _inside(dock, main)
        assert _squeezed(dock) == []
        # the navigation bar stays narrow but shows its English page names whole
        assert SIDEBAR_COMPACT_WIDTH <= main.side.width() <= SIDEBAR_WIDTH
        assert main.nav.horizontalScrollBar().maximum() == 0
        widest = max(main.nav.visualItemRect(main.nav.item(i)).width() for i in range(main.nav.count()))
        assert widest <= main.nav.viewport().width() and _squeezed(main.side) == []
        # the English form: labels above their fields and the keys in two rows, so that nothing
        # runs off to the right (it may scroll down; the keys stay in view below it)
        page = main.show_page("intake")
        assert isinstance(page, IntakeView)
        holder = page.parentWidget().parentWidget()
        assert isinstance(holder, QScrollArea)
        qtbot.waitUntil(lambda: page.form_scroll.horizontalScrollBar().maximum() == 0
                        and holder.horizontalScrollBar().maximum() == 0, timeout=3000)  # fmt: skip
        boxes = [box.layout() for box in page.top_boxes]
        assert all(isinstance(f, QFormLayout) and f.rowWrapPolicy() == QFormLayout.RowWrapPolicy.WrapAllRows
                   for f in boxes)  # fmt: skip
        rows = {page.button_grid.getItemPosition(page.button_grid.indexOf(k))[0] for k in page.buttons()}
        assert rows == {0, 1}
        for key in page.buttons():
            assert key.isVisible() and _inside(key, main) and key.width() >= key.sizeHint().width()
        assert _squeezed(page) == [] and _cut_choices(page) == []
    finally:
        gui_app.configure(qapp, "zh_CN")
