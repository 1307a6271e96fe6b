"""预约管理 page (offscreen Qt): a supervisor sees a day's bookings with their states, cancels one
with a reason, and imports the booking platform's export through the file dialog; the work runs
on the database worker and the page shows the outcome, bad rows by row number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from clerk_app.domain.identifiers import mod11_2_check_char
from clerk_app.gui.pages import PAGES
from clerk_app.gui.pages.appointments import AppointmentsPage
from clerk_app.gui.printing import PrinterChoices
from clerk_app.gui.queue.kiosk import Kiosk
from clerk_app.gui.workstation import Workstation
from clerk_app.security.roles import Role
from clerk_app.services.appointment_book import AppointmentBook
from clerk_app.services.queue import QueueService
from clerk_app.services.queue_appointments import demo_code, seed_demo_appointments
from clerk_app.services.queue_rules import service_day
from clerk_app.store.models.queue import Appointment

#: 09:40 in the hall on a day of its own (the demo seeds today's bookings, these are that day's)
NOW = dt.datetime(2027, 3, 5, 1, 40, tzinfo=dt.UTC)
DAY = dt.date(2027, 3, 5)


def _column(page: AppointmentsPage, column: int) -> list[str]:
    return [page.table.item(r, column).text() for r in range(page.table.rowCount())]


def _open(qtbot: QtBot, station: Workstation) -> AppointmentsPage:
    central = station.runtime.central
    assert seed_demo_appointments(central, NOW) == 6
    QueueService(central, clock=lambda: NOW).check_in(demo_code(DAY, 2))  # 09:30 checks in
    main = station.open_main(station.auth.login(None, "chenjing", "Duty#2026"))
    qtbot.addWidget(main)
    page = main.show_page("appointments")
    assert isinstance(page, AppointmentsPage)
    station.tasks.wait_idle()
    qtbot.waitUntil(lambda: not page.loading)
    page.book = AppointmentBook(central, clock=lambda: NOW)
    page.date_edit.setDate(QDate(DAY.year, DAY.month, DAY.day))
    qtbot.waitUntil(lambda: page.table.rowCount() == 6 and not page.loading, timeout=10_000)
    return page


def test_the_page_is_for_supervisors() -> None:
    page = next(p for p in PAGES if p.key == "appointments")
    assert page.visible_to(Role.SUPERVISOR) and not page.visible_to(Role.CLERK)


def test_states_and_cancel(qtbot: QtBot, station: Workstation, monkeypatch: pytest.MonkeyPatch) -> None:
    page = _open(qtbot, station)
    assert _column(page, 0) == [demo_code(DAY, n) for n in range(1, 7)]
    assert _column(page, 6) == ["已过期", "已签到", "待签到", "待签到", "待签到", "待签到"]
    assert _column(page, 7)[1] == "C001" and _column(page, 1)[0] == "09:00-09:30"
    assert page.counts.text() == "共 6 条：待签到 4，已签到 1，已取消 0，已过期 1"
    page.table.selectRow(1)  # checked in: not cancellable
    assert not page.cancel_button.isEnabled()
    page.table.selectRow(2)
    assert page.cancel_button.isEnabled()
    asked: list[str] = []

    def yes(parent: object, title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    page.reason_combo.setEditText("申请人来电改约到下周")
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _column(page, 6)[2] == "已取消", timeout=10_000)
    assert "王海燕" in asked[0] and "10:00-10:30" in asked[0] and "申请人来电改约到下周" in asked[0]
    assert _column(page, 8)[2] == "申请人来电改约到下周"
    assert page.status.text() == f"预约 {demo_code(DAY, 3)} 已取消。"
    page.table.selectRow(2)
    assert not page.cancel_button.isEnabled()

    page.table.selectRow(0)  # expired: a no-show, cancelled with an empty reason first
    page.reason_combo.setEditText("")
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: station.errors.last is not None, timeout=10_000)
    assert station.errors.last == ("expected", "请填写取消原因。")
    page.reason_combo.setCurrentIndex(1)
    assert page.reason_combo.currentText() == "逾期未到"
    qtbot.waitUntil(lambda: not page.loading)
    page.table.selectRow(0)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _column(page, 6)[0] == "已取消", timeout=10_000)
    assert page.counts.text() == "共 6 条：待签到 3，已签到 1，已取消 2，已过期 0"


def test_a_cancel_by_mistake_is_restored(
    qtbot: QtBot, station: Workstation, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _open(qtbot, station)
    asked: list[str] = []

    def yes(parent: object, title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    page.table.selectRow(3)
    assert not page.restore_button.isEnabled()  # not cancelled: nothing to restore
    page.reason_combo.setCurrentIndex(2)  # 预约信息有误
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _column(page, 6)[3] == "已取消" and not page.loading, timeout=10_000)
    page.table.selectRow(3)
    assert page.restore_button.isEnabled() and not page.cancel_button.isEnabled()
    qtbot.mouseClick(page.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _column(page, 6)[3] == "待签到" and not page.loading, timeout=10_000)
    assert "预约信息有误" in asked[-1] and demo_code(DAY, 4) in asked[-1]
    assert _column(page, 8)[3] == "" and page.status.text() == f"预约 {demo_code(DAY, 4)} 已恢复为待签到。"
    assert page.counts.text() == "共 6 条：待签到 4，已签到 1，已取消 0，已过期 1"
    page.table.selectRow(3)
    assert not page.restore_button.isEnabled() and page.cancel_button.isEnabled()


def test_import_through_the_file_dialog(
    qtbot: QtBot, station: Workstation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = _open(qtbot, station)
    first17 = "11010519880315003"
    good = first17 + mod11_2_check_char(first17)
    bad = good[:-1] + ("1" if good[-1] == "0" else "0")
    path = tmp_path / "预约.csv"
    path.write_bytes(
        "\ufeff预约码,姓名,证件号码,手机号,业务类别,预约日期,时段开始\r\n"
        f"W1,李雷,{good},13800138000,A,2027-03-05,11:00\r\n"
        f"W2,韩梅梅,{bad},,B,2027-03-05,11:30\r\n"
        f"W3,张伟,{good},,综合业务,2027-03-05,12:00\r\n".encode()
    )
    chosen: list[str] = [str(path)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (chosen[0], ""))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.report is not None and page.table.rowCount() == 8, timeout=10_000)
    log = page.import_log.toPlainText().splitlines()
    assert not page.import_log.isHidden()
    assert log[0] == "预约.csv：共 3 行：新导入 2 条，已导入过 0 条，有误 1 行。"
    assert log[1].startswith(f"第 3 行：证件号码“{bad}”有误")
    assert "W1" in _column(page, 0) and "W3" in _column(page, 0)
    assert _column(page, 4)[_column(page, 0).index("W1")] == "138****8000"

    page.report = None
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)  # the same file again
    qtbot.waitUntil(lambda: page.report is not None, timeout=10_000)
    assert page.import_log.toPlainText().splitlines()[0].endswith("新导入 0 条，已导入过 2 条，有误 1 行。")
    qtbot.waitUntil(lambda: not page.loading)
    assert page.table.rowCount() == 8

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("姓名,证件号码\r\n李雷,x\r\n", encoding="utf-8")
    chosen[0] = str(wrong)
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.import_button.isEnabled, timeout=10_000)
    assert (
        station.errors.last is not None
        and "缺少这些列：预约码、业务类别、预约日期、时段开始" in station.errors.last[1]
    )
    assert page.import_log.toPlainText() == "导入未完成。"


def test_no_shows_in_one_press(qtbot: QtBot, station: Workstation, monkeypatch: pytest.MonkeyPatch) -> None:
    page = _open(qtbot, station)
    assert page.no_show_button.isEnabled()  # 09:00-09:30 has ended without a check-in
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(page.no_show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _column(page, 6)[0] == "已取消", timeout=10_000)
    assert _column(page, 8)[0] == "逾期未到" and _column(page, 6)[1:] == ["已签到", *["待签到"] * 4]
    assert page.status.text() == "1 条过期预约已记为逾期未到。"
    assert not page.no_show_button.isEnabled()


def test_a_check_in_at_the_kiosk_shows_without_a_press(qtbot: QtBot, station: Workstation) -> None:
    page = _open(qtbot, station)
    assert page.refresher.isActive()
    page.refresher.start(200)
    QueueService(station.runtime.central, clock=lambda: NOW).check_in(demo_code(DAY, 3))
    qtbot.waitUntil(lambda: _column(page, 6)[2] == "已签到", timeout=10_000)
    assert _column(page, 7)[2] == "A001"
    page.hide()
    assert not page.refresher.isActive()


def test_a_booking_cancelled_here_is_refused_at_the_kiosk(
    qtbot: QtBot, station: Workstation, monkeypatch: pytest.MonkeyPatch
) -> None:
    central = station.runtime.central
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(minutes=30)
    with central.unit_of_work() as uow:
        uow.session.add(Appointment(code="T0001", service_day=service_day(now), category="C",
                                    slot_start=start, slot_end=start + dt.timedelta(minutes=30),
                                    applicant_name="何静", id_number="330106198808080047"))  # fmt: skip
        uow.commit()
    main = station.open_main(station.auth.login(None, "chenjing", "Duty#2026"))
    qtbot.addWidget(main)
    page = main.show_page("appointments")
    assert isinstance(page, AppointmentsPage)
    day = service_day(now)
    page.date_edit.setDate(QDate(day.year, day.month, day.day))
    page.refresh()
    qtbot.waitUntil(lambda: "T0001" in _column(page, 0) and not page.loading, timeout=10_000)
    page.table.selectRow(_column(page, 0).index("T0001"))
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "预约 T0001 已取消。", timeout=10_000)

    kiosk = Kiosk(
        QueueService(central),
        station.tasks,
        printers=PrinterChoices(),
        pdf_dir=station.runtime.paths.data / "slips",
    )
    qtbot.addWidget(kiosk)
    kiosk.show()
    for text in ("t0001", "330106198808080047"):
        kiosk.message.setText("")
        kiosk.appointment_edit.setText(text)
        qtbot.mouseClick(kiosk.check_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: kiosk.message.text() == "该预约已取消，请直接选择业务取号。", timeout=10_000)
        assert kiosk.pages.currentIndex() == 0


def test_the_page_in_english(qtbot: QtBot, station: Workstation) -> None:
    from clerk_app import i18n

    i18n.set_language("en")
    page = _open(qtbot, station)
    headers = [page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())]
    assert headers[:2] == ["Appointment code", "Slot"] and headers[-1] == "Reason for cancelling"
    assert _column(page, 6)[:3] == ["Expired", "Checked in", "Awaiting check-in"]
    assert page.counts.text() == "6 appointments: 4 awaiting check-in, 1 checked in, 0 cancelled, 1 expired"
    buttons = (page.import_button, page.cancel_button, page.no_show_button, page.today_button)
    shown = [*headers, page.counts.text(), *(b.text() for b in buttons), page.reason_combo.itemText(0)]
    shown.append(page.import_button.toolTip().split(":")[0])  # the column names after it stay Chinese
    assert not [t for t in shown if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
