"""办件查询: find a case, read its history, and take the later steps at the window.

Every rule is in :mod:`clerk_app.services.cases`; this page reads the widgets and runs service
calls through ``ctx.tasks.db``. A step opens a small dialog (Enter confirms, Esc cancels); the
buttons offered follow the steps the state machine allows this user now, and the service checks
again.

Documents: the decision issues its 决定书, the delivery its 送达回证, and 发证 the licence of an
approved licence matter — each in the step's unit of work (number blocks topped up first, as on the
intake form); what a step printed opens in the preview window (print from there), and every
document of the case is listed under its history (Enter or a double click opens it again).

Keys: Ctrl+F search box, Enter search, Ctrl+PgDown / Ctrl+PgUp next / previous page, F5 补正材料已收,
F6 开始审查, F7 作出决定, F8 送达, F9 归档, F10 撤件, F11 发证, Ctrl+D the case's documents.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from clerk_app.documents.dto import DocType
from clerk_app.domain.case_states import CaseState
from clerk_app.domain.deadlines import DeadlineStatus
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.gui.correction_dialog import CorrectionDialog
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pdf_preview import PreviewDialog
from clerk_app.gui.print_records import print_documents
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.case_documents import StepDocuments
from clerk_app.services.cases import (
    CaseDetail,
    CasePage,
    CaseQuery,
    CaseRow,
    CaseService,
    Decision,
    DeliveryMethod,
)
from clerk_app.services.corrections import CorrectionReceipt, CorrectionService
from clerk_app.services.documents import IssuedNotice, refill_due

PAGE_SIZE = 50
CHINA = HALL_TZ

#: deadline status → (text colour, background) of its cell
DEADLINE_COLOURS = {
    DeadlineStatus.NORMAL.value: (QColor("#1b5e20"), None),
    DeadlineStatus.WARNING.value: (QColor("#5c3a00"), QColor("#ffc107")),
    DeadlineStatus.OVERDUE.value: (QColor("#ffffff"), QColor("#c62828")),
}


@dataclass(frozen=True)
class StepButton:
    key: str  # the step (a CaseEvent value, or "end_special" etc.)
    label: str  # N_ marked
    shortcut: str
    events: tuple[str, ...]  # enabled when any of these events is allowed now


STEPS = (
    StepButton("receive_correction", N_("补正材料已收"), "F5", ("resume_review",)),
    StepButton("start_review", N_("开始审查"), "F6", ("start_review",)),
    StepButton("decide", N_("作出决定"), "F7", ("approve", "approve_tolerance", "refuse")),
    StepButton("deliver", N_("送达"), "F8", ("deliver",)),
    StepButton("archive", N_("归档"), "F9", ("archive",)),
    StepButton("withdraw", N_("撤件"), "F10", ("withdraw",)),
    StepButton("request_correction", N_("要求补正"), "", ("request_correction",)),
    StepButton("start_special", N_("进入特别程序"), "", ("start_special",)),
    StepButton("end_special", N_("结束特别程序"), "", ("end_special",)),
    StepButton("confirm_tolerance", N_("容缺材料已补齐"), "", ("confirm_tolerance",)),
    StepButton("licence", N_("发证"), "F11", ()),  # enabled by the detail's licence_due
)

COLUMNS = [
    N_("办件编号"),
    N_("申请人"),
    N_("证件号码"),
    N_("状态"),
    N_("期限"),
    N_("承诺办结"),
    N_("联系电话"),
    N_("办理事项"),
    N_("窗口"),
]
DEADLINE_COLUMN = 4


def _local(at: dt.datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


def _item(text: str, data: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


class StepDialog(QDialog):
    """The few fields of one later step; Enter confirms, Esc cancels."""

    def __init__(self, step: StepButton, detail: CaseDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = step
        self.setObjectName(f"step_{step.key}")
        self.setWindowTitle(_("{step}：{number}").format(step=_(step.label), number=detail.row.case_number))
        self.setModal(True)
        form = QFormLayout(self)
        self.decision_combo: QComboBox | None = None
        self.method_combo: QComboBox | None = None
        self.materials_list: QListWidget | None = None
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("stepReason")
        self.basis_edit = QLineEdit()
        self.basis_edit.setObjectName("stepBasis")
        self.recipient_edit = QLineEdit()
        self.recipient_edit.setObjectName("stepRecipient")
        self.tracking_edit = QLineEdit()
        self.tracking_edit.setObjectName("stepTracking")
        self.address_edit = QLineEdit(detail.delivery_address)
        self.address_edit.setObjectName("stepAddress")
        key = step.key
        if key == "decide":
            self._decision_rows(form, detail)
        elif key == "deliver":
            self._delivery_rows(form, detail)
        elif key == "request_correction":
            self._correction_rows(form, detail)
        elif key in ("start_special", "withdraw"):
            form.addRow(_("理由"), self.reason_edit)
        else:
            form.addRow(_("说明"), self.reason_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(_("确定 (Enter)"))
        ok.setDefault(True)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("取消 (Esc)"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        first = self.decision_combo or self.method_combo or self.materials_list or self.reason_edit
        first.setFocus()

    def _decision_rows(self, form: QFormLayout, detail: CaseDetail) -> None:
        self.decision_combo = QComboBox()
        self.decision_combo.setObjectName("stepDecision")
        names = {
            Decision.APPROVE: N_("准予许可"),
            Decision.APPROVE_TOLERANCE: N_("容缺通过"),
            Decision.REFUSE: N_("不予许可"),
        }
        for decision, name in names.items():
            if decision.value in detail.allowed:
                self.decision_combo.addItem(_(name), decision.value)
        form.addRow(_("决定"), self.decision_combo)
        form.addRow(_("理由"), self.reason_edit)
        form.addRow(_("法律依据"), self.basis_edit)

    def _delivery_rows(self, form: QFormLayout, detail: CaseDetail) -> None:
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("stepMethod")
        for method in DeliveryMethod:
            self.method_combo.addItem(method.label, method.value)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(detail.delivery)))
        self.recipient_edit.setText(detail.row.applicant_name)
        form.addRow(_("送达方式"), self.method_combo)
        form.addRow(_("签收人"), self.recipient_edit)
        form.addRow(_("签收说明"), self.reason_edit)
        form.addRow(_("快递单号"), self.tracking_edit)
        form.addRow(_("邮寄地址"), self.address_edit)
        self.method_combo.currentIndexChanged.connect(self._method_changed)
        self._method_changed()

    def _correction_rows(self, form: QFormLayout, detail: CaseDetail) -> None:
        self.materials_list = QListWidget()
        self.materials_list.setObjectName("stepMaterials")
        for m in detail.materials:
            item = QListWidgetItem(m.name)
            item.setData(Qt.ItemDataRole.UserRole, m.key)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.materials_list.addItem(item)
        form.addRow(_("需补正材料"), self.materials_list)
        form.addRow(_("说明"), self.reason_edit)

    def _method_changed(self) -> None:
        mail = self.method_combo is not None and self.method_combo.currentData() == DeliveryMethod.MAIL
        self.tracking_edit.setEnabled(mail)
        self.address_edit.setEnabled(mail)
        self.recipient_edit.setEnabled(not mail)

    def checked_materials(self) -> list[str]:
        if self.materials_list is None:
            return []
        found = []
        for row in range(self.materials_list.count()):
            item = self.materials_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                found.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return found


class CasesPage(Page):
    key = "cases"
    title = N_("办件查询")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._service: CaseService | None = None
        self._corrections: CorrectionService | None = None
        self.correction_dialog: CorrectionDialog | None = None
        self.page_no = 0
        self.last_page: CasePage | None = None
        self.detail: CaseDetail | None = None
        self.step_dialog: StepDialog | None = None
        self.previews: list[PreviewDialog] = []
        self.layout_.addLayout(self._search_row())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._results_box())
        splitter.addWidget(self._detail_box())
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self.layout_.addWidget(splitter, 1)
        self._shortcuts()
        self._enable_steps()

    def alive(self) -> bool:
        """False once the window was closed and its widgets deleted while a result was on its way."""
        return Shiboken.isValid(self) and Shiboken.isValid(self.summary_label)

    # ---- building -------------------------------------------------------------------------------

    def _search_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("caseSearch")
        self.search_edit.setPlaceholderText(_("办件编号、姓名、证件号码、统一社会信用代码或电话（可输尾号）"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.returnPressed.connect(self.search)
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("statusFilter")
        self.status_combo.addItem(_("全部状态"), "")
        for state in CaseState:
            self.status_combo.addItem(state.label, state.value)
        self.deadline_combo = QComboBox()
        self.deadline_combo.setObjectName("deadlineFilter")
        self.deadline_combo.addItem(_("全部期限"), "")
        for status in DeadlineStatus:
            self.deadline_combo.addItem(status.label, status.value)
        self.status_combo.activated.connect(lambda _i: self.search())
        self.deadline_combo.activated.connect(lambda _i: self.search())
        self.search_button = QPushButton(_("查询 (Enter)"))
        self.search_button.setObjectName("searchButton")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.search_edit, 3)
        row.addWidget(self.status_combo, 1)
        row.addWidget(self.deadline_combo, 1)
        row.addWidget(self.search_button)
        return row

    def _results_box(self) -> QGroupBox:
        box = QGroupBox(_("查询结果"))
        layout = QVBoxLayout(box)
        self.results = QTableWidget(0, len(COLUMNS))
        self.results.setObjectName("caseResults")
        self.results.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.results.verticalHeader().setVisible(False)
        self.results.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.setMinimumHeight(190)
        self.results.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.results)
        pager = QHBoxLayout()
        self.count_label = QLabel("")
        self.count_label.setObjectName("caseCount")
        self.prev_button = QPushButton(_("上一页 (Ctrl+PgUp)"))
        self.next_button = QPushButton(_("下一页 (Ctrl+PgDown)"))
        self.prev_button.clicked.connect(self.previous_page)
        self.next_button.clicked.connect(self.next_page)
        pager.addWidget(self.count_label, 1)
        pager.addWidget(self.prev_button)
        pager.addWidget(self.next_button)
        layout.addLayout(pager)
        return box

    def _detail_box(self) -> QGroupBox:
        box = QGroupBox(_("办件详情与办理过程"))
        layout = QVBoxLayout(box)
        self.summary_label = QLabel(_("请在上方选择一件办件"))
        self.summary_label.setObjectName("caseSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        self.history = QTableWidget(0, 6)
        self.history.setObjectName("caseHistory")
        self.history.setHorizontalHeaderLabels(
            [_("时间"), _("环节"), _("状态变化"), _("经办人"), _("窗口"), _("理由与说明")]
        )
        self.history.verticalHeader().setVisible(False)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setMinimumHeight(130)
        layout.addWidget(self.history, 1)
        self.documents_list = QListWidget()
        self.documents_list.setObjectName("caseDocuments")
        self.documents_list.setMaximumHeight(84)
        self.documents_list.setToolTip(_("本件文书：回车或双击打开预览，可在预览中打印"))
        self.documents_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.documents_list.itemActivated.connect(self._document_activated)
        layout.addWidget(self.documents_list)
        buttons = QGridLayout()
        self.step_buttons: dict[str, QPushButton] = {}
        for index, step in enumerate(STEPS):
            text = _(step.label) + (f" ({step.shortcut})" if step.shortcut else "")
            button = QPushButton(text)
            button.setObjectName(f"step_{step.key}_button")
            button.clicked.connect(partial(self.begin_step, step.key))
            self.step_buttons[step.key] = button
            buttons.addWidget(button, index // 6, index % 6)
        layout.addLayout(buttons)
        return box

    def _shortcuts(self) -> None:
        keys: list[tuple[str, Callable[[], None]]] = [
            ("Ctrl+F", self.focus_search),
            ("Ctrl+PgDown", self.next_page),
            ("Ctrl+PgUp", self.previous_page),
            ("Ctrl+D", self.documents_list.setFocus),
        ]
        keys += [(s.shortcut, partial(self.begin_step, s.key)) for s in STEPS if s.shortcut]
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # ---- service --------------------------------------------------------------------------------

    def service(self) -> CaseService:
        """Built on first use, on the database worker (it loads the catalogue and calendar)."""
        if self._service is None:
            runtime = self.ctx.runtime
            self._service = CaseService(runtime.local, documents=StepDocuments.for_runtime(runtime))
        return self._service

    def corrections(self) -> CorrectionService:
        """The correction checklist (补正材料已收, F5): built on first use, on the database worker.
        A partial return re-issues the 补正材料通知书 of what is still missing."""
        if self._corrections is None:
            runtime, cases = self.ctx.runtime, self.service()
            desk = cases.documents.desk if cases.documents is not None else None

            def top_up() -> object:
                # a partial return re-issues the correction notice; the last material accepts the
                # case, which then gets its acceptance notice and any 容缺/告知承诺 letters
                kinds = (DocType.CORRECTION, DocType.ACCEPTANCE, DocType.TOLERANCE, DocType.COMMITMENT)
                return refill_due(runtime.local, runtime.central, doc_types=kinds)

            self._corrections = CorrectionService(
                runtime.local, cases, notices=desk, catalogue=cases.catalogue, top_up=top_up
            )
        return self._corrections

    def activated(self) -> None:
        self.search()
        self.search_edit.setFocus()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    # ---- searching ------------------------------------------------------------------------------

    def query(self) -> CaseQuery:
        status = str(self.status_combo.currentData() or "")
        deadline = str(self.deadline_combo.currentData() or "")
        return CaseQuery(
            text=self.search_edit.text(),
            statuses=(status,) if status else (),
            deadline=(deadline,) if deadline else (),
            page=self.page_no,
            page_size=PAGE_SIZE,
        )

    def search(self) -> None:
        self.page_no = 0
        self._run_search()

    def next_page(self) -> None:
        if self.last_page is not None and self.page_no + 1 < self.last_page.pages:
            self.page_no += 1
            self._run_search()

    def previous_page(self) -> None:
        if self.page_no > 0:
            self.page_no -= 1
            self._run_search()

    def _run_search(self) -> None:
        query, session = self.query(), self.ctx.session
        self.ctx.tasks.db(lambda: self.service().search(session, query), self._show_page, self.ctx.errors)

    def _show_page(self, page: CasePage) -> None:
        self.last_page = page
        keep = self.detail.row.case_id if self.detail else None
        self.results.blockSignals(True)
        self.results.setRowCount(len(page.rows))
        for index, row in enumerate(page.rows):
            self._fill_row(index, row)
        self.results.blockSignals(False)
        self.results.resizeColumnsToContents()
        more = "+" if page.total_capped else ""
        self.count_label.setText(
            _("共 {total}{more} 件，第 {page} / {pages} 页").format(
                total=page.total, more=more, page=page.page + 1, pages=page.pages
            )
        )
        self.prev_button.setEnabled(page.page > 0)
        self.next_button.setEnabled(page.page + 1 < page.pages)
        for index, row in enumerate(page.rows):
            if row.case_id == keep:
                self.results.selectRow(index)
                return
        if not page.rows:
            self._show_detail(None)

    def _fill_row(self, index: int, row: CaseRow) -> None:
        deadline = row.deadline_label
        if row.deadline_status and row.workdays_left is not None and row.deadline_status != "overdue":
            deadline = _("{label}（剩 {n} 个工作日）").format(label=deadline, n=row.workdays_left)
        cells = [
            row.case_number,
            row.applicant_name,
            row.id_number,
            row.status_label,
            deadline,
            _local(row.promised_due),
            row.phone,
            "、".join(row.matter_names),
            str(row.window_number or ""),
        ]
        for column, text in enumerate(cells):
            item = _item(text, str(row.case_id) if column == 0 else None)
            if column == DEADLINE_COLUMN and row.deadline_status:
                item.setData(Qt.ItemDataRole.UserRole, row.deadline_status)
                fore, back = DEADLINE_COLOURS[row.deadline_status]
                item.setForeground(QBrush(fore))
                if back is not None:
                    item.setBackground(QBrush(back))
            self.results.setItem(index, column, item)

    # ---- one case -------------------------------------------------------------------------------

    def selected_case(self) -> uuid.UUID | None:
        row = self.results.currentRow()
        item = self.results.item(row, 0) if row >= 0 else None
        return uuid.UUID(str(item.data(Qt.ItemDataRole.UserRole))) if item else None

    def _selected(self) -> None:
        case_id = self.selected_case()
        if case_id is None:
            return
        session = self.ctx.session
        self.ctx.tasks.db(lambda: self.service().detail(session, case_id), self._show_detail, self.ctx.errors)

    def _show_detail(self, detail: CaseDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.summary_label.setText(_("请在上方选择一件办件"))
            self.history.setRowCount(0)
            self.documents_list.clear()
            self._enable_steps()
            return
        row = detail.row
        parts = [
            _("{number}　{applicant}（{id}）　{status}").format(
                number=row.case_number,
                applicant=row.applicant_name,
                id=row.id_number,
                status=row.status_label,
            ),
            _("受理 {accepted}　承诺办结 {due}　经办 {clerk}").format(
                accepted=_local(row.accepted_at) or "—",
                due=_local(row.promised_due) or "—",
                clerk=row.clerk_name,
            ),
        ]
        if detail.agent_name:
            parts.append(_("代办人 {name}（{id}）").format(name=detail.agent_name, id=detail.agent_id_number))
        self.summary_label.setText("\n".join(parts))
        self.history.setRowCount(len(detail.events))
        for index, event in enumerate(detail.events):
            change = f"{event.from_label} → {event.to_label}" if event.from_label else event.to_label
            notes = [event.reason] if event.reason else []
            if event.legal_basis:
                notes.append(_("依据：{basis}").format(basis=event.legal_basis))
            notes += [f"{label}：{value}" for label, value in event.detail]
            cells = [
                _local(event.at),
                event.event_label,
                change,
                event.actor_name,
                str(event.window_number or ""),
                "；".join(n.replace("\n", " ") for n in notes),
            ]
            for column, text in enumerate(cells):
                self.history.setItem(index, column, _item(text))
        self.history.resizeColumnsToContents()
        self.documents_list.clear()
        for document in detail.documents:
            item = QListWidgetItem(f"{_local(document.created_at)}　{document.title}　{document.number}")
            item.setData(Qt.ItemDataRole.UserRole, str(document.id))
            self.documents_list.addItem(item)
        self._enable_steps()

    def _enable_steps(self) -> None:
        allowed = set(self.detail.allowed) if self.detail else set()
        if "accept" in allowed and self.detail and self.detail.row.status == "correction_requested":
            allowed.add("resume_review")  # a correction before acceptance ends in acceptance
        for step in STEPS:
            self.step_buttons[step.key].setEnabled(any(e in allowed for e in step.events))
        licence = self.step_buttons["licence"]
        licence.setEnabled(bool(self.detail and self.detail.licence_due))
        title = self.detail.licence_title if self.detail else ""
        if not title:
            licence.setToolTip(_("本件事项不发放证照"))
        elif self.detail and self.detail.licence_unsigned:
            licence.setToolTip(_("本工作台没有签发机构的签名密钥，不能发放{title}").format(title=title))
        else:
            licence.setToolTip(_("发放{title}").format(title=title))

    # ---- later steps ----------------------------------------------------------------------------

    def begin_step(self, key: str) -> None:
        step = next(s for s in STEPS if s.key == key)
        if self.detail is None or not self.step_buttons[key].isEnabled():
            return
        if key == "licence":
            self.issue_licence()
            return
        if key == "receive_correction":
            self.receive_correction()
            return
        dialog = StepDialog(step, self.detail, self)
        dialog.accepted.connect(lambda: self._finish_step(dialog))
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        self.step_dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: StepDialog) -> None:
        if self.step_dialog is dialog:
            self.step_dialog = None
        dialog.deleteLater()

    def _finish_step(self, dialog: StepDialog) -> None:
        if self.detail is None:
            return
        case_id, session, svc = self.detail.row.case_id, self.ctx.session, self.service
        reason = dialog.reason_edit.text()
        key = dialog.step.key
        work: Callable[[], CaseDetail]
        if key == "start_review":
            work = lambda: svc().start_review(session, case_id, reason)  # noqa: E731
        elif key == "request_correction":
            keys = dialog.checked_materials()
            work = lambda: svc().request_correction(session, case_id, keys, reason)  # noqa: E731
        elif key == "start_special":
            work = lambda: svc().start_special(session, case_id, reason)  # noqa: E731
        elif key == "end_special":
            work = lambda: svc().end_special(session, case_id, reason)  # noqa: E731
        elif key == "confirm_tolerance":
            work = lambda: svc().confirm_tolerance(session, case_id, reason)  # noqa: E731
        elif key == "decide":
            assert dialog.decision_combo is not None
            decision = str(dialog.decision_combo.currentData() or "")
            basis = dialog.basis_edit.text()
            work = lambda: svc().decide(session, case_id, decision, reason, basis)  # noqa: E731
        elif key == "deliver":
            assert dialog.method_combo is not None
            method = str(dialog.method_combo.currentData())
            recipient, tracking = dialog.recipient_edit.text(), dialog.tracking_edit.text()
            address = dialog.address_edit.text()
            work = lambda: svc().deliver(  # noqa: E731
                session,
                case_id,
                method,
                signature_note=reason,
                recipient=recipient,
                tracking_number=tracking,
                address=address,
            )
        elif key == "archive":
            work = lambda: svc().archive(session, case_id, reason)  # noqa: E731
        else:
            work = lambda: svc().withdraw(session, case_id, reason)  # noqa: E731
        event = key
        if key == "decide" and dialog.decision_combo is not None:
            event = str(dialog.decision_combo.currentData() or "")
        self._run_step(event, work)

    def receive_correction(self) -> None:
        """补正材料已收 (F5): tick what the applicant brought; all in moves the case on, part of it
        records what came and prints what is still missing."""
        if self.detail is None:
            return
        dialog = CorrectionDialog(
            self.ctx.tasks, self.corrections, self.ctx.session, self.detail.row.case_id, self.ctx.errors, self
        )
        dialog.recorded.connect(self._correction_recorded)
        dialog.finished.connect(lambda _r: self._correction_closed(dialog))
        self.correction_dialog = dialog
        dialog.open()

    def _correction_closed(self, dialog: CorrectionDialog) -> None:
        if self.correction_dialog is dialog:
            self.correction_dialog = None
        dialog.deleteLater()

    def _correction_recorded(self, receipt: CorrectionReceipt) -> None:
        if not self.alive():
            return
        self._selected()  # the case's detail and history again
        self._run_search()
        for document in receipt.documents:
            self.show_preview(document)

    def issue_licence(self) -> None:
        """发证 (F11): the licence of the approved case, previewed for printing."""
        if self.detail is None:
            return
        case_id, session, svc = self.detail.row.case_id, self.ctx.session, self.service
        self._run_step("licence", lambda: svc().issue_licence(session, case_id))

    def _run_step(self, event: str, work: Callable[[], CaseDetail]) -> None:
        """Top up the number blocks the step may draw from (never raises offline), then the step."""
        runtime, svc = self.ctx.runtime, self.service

        def run() -> CaseDetail:
            documents = svc().documents
            kinds = documents.doc_types(event) if documents is not None else ()
            if kinds:
                refill_due(runtime.local, runtime.central, doc_types=kinds)
            return work()

        self.ctx.tasks.db(run, self._step_done, self.ctx.errors)

    def _step_done(self, detail: CaseDetail) -> None:
        if not self.alive():
            return
        self._show_detail(detail)
        self._run_search()  # the row's status and deadline changed
        for document in detail.issued:
            self.show_preview(document)

    # ---- documents ------------------------------------------------------------------------------

    def _document_activated(self, item: QListWidgetItem) -> None:
        if self.detail is None:
            return
        case_id, session, svc = self.detail.row.case_id, self.ctx.session, self.service
        document_id = uuid.UUID(str(item.data(Qt.ItemDataRole.UserRole)))
        self.ctx.tasks.db(
            lambda: svc().open_document(session, case_id, document_id), self._opened, self.ctx.errors
        )

    def _opened(self, document: IssuedNotice) -> None:
        if self.alive():
            self.show_preview(document)

    def show_preview(self, document: IssuedNotice) -> PreviewDialog:
        dialog = PreviewDialog(f"{document.title} {document.number}", document.pdf, self)
        dialog.setObjectName(f"preview_{document.doc_type}")
        dialog.preview.print_requested.connect(lambda: self.print_document(document))
        dialog.finished.connect(lambda _result: self._preview_closed(dialog))
        self.previews.append(dialog)
        dialog.show()
        return dialog

    def _preview_closed(self, dialog: PreviewDialog) -> None:
        if dialog in self.previews:
            self.previews.remove(dialog)
        dialog.deleteLater()

    def print_document(self, document: IssuedNotice) -> None:
        print_documents(self.ctx, self, [document])


__all__ = ["CasesPage", "StepDialog"]
