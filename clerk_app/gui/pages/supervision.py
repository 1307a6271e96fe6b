"""Supervisor pages: the 办不成事 ledger (with its 20-minute timers) and the rectification of bad
ratings; and the 好差评 page where a clerk sees their own ratings and asks for a rating on the pad.

Views only: every service call goes through ``ctx.tasks.db``; the services check the roles again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.rating_pad import RatingPad
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services import complaints as cs
from clerk_app.services import ratings as rs
from clerk_app.services.complaints import (
    Category,
    ComplaintEventView,
    ComplaintInput,
    ComplaintService,
    ComplaintView,
    Complexity,
    LedgerQuery,
    Source,
    Status,
)
from clerk_app.services.ratings import (
    CHINA,
    Cause,
    Level,
    RatingService,
    RatingView,
    RectificationEventView,
    RectificationView,
)

OVER = QColor("#b3261e")
WARN = QColor("#c46a1a")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clock_text(span: dt.timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%m-%d %H:%M") if moment else ""


def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return table


#: a cell's text longer than this many characters is also its tooltip
TOOLTIP_FROM = 8
#: pixels added to a column fitted to its contents
FIT_SLACK = 10
#: the free-text column: at most this wide, and at least this wide when room is short
FIT_WIDE_MAX = 280
FIT_WIDE_MIN = 120


def _fit(table: QTableWidget, wide: int) -> None:
    """Columns as wide as their contents, with a little room when the table has it (so that a
    short status such as 已转办 is not cut by the style's margins); the free-text column ``wide``
    takes the room that is left (capped, and not below a floor), so that the table does not
    scroll sideways when it can be helped; the last column stretches into whatever remains."""
    header = table.horizontalHeader()
    header.setStretchLastSection(False)  # measured at its contents' width, stretched again below
    table.resizeColumnsToContents()
    count = table.columnCount()
    content = [table.columnWidth(column) for column in range(count)]
    fixed = [column for column in range(count) if column != wide]
    room = table.viewport().width()
    spare = room - sum(content[c] for c in fixed) - min(content[wide], FIT_WIDE_MIN)
    slack = max(0, min(FIT_SLACK, spare // max(1, len(fixed))))
    for column in fixed:
        table.setColumnWidth(column, content[column] + slack)
    if wide != count - 1:
        left = room - sum(content[c] + slack for c in fixed)
        table.setColumnWidth(wide, min(content[wide], FIT_WIDE_MAX, max(FIT_WIDE_MIN, left)))
    header.setStretchLastSection(True)


def _item(text: str, colour: QColor | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if len(text) > TOOLTIP_FROM:
        item.setToolTip(text)  # the whole text where a narrow column elides it
    if colour is not None:
        item.setForeground(QBrush(colour))
    return item


class ComplaintsPage(Page):
    """办不成事: register, follow each case's timer, hand over, resolve, answer, feed back, close."""

    key = "complaints"
    title = N_("办不成事")
    permission = Permission.SUPERVISE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = ComplaintService(ctx.runtime)
        self.cases: list[ComplaintView] = []
        self.current: ComplaintView | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._ledger_tab(), _("台账"))
        self.tabs.addTab(self._register_tab(), _("登记新案件"))
        self.layout_.addWidget(self.tabs, 1)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.tick)
        self.ticker.start()

    # ---- ledger ------------------------------------------------------------------------------

    def _ledger_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        search = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("ledgerSearch")
        self.search_edit.setPlaceholderText(_("编号、申请人、电话、诉求、事项或工单号"))
        self.search_edit.returnPressed.connect(self.refresh)
        self.status_filter = QComboBox()
        self.status_filter.addItem(_("未办结"), "open")
        self.status_filter.addItem(_("全部"), None)
        for status in Status:
            self.status_filter.addItem(status.label, status.value)
        self.source_filter = QComboBox()
        self.source_filter.addItem(_("全部来源"), None)
        for source in Source:
            self.source_filter.addItem(source.label, source.value)
        find = QPushButton(_("查询"))
        find.clicked.connect(self.refresh)
        export = QPushButton(_("导出 CSV"))
        export.clicked.connect(self._choose_export)
        for widget in (self.search_edit, self.status_filter, self.source_filter, find, export):
            search.addWidget(widget)
        layout.addLayout(search)
        split = QSplitter(Qt.Orientation.Vertical)
        headers = [_("编号"), _("登记时间"), _("来源"), _("申请人"), _("诉求"), _("类别"), _("状态")]
        self.table = _table([*headers, _("计时"), _("办理期限")], "complaintTable")
        self.table.itemSelectionChanged.connect(self._selected)
        split.addWidget(self.table)
        split.addWidget(self._detail_box())
        layout.addWidget(split, 1)
        return tab

    def _detail_box(self) -> QWidget:
        box = QGroupBox(_("案件处理"))
        layout = QHBoxLayout(box)
        left = QVBoxLayout()
        self.timer_label = QLabel("--:--")
        self.timer_label.setObjectName("complaintTimer")
        self.timer_label.setStyleSheet("font-size: 30px; font-weight: bold;")
        self.detail_label = QLabel(_("请在上方选择一个案件。"))
        self.detail_label.setObjectName("complaintDetail")
        self.detail_label.setWordWrap(True)
        self.events = QListWidget()
        self.events.setObjectName("complaintEvents")
        left.addWidget(self.timer_label)
        left.addWidget(self.detail_label)
        left.addWidget(self.events, 1)
        layout.addLayout(left, 1)
        form = QFormLayout()
        self.department_combo = QComboBox()
        self.department_combo.setObjectName("handoverDepartment")
        self.department_combo.setEditable(True)
        self.complexity_combo = QComboBox()
        self.complexity_combo.setObjectName("handoverComplexity")
        for level in Complexity:
            self.complexity_combo.addItem(level.label, level.value)
        hand_over = QPushButton(_("转办"))
        hand_over.setObjectName("handOverButton")
        hand_over.clicked.connect(self.hand_over)
        row = QHBoxLayout()
        row.addWidget(self.department_combo, 1)
        row.addWidget(self.complexity_combo)
        row.addWidget(hand_over)
        form.addRow(_("转办"), row)
        self.answer_edit = QLineEdit()
        self.answer_edit.setObjectName("answerEdit")
        self.answer_edit.setPlaceholderText(_("解决情况、否定答复理由或反馈内容"))
        form.addRow(_("内容"), self.answer_edit)
        buttons = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        for key, label, slot in (
            ("resolve", _("解决"), self.resolve),
            ("negative", _("否定答复"), self.negative_answer),
            ("feedback", _("反馈申请人"), self.feedback),
            ("close", _("办结"), self.close_case),
        ):
            button = QPushButton(label)
            button.setObjectName(f"{key}Button")
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.action_buttons[key] = button
        form.addRow(buttons)
        holder = QWidget()
        holder.setLayout(form)
        layout.addWidget(holder, 1)
        return box

    def _register_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.reg_source = QComboBox()
        self.reg_source.setObjectName("registerSource")
        for source in (Source.WINDOW, Source.HOTLINE):
            self.reg_source.addItem(source.label, source.value)
        self.reg_hotline = QLineEdit()
        self.reg_hotline.setObjectName("registerHotlineRef")
        self.reg_name = QLineEdit()
        self.reg_name.setObjectName("registerApplicant")
        self.reg_phone = QLineEdit()
        self.reg_phone.setObjectName("registerPhone")
        self.reg_request = QPlainTextEdit()
        self.reg_request.setObjectName("registerRequest")
        self.reg_request.setPlaceholderText(_("申请人没有办成的事项或诉求"))
        self.reg_window = QSpinBox()
        self.reg_window.setObjectName("registerWindow")
        self.reg_window.setRange(0, 999)
        self.reg_window.setSpecialValueText(_("无"))
        self.reg_department = QLineEdit()
        self.reg_department.setObjectName("registerDepartment")
        self.reg_matter = QLineEdit()
        self.reg_matter.setObjectName("registerMatter")
        self.reg_case = QLineEdit()
        self.reg_case.setObjectName("registerCaseRef")
        self.reg_category = QComboBox()
        self.reg_category.setObjectName("registerCategory")
        for category in Category:
            self.reg_category.addItem(category.label, category.value)
        register = QPushButton(_("登记"))
        register.setObjectName("registerButton")
        register.clicked.connect(self.register)
        form.addRow(_("来源"), self.reg_source)
        form.addRow(_("12345 工单号"), self.reg_hotline)
        form.addRow(_("申请人"), self.reg_name)
        form.addRow(_("联系电话"), self.reg_phone)
        form.addRow(_("诉求"), self.reg_request)
        form.addRow(_("窗口"), self.reg_window)
        form.addRow(_("部门"), self.reg_department)
        form.addRow(_("事项"), self.reg_matter)
        form.addRow(_("办件编号"), self.reg_case)
        form.addRow(_("类别"), self.reg_category)
        form.addRow(register)
        return tab

    # ---- data --------------------------------------------------------------------------------

    def activated(self) -> None:
        self.ctx.tasks.db(lambda: self.service.departments(self.ctx.session), self._show_departments)
        self.refresh()

    def _show_departments(self, names: list[str]) -> None:
        text = self.department_combo.currentText()
        self.department_combo.clear()
        self.department_combo.addItems(names)
        if text:
            self.department_combo.setCurrentText(text)

    def query(self) -> LedgerQuery:
        status = self.status_filter.currentData()
        source = self.source_filter.currentData()
        return LedgerQuery(
            text=self.search_edit.text(),
            status=Status(status) if status not in (None, "open") else None,
            open_only=status == "open",
            source=Source(source) if source else None,
        )

    def refresh(self) -> None:
        query, session = self.query(), self.ctx.session
        self.ctx.tasks.db(lambda: self.service.search(session, query), self._show_cases)

    def _show_cases(self, cases: list[ComplaintView]) -> None:
        selected = self.current.id if self.current else None
        self.cases = cases
        self.table.blockSignals(True)
        self.table.setRowCount(len(cases))
        for row, case in enumerate(cases):
            cells = [
                case.number,
                _when(case.registered_at),
                case.source.label,
                case.applicant_name,
                case.request,
                case.category.label,
                case.status.label,
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, _item(text))
            due = case.due_date.isoformat() if case.due_date else ""
            self.table.setItem(row, 8, _item(due, OVER if case.overdue else None))
        self.table.blockSignals(False)
        self.tick()
        _fit(self.table, 4)
        self.current = None
        for row, case in enumerate(cases):
            if case.id == selected:
                self.table.selectRow(row)
                self.current = case
        self._show_current()

    def tick(self) -> None:
        """Once a second: every timer of the ledger, and the selected case's large timer."""
        now = _now()
        for row, case in enumerate(self.cases):
            over = case.over_target(now)
            running = case.first_action_at is None and case.open
            colour = OVER if over and running else (WARN if over else None)
            self.table.setItem(row, 7, _item(_clock_text(case.elapsed(now)), colour))
        if self.current is not None:
            case = self.current
            running = case.first_action_at is None and case.open
            self.timer_label.setText(
                _("计时 {t}（目标 {m} 分钟内处理）").format(
                    t=_clock_text(case.elapsed(now)), m=case.window_minutes
                )
                if running
                else _("首次处理用时 {t}").format(t=_clock_text(case.elapsed(now)))
            )
            shade = "#b3261e" if case.over_target(now) else "#1b7f3b"
            self.timer_label.setStyleSheet(f"font-size: 30px; font-weight: bold; color: {shade};")

    def _selected(self) -> None:
        row = self.table.currentRow()
        self.current = self.cases[row] if 0 <= row < len(self.cases) else None
        self._show_current()
        if self.current is not None:
            case_id, session = self.current.id, self.ctx.session
            self.ctx.tasks.db(lambda: self.service.get(session, case_id), self._show_events)

    def _show_current(self) -> None:
        case = self.current
        if case is None:
            self.timer_label.setText("--:--")
            self.detail_label.setText(_("请在上方选择一个案件。"))
            self.events.clear()
            return
        lines = [
            f"{case.number} · {case.source.label} · {case.status.label}",
            _("申请人：{name} {phone}").format(name=case.applicant_name, phone=case.applicant_phone),
            _("诉求：{text}").format(text=case.request),
        ]
        if case.handover_department:
            lines.append(
                _("承办部门：{d}，期限 {due}").format(
                    d=case.handover_department, due=case.due_date.isoformat() if case.due_date else ""
                )
            )
        if case.negative_reason:
            lines.append(_("否定答复理由：{text}").format(text=case.negative_reason))
        self.detail_label.setText("\n".join(lines))
        active = case.status in (Status.REGISTERED, Status.HANDED_OVER)
        answered = case.status in (Status.RESOLVED, Status.NEGATIVE)
        self.action_buttons["resolve"].setEnabled(active)
        self.action_buttons["negative"].setEnabled(active)
        self.action_buttons["feedback"].setEnabled(answered)
        self.action_buttons["close"].setEnabled(answered and bool(case.feedback))
        self.tick()

    def _show_events(self, result: tuple[ComplaintView, list[ComplaintEventView]]) -> None:
        case, events = result
        if self.current is None or self.current.id != case.id:
            return
        self.events.clear()
        for event in events:
            self.events.addItem(
                f"{_when(event.at)}  {cs.event_label(event.kind)}  {event.actor_name}  {event.text}"
            )

    # ---- actions -----------------------------------------------------------------------------

    def _act(self, call: Callable[[], object]) -> None:
        self.ctx.tasks.db(call, self._acted)

    def _acted(self, case: ComplaintView) -> None:
        self.current = case
        self.answer_edit.clear()
        self.refresh()
        case_id, session = case.id, self.ctx.session
        self.ctx.tasks.db(lambda: self.service.get(session, case_id), self._show_events)

    def register(self) -> None:
        entry = ComplaintInput(
            request=self.reg_request.toPlainText(),
            category=Category(self.reg_category.currentData()),
            source=Source(self.reg_source.currentData()),
            applicant_name=self.reg_name.text(),
            applicant_phone=self.reg_phone.text(),
            window_number=self.reg_window.value() or None,
            department=self.reg_department.text(),
            matter_name=self.reg_matter.text(),
            case_ref=self.reg_case.text(),
            hotline_ref=self.reg_hotline.text(),
        )
        session = self.ctx.session
        self.ctx.tasks.db(lambda: self.service.register(session, entry), self._registered)

    def _registered(self, case: ComplaintView) -> None:
        for edit in (self.reg_hotline, self.reg_name, self.reg_phone, self.reg_department, self.reg_matter):
            edit.clear()
        self.reg_case.clear()
        self.reg_request.clear()
        self.reg_window.setValue(0)
        self.tabs.setCurrentIndex(0)
        self._acted(case)

    def _case_id(self) -> uuid.UUID | None:
        return self.current.id if self.current else None

    def hand_over(self) -> None:
        case_id, session = self._case_id(), self.ctx.session
        if case_id is None:
            return
        department = self.department_combo.currentText()
        level = Complexity(self.complexity_combo.currentData())
        self._act(lambda: self.service.hand_over(session, case_id, department=department, complexity=level))

    def resolve(self) -> None:
        case_id, session, text = self._case_id(), self.ctx.session, self.answer_edit.text()
        if case_id is not None:
            self._act(lambda: self.service.resolve(session, case_id, text))

    def negative_answer(self) -> None:
        case_id, session, text = self._case_id(), self.ctx.session, self.answer_edit.text()
        if case_id is not None:
            self._act(lambda: self.service.negative_answer(session, case_id, text))

    def feedback(self) -> None:
        case_id, session, text = self._case_id(), self.ctx.session, self.answer_edit.text()
        if case_id is not None:
            self._act(lambda: self.service.record_feedback(session, case_id, text))

    def close_case(self) -> None:
        case_id, session = self._case_id(), self.ctx.session
        if case_id is not None:
            self._act(lambda: self.service.close(session, case_id))

    def _choose_export(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("导出台账"), "办不成事台账.csv", _("CSV 文件 (*.csv)")
        )
        if name:
            self.export_to(Path(name))

    def export_to(self, path: Path) -> None:
        query, session = self.query(), self.ctx.session

        def work() -> Path:
            path.write_bytes(self.service.export_csv(session, query))
            return path

        self.ctx.tasks.db(work)


