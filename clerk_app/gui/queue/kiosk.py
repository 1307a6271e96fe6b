"""The kiosk (``clerk-app kiosk``): full-screen, touch-sized; the applicant chooses a category,
may give an ID number (green channel from 65) or a case number (补正 return), and gets a slip.
An applicant with an appointment checks in instead (预约签到: the appointment code or the ID
number) and gets a ticket for the booked slot, served at that time among the walk-ins.

The slip (number, category, people ahead, estimated wait, time, hall name) is printed on the
80 mm receipt printer through Qt printing; without a printer it is saved as a PDF instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from clerk_app.documents.dto import QueueSlip
from clerk_app.documents.render import render
from clerk_app.documents.templates import load_templates
from clerk_app.gui.forms import child, load_form, style_sheet
from clerk_app.gui.printing import PrinterChoices, PrintJob, make_printer, print_jobs
from clerk_app.gui.queue import while_alive
from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.services.errors import is_expected
from clerk_app.services.queue import (
    PRIORITY_KINDS,
    AppointmentCheckIn,
    CategoryInfo,
    IssuedTicket,
    QueueService,
)
from clerk_app.services.queue_rules import CHINA

log = logging.getLogger("clerk.queue")

BACK_AFTER_MS = 12_000


@dataclass(frozen=True, slots=True)
class SlipOutcome:
    printed_on: str  # printer name, or "" when saved as PDF
    pdf_path: Path | None


def slip_for(issued: IssuedTicket) -> QueueSlip:
    minutes = int(issued.estimated_wait.total_seconds() // 60)
    note = _("预计等候约 {m} 分钟").format(m=minutes) if minutes else _("请留意叫号")
    if issued.routed_to_window:
        note += "；" + _("请到 {w} 号窗口等候原经办人员").format(w=issued.routed_to_window)
    return QueueSlip(
        ticket_number=issued.ticket.number,
        category=issued.category_name,
        people_ahead=issued.people_ahead,
        issued_at=issued.ticket.issued_at.astimezone(CHINA).replace(tzinfo=None),
        hall_name=issued.hall_name,
        note=note,
    )


def print_slip(issued: IssuedTicket, choices: PrinterChoices, pdf_dir: Path) -> SlipOutcome:
    """Render the slip and print it (runs on a worker); no printer → the PDF is kept instead."""
    pdf = render(slip_for(issued), load_templates())
    has_printer = bool(choices.receipt) or not QPrinterInfo.defaultPrinter().isNull()
    if has_printer:
        printer = make_printer("queue_slip", choices)
        result = print_jobs([PrintJob(issued.ticket.number, pdf, "queue_slip")], printer)
        return SlipOutcome(result.printer or "default", None)
    pdf_dir.mkdir(parents=True, exist_ok=True)
    path = pdf_dir / f"{dt.date.today():%Y%m%d}-{issued.ticket.number}.pdf"
    path.write_bytes(pdf)
    return SlipOutcome("", path)


class Kiosk(QWidget):
    issued = Signal(object)
    slip_done = Signal(object)

    def __init__(
        self,
        service: QueueService,
        tasks: TaskRunner,
        *,
        printers: PrinterChoices | None = None,
        pdf_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service, self.tasks = service, tasks
        self.printers = printers or PrinterChoices()
        self.pdf_dir = pdf_dir
        self.setObjectName("KioskFace")
        form = load_form("kiosk.ui", self)
        form.setStyleSheet(style_sheet("kiosk.qss"))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(form)
        self.pages = child(form, QStackedWidget, "pages")
        self.hall = child(form, QLabel, "hallName")
        self.message = child(form, QLabel, "messageLabel")
        self.id_edit = child(form, QLineEdit, "idEdit")
        self.case_edit = child(form, QLineEdit, "caseEdit")
        self.slip_number = child(form, QLabel, "slipNumber")
        self.slip_detail = child(form, QLabel, "slipDetail")
        self.print_label = child(form, QLabel, "printLabel")
        child(form, QPushButton, "backButton").clicked.connect(self.reset)
        self.grid = QGridLayout(child(form, QWidget, "categoryGrid"))
        self.grid.setSpacing(24)
        self.category_buttons: dict[str, QPushButton] = {}
        self.priority_buttons: dict[str, QPushButton] = {}
        self._priority_row(child(form, QWidget, "priorityRow"))
        extra = form.findChild(QFormLayout, "extraForm")
        assert isinstance(extra, QFormLayout), "kiosk.ui has the extraForm layout"
        self._appointment_row(extra)
        self._back = QTimer(self)
        self._back.setSingleShot(True)
        self._back.timeout.connect(self.reset)
        self.busy = False
        self.load_categories()

    def _priority_row(self, host: QWidget) -> None:
        row = QHBoxLayout(host)
        row.setSpacing(18)
        for kind, label in PRIORITY_KINDS.items():
            button = QPushButton(_(label))
            button.setProperty("role", "priority")
            button.setCheckable(True)
            button.clicked.connect(lambda _c=False, k=kind: self._only_priority(k))
            row.addWidget(button)
            self.priority_buttons[kind] = button

    def _appointment_row(self, extra: QFormLayout) -> None:
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        self.appointment_edit = QLineEdit()
        self.appointment_edit.setObjectName("appointmentEdit")
        self.appointment_edit.setPlaceholderText(_("输入预约码，或刷身份证"))
        self.appointment_edit.returnPressed.connect(self.check_in)
        self.check_in_button = QPushButton(_("预约签到"))
        self.check_in_button.setObjectName("checkInButton")
        self.check_in_button.setProperty("role", "priority")
        self.check_in_button.clicked.connect(self.check_in)
        row.addWidget(self.appointment_edit, 1)
        row.addWidget(self.check_in_button)
        title = QLabel(_("预约码（选填）"))
        title.setObjectName("appointmentTitle")
        extra.addRow(title, host)

    def check_in(self) -> None:
        """预约签到: a ticket for the booked slot (the code or ID number typed or read)."""
        if self.busy:
            return
        self.busy = True
        self.message.setText("")
        text = self.appointment_edit.text().strip()
        self.tasks.db(lambda: self.service.check_in(text), self._checked_in, self._error)

    @while_alive
    def _checked_in(self, result: AppointmentCheckIn) -> None:
        self._issued(result.issued)
        start = result.slot_start.astimezone(CHINA).strftime("%H:%M")
        end = result.slot_end.astimezone(CHINA).strftime("%H:%M")
        if result.late:
            line = _("您的预约时段 {a}–{b} 已过，已按现场取号排队。").format(a=start, b=end)
        else:
            line = _("预约签到成功：{a}–{b} 时段，到时优先叫号。").format(a=start, b=end)
        self.slip_detail.setText(line + "\n" + self.slip_detail.text())

    def _only_priority(self, kind: str) -> None:
        for other, button in self.priority_buttons.items():
            if other != kind:
                button.setChecked(False)

    def load_categories(self) -> None:
        self.tasks.db(self.service.categories, self._show_categories, self._error)
        self.tasks.db(lambda: self.service.board(recent=0).hall_name, self._show_hall, self._error)

    @while_alive
    def _show_hall(self, name: str) -> None:
        self.hall.setText(name)

    @while_alive
    def _show_categories(self, cats: list[CategoryInfo]) -> None:
        for button in self.category_buttons.values():
            button.deleteLater()
        self.category_buttons.clear()
        for i, cat in enumerate(cats):
            text = _("{name}\n等候 {n} 人").format(name=cat.name, n=cat.waiting)
            button = QPushButton(text)
            button.setProperty("role", "category")
            button.setObjectName(f"category_{cat.code}")
            button.clicked.connect(lambda _c=False, code=cat.code: self.take(code))
            self.grid.addWidget(button, i // 2, i % 2)
            self.category_buttons[cat.code] = button

    def selected_priority(self) -> str:
        return next((k for k, b in self.priority_buttons.items() if b.isChecked()), "")

    def take(self, code: str) -> None:
        if self.busy:
            return  # one ticket per touch, however often the screen is tapped
        self.busy = True
        self.message.setText("")
        kind, id_number, case_ref = (
            self.selected_priority(),
            self.id_edit.text().strip(),
            self.case_edit.text().strip(),
        )
        self.tasks.db(
            lambda: self.service.issue(code, priority_kind=kind, id_number=id_number, case_ref=case_ref),
            self._issued,
            self._error,
        )

    @while_alive
    def _issued(self, issued: IssuedTicket) -> None:
        self.busy = False
        minutes = int(issued.estimated_wait.total_seconds() // 60)
        self.slip_number.setText(issued.ticket.number)
        lines = [issued.category_name, _("您前面还有 {n} 人等候").format(n=issued.people_ahead)]
        if minutes:
            lines.append(_("预计等候约 {m} 分钟").format(m=minutes))
        if issued.ticket.priority:
            lines.append(_("绿色通道优先办理"))
        if issued.routed_to_window:
            lines.append(_("请到 {w} 号窗口等候原经办人员").format(w=issued.routed_to_window))
        self.slip_detail.setText("\n".join(lines))
        self.print_label.setText(_("正在打印取号单…"))
        self.pages.setCurrentIndex(1)
        self.issued.emit(issued)
        printers, pdf_dir = self.printers, self.pdf_dir
        self.tasks.job(
            lambda _state: print_slip(issued, printers, pdf_dir), self._printed, self._print_failed
        )
        self._back.start(BACK_AFTER_MS)

    @while_alive
    def _printed(self, outcome: SlipOutcome) -> None:
        if outcome.pdf_path is not None:
            self.print_label.setText(_("未连接取号单打印机，已保存电子取号单。请记住您的号码。"))
        else:
            self.print_label.setText(_("请取走取号单"))
        self.slip_done.emit(outcome)

    @while_alive
    def _print_failed(self, exc: BaseException) -> None:
        log.error("slip printing failed", exc_info=exc)
        self.print_label.setText(_("取号单打印失败，请记住您的号码或联系导办人员。"))

    @while_alive
    def _error(self, exc: BaseException) -> None:
        self.busy = False
        if is_expected(exc):
            self.message.setText(getattr(exc, "message", str(exc)))
            return
        log.error("kiosk error", exc_info=exc)
        self.message.setText(_("系统繁忙，请稍后再试或联系导办人员。"))

    def reset(self) -> None:
        self._back.stop()
        self.id_edit.clear()
        self.case_edit.clear()
        self.appointment_edit.clear()
        for button in self.priority_buttons.values():
            button.setChecked(False)
        self.pages.setCurrentIndex(0)
        self.load_categories()
