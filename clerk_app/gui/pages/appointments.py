"""预约管理 (supervisors): a day's bookings with their state (待签到 / 已签到 / 已取消 / 已过期),
the booking platform's export imported from a file (CSV or XLSX; rows with faults listed by row
number), and a booking cancelled with a reason (the applicant phoned, or did not come).

A view over ``clerk_app.services.appointment_book``; every call runs on the database worker
(``ctx.tasks.db``), the GUI thread never waits on the central store.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QColor, QHideEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from clerk_app.domain.halltime import hall_now
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pages.supervision import _fit, _item, _table
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.appointment_book import (
    CANCEL_REASONS,
    AppointmentBook,
    BookingView,
    ImportReport,
)
from clerk_app.services.appointment_import import TEMPLATE_HEADER

#: colours of the state column (the palette of the other supervision pages)
STATE_COLOURS = {
    "booked": QColor("#1f6feb"),
    "checked_in": QColor("#1a7f37"),
    "cancelled": QColor("#6e7781"),
    "expired": QColor("#bc4c00"),
}
COLUMNS = (
    N_("预约码"), N_("时段"), N_("姓名"), N_("证件号码"), N_("手机号"), N_("业务类别"), N_("状态"),
    N_("号码"), N_("取消原因"),
)  # fmt: skip
#: how often the page reads the bookings again while it is shown (ms)
REFRESH_MS = 30_000
#: states a booking can be cancelled from
CANCELLABLE = ("booked", "expired")


class AppointmentsPage(Page):
    key = "appointments"
    title = N_("预约管理")
    permission = Permission.SUPERVISE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.book = AppointmentBook(ctx.runtime.central)
        self.bookings: list[BookingView] = []
        self.report: ImportReport | None = None
        self.loading = self.again = False
        self._build_bar()
        self.counts = QLabel()
        self.counts.setObjectName("appointmentCounts")
        self.layout_.addWidget(self.counts)
        self.table = _table([_(c) for c in COLUMNS], "appointmentTable")
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.layout_.addWidget(self.table, 1)
        self._build_cancel_row()
        self.import_log = QPlainTextEdit()
        self.import_log.setObjectName("appointmentImportLog")
        self.import_log.setReadOnly(True)
        self.import_log.setMaximumHeight(140)
        self.import_log.hide()
        self.layout_.addWidget(self.import_log)
        # check-ins at the kiosk show without a press of 刷新 while the page is on screen
        self.refresher = QTimer(self)
        self.refresher.setInterval(REFRESH_MS)
        self.refresher.timeout.connect(self.refresh)

    def _build_bar(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel(_("预约日期")))
        self.date_edit = QDateEdit()
        self.date_edit.setObjectName("appointmentDate")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        today = hall_now().date()
        self.date_edit.setDate(QDate(today.year, today.month, today.day))
        self.date_edit.dateChanged.connect(self.refresh)
        row.addWidget(self.date_edit)
        self.today_button = QPushButton(_("今天"))
        self.today_button.clicked.connect(self.show_today)
        row.addWidget(self.today_button)
        self.refresh_button = QPushButton(_("刷新"))
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        self.import_button = QPushButton(_("导入预约文件…"))
        self.import_button.setObjectName("appointmentImport")
        self.import_button.setToolTip(
            _("预约平台导出的 CSV 或 Excel 文件，第 1 行为列名：{cols}").format(
                cols="、".join(TEMPLATE_HEADER)
            )
        )
        self.import_button.clicked.connect(self.choose_file)
        row.addWidget(self.import_button)
        self.layout_.addLayout(row)

    def _build_cancel_row(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel(_("取消原因")))
        self.reason_combo = QComboBox()
        self.reason_combo.setObjectName("appointmentReason")
        self.reason_combo.setEditable(True)
        self.reason_combo.addItems([_(r) for r in CANCEL_REASONS])
        self.reason_combo.setMinimumContentsLength(20)
        self.reason_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        row.addWidget(self.reason_combo)
        self.cancel_button = QPushButton(_("取消所选预约"))
        self.cancel_button.setObjectName("appointmentCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_selected)
        row.addWidget(self.cancel_button)
        self.restore_button = QPushButton(_("恢复所选预约"))
        self.restore_button.setObjectName("appointmentRestore")
        self.restore_button.setToolTip(_("误取消的预约恢复为待签到（仅限当天及以后的预约）"))
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self.restore_selected)
        row.addWidget(self.restore_button)
        self.no_show_button = QPushButton(_("过期预约记为逾期未到"))
        self.no_show_button.setObjectName("appointmentNoShows")
        self.no_show_button.setToolTip(_("把这一天时段已结束、仍未签到的预约全部取消，原因为“逾期未到”"))
        self.no_show_button.setEnabled(False)
        self.no_show_button.clicked.connect(self.cancel_no_shows)
        row.addWidget(self.no_show_button)
        self.status = QLabel()
        self.status.setObjectName("pageHint")
        row.addWidget(self.status, 1)
        self.layout_.addLayout(row)

    # --- loading --------------------------------------------------------------------------------

    @property
    def day(self) -> dt.date:
        d = self.date_edit.date()
        return dt.date(d.year(), d.month(), d.day())

    def activated(self) -> None:
        self.refresh()
        self.refresher.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.refresher.stop()
        super().hideEvent(event)

    def show_today(self) -> None:
        today = hall_now().date()
        self.date_edit.setDate(QDate(today.year, today.month, today.day))
        self.refresh()

    def refresh(self) -> None:
        if self.loading:  # once the load under way is shown, again (something changed since)
            self.again = True
            return
        self.loading, self.again = True, False
        book, session, day = self.book, self.ctx.session, self.day
        self.ctx.tasks.db(lambda: (day, book.bookings(session, day)), self._show, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.ctx.errors(exc)

    def _show(self, result: tuple[dt.date, list[BookingView]]) -> None:
        self.loading = False
        day, bookings = result
        if self.again or day != self.day:  # the date or the bookings changed while loading
            self.refresh()
            return
        self.bookings = bookings
        self.table.setRowCount(len(bookings))
        for row, b in enumerate(bookings):
            cells = (
                b.code, b.slot_text, b.name, b.id_masked, b.phone_masked, f"{b.category} {b.category_name}",
                b.state_label, b.ticket_number, b.cancel_reason,
            )  # fmt: skip
            for column, text in enumerate(cells):
                item = _item(text, STATE_COLOURS.get(b.state) if column == 6 else None)
                item.setData(Qt.ItemDataRole.UserRole, b.code)
                self.table.setItem(row, column, item)
        _fit(self.table, 8)
        self.counts.setText(self._counts_text(bookings))
        self.no_show_button.setEnabled(any(b.state == "expired" for b in bookings))
        self._selection_changed()

    @staticmethod
    def _counts_text(bookings: list[BookingView]) -> str:
        n = {state: sum(1 for b in bookings if b.state == state) for state in STATE_COLOURS}
        if not bookings:
            return _("这一天没有预约。")
        return _(
            "共 {total} 条：待签到 {booked}，已签到 {checked_in}，已取消 {cancelled}，已过期 {expired}"
        ).format(total=len(bookings), **n)

    # --- cancel ---------------------------------------------------------------------------------

    def selected(self) -> BookingView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.bookings):
            return None
        return self.bookings[rows[0].row()]

    def _selection_changed(self) -> None:
        chosen = self.selected()
        self.cancel_button.setEnabled(chosen is not None and chosen.state in CANCELLABLE)
        self.restore_button.setEnabled(chosen is not None and chosen.state == "cancelled")

    def cancel_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        reason = self.reason_combo.currentText().strip()
        question = _("取消 {name} 在 {slot} 的预约（{code}）？\n原因：{reason}").format(
            name=chosen.name, slot=chosen.slot_text, code=chosen.code, reason=reason
        )
        if QMessageBox.question(self, _("取消预约"), question) != QMessageBox.StandardButton.Yes:
            return
        book, session, code = self.book, self.ctx.session, chosen.code
        self.cancel_button.setEnabled(False)
        self.ctx.tasks.db(lambda: book.cancel(session, code, reason), self._cancelled, self._action_failed)

    def _cancelled(self, booking: BookingView) -> None:
        self.status.setText(_("预约 {code} 已取消。").format(code=booking.code))
        self.refresh()

    def restore_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        question = _("恢复 {name} 在 {slot} 的预约（{code}）？\n原取消原因：{reason}").format(
            name=chosen.name, slot=chosen.slot_text, code=chosen.code, reason=chosen.cancel_reason
        )
        if QMessageBox.question(self, _("恢复预约"), question) != QMessageBox.StandardButton.Yes:
            return
        book, session, code = self.book, self.ctx.session, chosen.code
        self.restore_button.setEnabled(False)
        self.ctx.tasks.db(lambda: book.restore(session, code), self._restored, self._action_failed)

    def _restored(self, booking: BookingView) -> None:
        self.status.setText(
            _("预约 {code} 已恢复为{state}。").format(code=booking.code, state=booking.state_label)
        )
        self.refresh()

    def _action_failed(self, exc: BaseException) -> None:
        self.ctx.errors(exc)
        self.refresh()

    def cancel_no_shows(self) -> None:
        expired = sum(1 for b in self.bookings if b.state == "expired")
        question = _("把 {n} 条已过期的预约取消，原因为“逾期未到”？").format(n=expired)
        if QMessageBox.question(self, _("取消预约"), question) != QMessageBox.StandardButton.Yes:
            return
        book, session, day = self.book, self.ctx.session, self.day
        self.no_show_button.setEnabled(False)
        self.ctx.tasks.db(
            lambda: book.cancel_no_shows(session, day), self._no_shows_done, self._action_failed
        )

    def _no_shows_done(self, codes: list[str]) -> None:
        self.status.setText(_("{n} 条过期预约已记为逾期未到。").format(n=len(codes)))
        self.refresh()

    # --- import ---------------------------------------------------------------------------------

    def choose_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, _("导入预约文件"), "", _("预约文件 (*.csv *.xlsx);;所有文件 (*)")
        )
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        book, session = self.book, self.ctx.session
        self.import_button.setEnabled(False)
        self.import_log.show()
        self.import_log.setPlainText(_("正在导入 {name} …").format(name=path.name))
        self.ctx.tasks.db(lambda: book.import_file(session, path), self._imported, self._import_failed)

    def _imported(self, report: ImportReport) -> None:
        self.report = report
        self.import_button.setEnabled(True)
        lines = [_("{name}：{summary}").format(name=report.file_name, summary=report.summary)]
        lines += [e.text for e in report.errors]
        self.import_log.setPlainText("\n".join(lines))
        self.refresh()

    def _import_failed(self, exc: BaseException) -> None:
        self.import_button.setEnabled(True)
        self.import_log.setPlainText(_("导入未完成。"))
        self.ctx.errors(exc)