class RectificationsPage(Page):
    """差评整改: every bad rating's rectification, its follow-up calls, cause, action, re-rating."""

    key = "rectifications"
    title = N_("差评整改")
    permission = Permission.SUPERVISE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = RatingService(ctx.runtime)
        self.items: list[RectificationView] = []
        self.current: RectificationView | None = None
        top = QHBoxLayout()
        self.open_only = QCheckBox(_("只看未办结"))
        self.open_only.setObjectName("openOnly")
        self.open_only.setChecked(True)
        self.open_only.toggled.connect(self.refresh)
        self.summary = QLabel()
        self.summary.setObjectName("rectificationSummary")
        top.addWidget(self.open_only)
        top.addWidget(self.summary, 1)
        self.layout_.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = _table(
            [
                _("服务编号"),
                _("评价"),
                _("窗口"),
                _("工作人员"),
                _("评价内容"),
                _("整改期限"),
                _("状态"),
                _("回访"),
            ],
            "rectificationTable",
        )
        self.table.itemSelectionChanged.connect(self._selected)
        split.addWidget(self.table)
        split.addWidget(self._detail_box())
        self.layout_.addWidget(split, 1)

    def _detail_box(self) -> QWidget:
        box = QGroupBox(_("整改处理"))
        layout = QHBoxLayout(box)
        left = QVBoxLayout()
        self.detail_label = QLabel(_("请在上方选择一条整改。"))
        self.detail_label.setObjectName("rectificationDetail")
        self.detail_label.setWordWrap(True)
        self.events = QListWidget()
        self.events.setObjectName("rectificationEvents")
        left.addWidget(self.detail_label)
        left.addWidget(self.events, 1)
        layout.addLayout(left, 1)
        form = QFormLayout()
        self.reached = QCheckBox(_("已联系上申请人"))
        self.reached.setObjectName("followUpReached")
        self.follow_note = QLineEdit()
        self.follow_note.setObjectName("followUpNote")
        self.follow_note.setPlaceholderText(_("回访情况：说了什么，或为何未联系上"))
        follow = QPushButton(_("记录回访"))
        follow.setObjectName("followUpButton")
        follow.clicked.connect(self.follow_up)
        form.addRow(self.reached)
        form.addRow(self.follow_note)
        form.addRow(follow)
        self.cause_combo = QComboBox()
        self.cause_combo.setObjectName("causeCombo")
        for cause in Cause:
            self.cause_combo.addItem(cause.label, cause.value)
        self.action_edit = QLineEdit()
        self.action_edit.setObjectName("actionEdit")
        self.action_edit.setPlaceholderText(_("采取的整改措施"))
        save_cause = QPushButton(_("保存原因和整改措施"))
        save_cause.setObjectName("causeButton")
        save_cause.clicked.connect(self.save_cause)
        form.addRow(_("差评原因"), self.cause_combo)
        form.addRow(self.action_edit)
        form.addRow(save_cause)
        self._closing_rows(form)
        holder = QWidget()
        holder.setLayout(form)
        layout.addWidget(holder, 1)
        return box

    def _closing_rows(self, form: QFormLayout) -> None:
        self.re_rating_combo = QComboBox()
        self.re_rating_combo.setObjectName("reRatingCombo")
        for level in Level:
            self.re_rating_combo.addItem(level.label, level.value)
        re_rate = QPushButton(_("记录再次评价"))
        re_rate.setObjectName("reRatingButton")
        re_rate.clicked.connect(self.re_rate)
        row = QHBoxLayout()
        row.addWidget(self.re_rating_combo, 1)
        row.addWidget(re_rate)
        form.addRow(_("再次评价"), row)
        self.close_button = QPushButton(_("办结整改"))
        self.close_button.setObjectName("closeRectificationButton")
        self.close_button.clicked.connect(self.close_rectification)
        form.addRow(self.close_button)

    def activated(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        open_only, session = self.open_only.isChecked(), self.ctx.session
        self.ctx.tasks.db(lambda: self.service.rectifications(session, open_only=open_only), self._show)

    def _show(self, items: list[RectificationView]) -> None:
        selected = self.current.id if self.current else None
        self.items = items
        overdue = sum(1 for r in items if r.overdue)
        self.summary.setText(_("共 {n} 条，其中逾期 {o} 条").format(n=len(items), o=overdue))
        self.table.blockSignals(True)
        self.table.setRowCount(len(items))
        for row, r in enumerate(items):
            status = _("已办结") if r.closed else (_("逾期") if r.overdue else _("整改中"))
            cells = [
                r.service_ref,
                r.level.label,
                "" if r.window_number is None else str(r.window_number),
                r.clerk_name,
                r.comment,
                r.due_date.isoformat(),
                status,
                str(r.follow_ups),
            ]
            for column, text in enumerate(cells):
                colour = OVER if r.overdue and column in (5, 6) else None
                self.table.setItem(row, column, _item(text, colour))
        self.table.blockSignals(False)
        _fit(self.table, 4)
        self.current = None
        for row, r in enumerate(items):
            if r.id == selected:
                self.table.selectRow(row)
                self.current = r
        self._show_current()

    def _selected(self) -> None:
        row = self.table.currentRow()
        self.current = self.items[row] if 0 <= row < len(self.items) else None
        self._show_current()
        self._load_events()

    def _load_events(self) -> None:
        if self.current is not None:
            rect_id, session = self.current.id, self.ctx.session
            self.ctx.tasks.db(lambda: self.service.rectification(session, rect_id), self._show_events)

    def _show_current(self) -> None:
        r = self.current
        if r is None:
            self.detail_label.setText(_("请在上方选择一条整改。"))
            self.events.clear()
            self.close_button.setEnabled(False)
            return
        lines = [
            _("{ref}：{level}，{window} 号窗口 {clerk}").format(
                ref=r.service_ref, level=r.level.label, window=r.window_number or "-", clerk=r.clerk_name
            ),
            _("评价内容：{text}").format(text=r.comment or _("（无）")),
            _("申请人：{name} {phone}").format(name=r.applicant_name, phone=r.applicant_phone),
            _("整改期限：{due}，负责人：{who}").format(due=r.due_date.isoformat(), who=r.assignee_name),
        ]
        if r.overdue:
            lines.append(_("已逾期！"))
        if r.follow_ups == 0:
            lines.append(_("尚无回访记录：不能办结。"))
        self.detail_label.setText("\n".join(lines))
        self.close_button.setEnabled(not r.closed and r.follow_ups > 0)

    def _show_events(self, result: tuple[RectificationView, list[RectificationEventView]]) -> None:
        view, events = result
        if self.current is None or self.current.id != view.id:
            return
        self.events.clear()
        for e in events:
            reached = ""
            if e.reached is not None:
                reached = _("（已联系上）") if e.reached else _("（未联系上）")
            self.events.addItem(f"{_when(e.at)}  {rs.event_label(e.kind)}{reached}  {e.actor_name}  {e.text}")

    def _act(self, call: Callable[[], object]) -> None:
        self.ctx.tasks.db(call, self._acted)

    def _acted(self, view: RectificationView) -> None:
        self.current = view
        self.follow_note.clear()
        self.action_edit.clear()
        self.reached.setChecked(False)
        self.refresh()
        self._load_events()

    def follow_up(self) -> None:
        if self.current is None:
            return
        rect_id, session = self.current.id, self.ctx.session
        reached, note = self.reached.isChecked(), self.follow_note.text()
        self._act(lambda: self.service.record_follow_up(session, rect_id, reached=reached, note=note))

    def save_cause(self) -> None:
        if self.current is None:
            return
        rect_id, session = self.current.id, self.ctx.session
        cause, action = Cause(self.cause_combo.currentData()), self.action_edit.text()
        self._act(lambda: self.service.record_cause(session, rect_id, cause=cause, action=action))

    def re_rate(self) -> None:
        if self.current is None:
            return
        rect_id, session = self.current.id, self.ctx.session
        level = Level(self.re_rating_combo.currentData())
        self._act(lambda: self.service.record_re_rating(session, rect_id, level))

    def close_rectification(self) -> None:
        if self.current is None:
            return
        rect_id, session = self.current.id, self.ctx.session
        self._act(lambda: self.service.close(session, rect_id))


class RatingsPage(Page):
    """好差评: a clerk's own ratings (a supervisor sees all), and asking for a rating on the pad."""

    key = "ratings"
    title = N_("好差评")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = RatingService(ctx.runtime)
        self.pad: RatingPad | None = None
        box = QGroupBox(_("请申请人评价"))
        row = QHBoxLayout(box)
        self.ref_edit = QLineEdit()
        self.ref_edit.setObjectName("serviceRefEdit")
        self.ref_edit.setPlaceholderText(_("服务编号（取号号码或办件编号）"))
        self.matter_edit = QLineEdit()
        self.matter_edit.setObjectName("matterEdit")
        self.matter_edit.setPlaceholderText(_("事项（可选）"))
        ask = QPushButton(_("在评价器上请求评价"))
        ask.setObjectName("requestRatingButton")
        ask.clicked.connect(self.request_rating)
        row.addWidget(self.ref_edit, 1)
        row.addWidget(self.matter_edit, 1)
        row.addWidget(ask)
        self.layout_.addWidget(box)
        self.table = _table(
            [_("评价时间"), _("服务编号"), _("评价"), _("窗口"), _("工作人员"), _("事项"), _("评价内容")],
            "ratingTable",
        )
        self.layout_.addWidget(self.table, 1)

    def open_pad(self) -> RatingPad:
        if self.pad is None:
            self.pad = RatingPad(self.ctx)
            self.pad.rated.connect(lambda _result: self.activated())
            self.pad.show_on_applicant_screen()
        return self.pad

    def request_rating(self) -> None:
        ref = self.ref_edit.text().strip()
        if not ref:
            self.ctx.errors.show_expected(_("请填写服务编号。"))
            return
        # ticket numbers start again every day: the service day makes the reference unique
        day = dt.datetime.now(CHINA).strftime("%Y%m%d")
        self.open_pad().request_rating(f"{day}/{ref}", self.matter_edit.text().strip())
        self.ref_edit.clear()
        self.matter_edit.clear()

    def activated(self) -> None:
        session = self.ctx.session
        self.ctx.tasks.db(lambda: self.service.ratings(session), self._show)

    def _show(self, rows: list[RatingView]) -> None:
        self.table.setRowCount(len(rows))
        for index, r in enumerate(rows):
            cells = [
                _when(r.rated_at),
                r.service_ref,
                r.level.label,
                "" if r.window_number is None else str(r.window_number),
                r.clerk_name,
                r.matter_name,
                r.comment,
            ]
            for column, text in enumerate(cells):
                self.table.setItem(index, column, _item(text, OVER if r.level.bad else None))
        _fit(self.table, 6)
