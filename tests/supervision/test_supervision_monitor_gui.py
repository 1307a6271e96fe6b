"""The hall monitor and the report page (offscreen Qt)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QStyle
from pytestqt.qtbot import QtBot
from sqlalchemy import update
from supervision_helpers import Contexts, open_demo_runtime, session_for

from clerk_app.gui import app as gui_app
from clerk_app.gui.pages import PAGES
from clerk_app.gui.pages.supervision_monitor import MonitorPage, ReportsPage
from clerk_app.security.roles import Role
from clerk_app.services.complaints import Category, ComplaintInput, ComplaintService
from clerk_app.services.queue import QueueService
from clerk_app.services.ratings import Level, RatingInput, RatingService
from clerk_app.services.runtime import Runtime
from clerk_app.store.models import Device, SyncDevice
from clerk_app.sync.central import report_device


@pytest.fixture
def runtime(qapp: QApplication, tmp_path: Path) -> Iterator[Runtime]:
    gui_app.configure(qapp, "zh_CN")
    yield from open_demo_runtime(tmp_path / "data")


@pytest.fixture
def contexts(runtime: Runtime) -> Iterator[Contexts]:
    made = Contexts(runtime)
    yield made
    made.tasks.wait_idle(10_000)


def test_monitor_and_reports_are_for_supervisors() -> None:
    keys = {p.key: p for p in PAGES}
    for key in ("monitor", "reports"):
        assert keys[key].visible_to(Role.SUPERVISOR) and not keys[key].visible_to(Role.CLERK)


def test_monitor_picks_up_a_case_registered_elsewhere_and_alerts(
    qtbot: QtBot, contexts: Contexts, runtime: Runtime
) -> None:
    page = MonitorPage(contexts.of("chenjing", None))
    qtbot.addWidget(page)
    page.resize(1700, 950)  # the page's part of a 1920 x 1080 screen
    page.show()
    page.refresher.setInterval(300)
    page.activated()
    qtbot.waitUntil(lambda: page.snapshot is not None, timeout=10_000)
    assert (
        page.complaint_table.rowCount() == 0 and "只开放了 0 个窗口（至少应开放 3 个）" in page.alerts.text()
    )
    assert page.window_table.rowCount() == 24 and page.category_table.rowCount() == 6
    # another workstation opens window 3 and calls the ticket a kiosk just issued
    QueueService(runtime.central).issue("A")
    window3 = session_for(runtime, "wangxy", 3)
    caller = QueueService(runtime.central)
    caller.open_window(window3)
    assert caller.call_next(window3, "monitor-test-1") is not None
    qtbot.waitUntil(lambda: page.window_table.item(2, 3).text() == "A001", timeout=10_000)
    assert page.window_table.item(2, 1).text() == "受理中" and page.window_table.item(2, 2).text() == "王晓燕"
    qtbot.waitUntil(lambda: page.window_table.item(2, 4).text().startswith("00:0"), timeout=3000)
    # another clerk registers a case from the rating pad, 21 minutes ago, and nobody acts on it
    clerk = session_for(runtime, "lijg", 7)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=21)
    ComplaintService(runtime, clock=lambda: past).ask_for_supervisor(clerk, "ticket:A9")
    RatingService(runtime).record(clerk, RatingInput("ticket:A8", Level.VERY_DISSATISFIED))
    qtbot.waitUntil(lambda: page.complaint_table.rowCount() == 1, timeout=10_000)  # refreshed by itself
    qtbot.waitUntil(lambda: page.rect_table.rowCount() == 1, timeout=10_000)
    assert page.complaint_table.item(0, 2).text() == "7"
    assert page.complaint_table.item(0, 6).text().startswith("21:")
    # every column but the free text shows its whole text, and the table does not scroll sideways
    table = page.complaint_table
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    for column in (0, 1, 2, 3, 5, 6):
        text = table.item(0, column).text()
        assert table.columnWidth(column) >= table.fontMetrics().horizontalAdvance(text) + margin + 4, text
    assert sum(table.columnWidth(c) for c in range(table.columnCount())) <= table.viewport().width()
    assert table.item(0, 4).toolTip() == table.item(0, 4).text()  # the free text, whole, on hover
    assert "1 个办不成事案件已超过 20 分钟未处理" in page.alerts.text()
    assert page.rect_table.item(0, 0).text() == "ticket:A8"
    # window 3's workstation stops syncing: five minutes after its last round it is shown offline
    with runtime.central.unit_of_work() as uow:
        uow.session.add(Device(device_key="ws-3", kind="workstation", name="3 号窗口", window_number=3))
        uow.commit()
    report_device(runtime.central, "ws-3", cursor=0)
    with runtime.central.unit_of_work(capture=False) as uow:
        silent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        uow.session.execute(
            update(SyncDevice).where(SyncDevice.device_id == "ws-3").values(last_seen_at=silent)
        )
        uow.commit()
    qtbot.waitUntil(lambda: page.window_table.item(2, 1).text().startswith("离线 05:"), timeout=10_000)
    assert "3 号窗口的工作站离线" in page.alerts.text()
    page.hide()
    assert not page.refresher.isActive() and not page.ticker.isActive()


def test_report_page_shows_figures_charts_and_exports(
    qtbot: QtBot, contexts: Contexts, runtime: Runtime, tmp_path: Path
) -> None:
    wang = session_for(runtime, "wangxy", 3)
    ratings = RatingService(runtime)
    for ref, level in (("r1", Level.VERY_SATISFIED), ("r2", Level.SATISFIED), ("r3", Level.DISSATISFIED)):
        ratings.record(wang, RatingInput(ref, level))
    ComplaintService(runtime).register(wang, ComplaintInput("办不成", Category.SYSTEM))
    page = ReportsPage(contexts.of("chenjing", None))
    qtbot.addWidget(page)
    page.resize(1300, 900)
    page.show()
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("range"))
    assert page.to_edit.isEnabled()
    today = QDate.currentDate()
    page.from_edit.setDate(today.addDays(-1))
    page.to_edit.setDate(today.addDays(1))
    page.run()
    qtbot.waitUntil(lambda: page.report is not None, timeout=10_000)
    assert page.tiles["ratings"].text() == "3" and page.tiles["satisfaction"].text() == "66.7%"
    assert page.tiles["bad"].text() == "1" and page.tiles["rectification"].text() == "1 / 0"
    assert page.tiles["complaints"].text() == "1 / 0"
    assert page.tiles["tickets"].text() == "0 / —" and page.queue_table.rowCount() == 0
    assert page.window_table.item(0, 0).text() == "3" and page.window_table.item(0, 4).text() == "66.7%"
    # matter codes share their beginnings: a narrow column keeps both ends of each
    assert page.matter_table.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert len(page.level_chart.series()) == 1 and page.level_chart.series()[0].count() == 3
    assert len(page.complaint_chart.series()) == 1
    csv_path, pdf_path, xlsx_path = tmp_path / "report.csv", tmp_path / "report.pdf", tmp_path / "report.xlsx"
    page.export_csv(csv_path)
    page.export_xlsx(xlsx_path)
    page.export_pdf(pdf_path)
    qtbot.waitUntil(
        lambda: csv_path.exists() and xlsx_path.exists() and pdf_path.exists() and not contexts.tasks.busy,
        timeout=10_000,
    )
    with zipfile.ZipFile(xlsx_path) as book:
        assert "满意率" in book.read("xl/sharedStrings.xml").decode()
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert ["满意率", "66.7%"] in rows
    pdf = pdf_path.read_bytes()
    # written by the documents' reportlab path (fonts embedded as subsets), not drawn from the widgets
    assert pdf.startswith(b"%PDF") and b"+DroidSansFallback" in pdf and b"/Helvetica" not in pdf
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "好差评与办件统计报表" in text and "评价等级分布" in text
    # a range that ends before it starts is explained, not raised
    page.to_edit.setDate(today.addDays(-5))
    page.run()
    assert contexts.errors.last is not None and "结束日期" in contexts.errors.last[1]
