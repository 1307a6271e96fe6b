"""一窗受理: the intake form — applicant, matters or a bundle, the merged material list, and the
four outcomes. Every rule lives in :mod:`clerk_app.services.intake`; this page only reads the
widgets into an ``IntakeForm`` and runs service calls through ``ctx.tasks.db``. The form is saved
as a draft (off the GUI thread) shortly after each change.

Keys: F5 受理, F6 补正, F7 不予受理, F8 当场办结, Ctrl+S 保存草稿, Ctrl+N 新表单.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from clerk_app.domain.catalogue import Catalogue, Material, Matter, merge_materials
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.identifiers import DocumentType
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.intake import (
    AgentIn,
    ApplicantIn,
    ApplicantKind,
    CaseResult,
    IntakeError,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
)

AUTOSAVE_MS = 800

_STATES = [
    (MaterialState.RECEIVED, N_("已收")),
    (MaterialState.MISSING, N_("缺")),
    (MaterialState.DEFERRED, N_("容缺")),
    (MaterialState.COMMITMENT, N_("告知承诺")),
]

#: form field of a problem → the widget attribute marked with it
_FIELD_WIDGETS = {
    "applicant.id_type": "id_type_combo",
    "applicant.id_number": "id_edit",
    "applicant.name": "name_edit",
    "applicant.phone": "phone_edit",
    "applicant.address": "address_edit",
    "applicant.legal_representative": "legal_rep_edit",
    "matters": "matter_list",
    "bundle_code": "bundle_combo",
    "materials": "materials_table",
    "reason": "reason_edit",
    "legal_basis": "basis_edit",
}


class IntakePage(Page):
    key = "intake"
    title = N_("一窗受理")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.catalogue: Catalogue = load_demo_catalogue()
        self._service: IntakeService | None = None
        self.draft_id: uuid.UUID | None = None
        self.last_result: CaseResult | None = None
        self._loading = False
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_draft)
        row = QHBoxLayout()
        row.addWidget(self._applicant_box(), 1)
        row.addWidget(self._matter_box(), 1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self._materials_box(), 1)
        self.layout_.addWidget(self._outcome_box())
        self.result_label = QLabel("")
        self.result_label.setObjectName("intakeResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.result_label)
        self._shortcuts()

    # ---- building -------------------------------------------------------------------------------

    def _applicant_box(self) -> QGroupBox:
        box = QGroupBox(_("申请人"))
        form = QFormLayout(box)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(_("自然人"), ApplicantKind.PERSON.value)
        self.kind_combo.addItem(_("法人或其他组织"), ApplicantKind.ORGANISATION.value)
        self.id_type_combo = QComboBox()
        for doc in DocumentType:
            self.id_type_combo.addItem(doc.label, doc.code)
        self.id_edit = QLineEdit()
        self.name_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        self.address_edit = QLineEdit()
        self.legal_rep_edit = QLineEdit()
        self.agent_name_edit = QLineEdit()
        self.agent_id_edit = QLineEdit()
        self.agent_phone_edit = QLineEdit()
        rows = [
            (_("类型"), self.kind_combo),
            (_("证件类型"), self.id_type_combo),
            (_("证件号码/信用代码"), self.id_edit),
            (_("名称"), self.name_edit),
            (_("联系电话"), self.phone_edit),
            (_("联系地址"), self.address_edit),
            (_("法定代表人"), self.legal_rep_edit),
            (_("代办人姓名"), self.agent_name_edit),
            (_("代办人身份证号"), self.agent_id_edit),
            (_("代办人电话"), self.agent_phone_edit),
        ]
        for label, widget in rows:
            form.addRow(label, widget)
            if isinstance(widget, QLineEdit):
                widget.textEdited.connect(self._changed)
                widget.returnPressed.connect(self.focusNextChild)
            else:
                widget.currentIndexChanged.connect(self._changed)
        return box

    def _matter_box(self) -> QGroupBox:
        box = QGroupBox(_("办理事项"))
        form = QFormLayout(box)
        self.bundle_combo = QComboBox()
        self.bundle_combo.addItem(_("（不选一件事主题）"), "")
        for bundle in self.catalogue.bundles:
            self.bundle_combo.addItem(bundle.name, bundle.code)
        self.bundle_combo.currentIndexChanged.connect(self._matters_changed)
        self.matter_list = QListWidget()
        for matter in self.catalogue.matters:
            item = QListWidgetItem(f"{matter.name}  {matter.promised_limit.text()}")
            item.setData(Qt.ItemDataRole.UserRole, matter.implementation_code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.matter_list.addItem(item)
        self.matter_list.itemChanged.connect(self._matters_changed)
        form.addRow(_("一件事主题"), self.bundle_combo)
        form.addRow(_("单项事项"), self.matter_list)
        return box

    def _materials_box(self) -> QGroupBox:
        box = QGroupBox(_("申请材料（所选事项合并，不重复）"))
        layout = QHBoxLayout(box)
        self.materials_table = QTableWidget(0, 5)
        self.materials_table.setHorizontalHeaderLabels(
            [_("材料"), _("必需"), _("状态"), _("份数"), _("容缺补交日期")]
        )
        self.materials_table.verticalHeader().setVisible(False)
        self.materials_table.horizontalHeader().setStretchLastSection(True)
        self.materials_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.materials_table)
        return box

    def _outcome_box(self) -> QGroupBox:
        box = QGroupBox(_("办理结果"))
        layout = QHBoxLayout(box)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(_("补正说明或不予受理理由"))
        self.basis_edit = QLineEdit()
        self.basis_edit.setPlaceholderText(_("不予受理的法律依据"))
        layout.addWidget(self.reason_edit, 2)
        layout.addWidget(self.basis_edit, 2)
        self.accept_button = QPushButton(_("受理 (F5)"))
        self.correction_button = QPushButton(_("补正 (F6)"))
        self.refuse_button = QPushButton(_("不予受理 (F7)"))
        self.spot_button = QPushButton(_("当场办结 (F8)"))
        self.draft_button = QPushButton(_("保存草稿 (Ctrl+S)"))
        self.new_button = QPushButton(_("新表单 (Ctrl+N)"))
        self.accept_button.clicked.connect(self.accept_case)
        self.correction_button.clicked.connect(self.request_correction)
        self.refuse_button.clicked.connect(self.refuse_case)
        self.spot_button.clicked.connect(self.done_on_the_spot)
        self.draft_button.clicked.connect(self.save_draft)
        self.new_button.clicked.connect(self.clear_form)
        for button in (
            self.accept_button,
            self.correction_button,
            self.refuse_button,
            self.spot_button,
            self.draft_button,
            self.new_button,
        ):
            layout.addWidget(button)
        return box

    def _shortcuts(self) -> None:
        keys = [
            ("F5", self.accept_case),
            ("F6", self.request_correction),
            ("F7", self.refuse_case),
            ("F8", self.done_on_the_spot),
            ("Ctrl+S", self.save_draft),
            ("Ctrl+N", self.clear_form),
        ]
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # ---- reading the form -----------------------------------------------------------------------

    def chosen_matters(self) -> tuple[str, ...]:
        codes = []
        for row in range(self.matter_list.count()):
            item = self.matter_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                codes.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return tuple(codes)

    def _merged_materials(self) -> tuple[Material, ...]:
        bundle = str(self.bundle_combo.currentData() or "")
        codes = list(self.catalogue.bundle(bundle).matter_codes) if bundle else []
        codes.extend(self.chosen_matters())
        seen: dict[str, Matter] = {}
        for code in codes:
            matter = self.catalogue.matter(code)
            seen.setdefault(matter.implementation_code, matter)
        return merge_materials(m.materials for m in seen.values())

    def _matters_changed(self, *_args: object) -> None:
        previous = {m.key: m for m in self.material_marks()}
        materials = self._merged_materials()
        table = self.materials_table
        table.setRowCount(len(materials))
        for row, material in enumerate(materials):
            name = QTableWidgetItem(material.name)
            name.setData(Qt.ItemDataRole.UserRole, material.key)
            table.setItem(row, 0, name)
            table.setItem(row, 1, QTableWidgetItem(_("是") if material.required else _("否")))
            state = QComboBox()
            for value, label in _STATES:
                state.addItem(_(label), value.value)
            count = QSpinBox()
            count.setRange(0, 999)
            count.setValue(material.copies)
            due = QDateEdit(QDate.currentDate().addDays(5))
            due.setCalendarPopup(True)
            mark = previous.get(material.key)
            if mark is not None:
                state.setCurrentIndex(max(0, state.findData(mark.state)))
                count.setValue(mark.count)
                if mark.due is not None:
                    due.setDate(QDate(mark.due.year, mark.due.month, mark.due.day))
            state.currentIndexChanged.connect(self._changed)
            count.valueChanged.connect(self._changed)
            due.dateChanged.connect(self._changed)
            table.setCellWidget(row, 2, state)
            table.setCellWidget(row, 3, count)
            table.setCellWidget(row, 4, due)
        table.resizeColumnToContents(0)
        self._changed()

    def material_marks(self) -> tuple[MaterialIn, ...]:
        marks = []
        table = self.materials_table
        for row in range(table.rowCount()):
            item = table.item(row, 0)
            state, count, due = table.cellWidget(row, 2), table.cellWidget(row, 3), table.cellWidget(row, 4)
            if item is None or not isinstance(state, QComboBox) or not isinstance(count, QSpinBox):
                continue
            assert isinstance(due, QDateEdit)
            value = str(state.currentData())
            day = due.date()
            marks.append(
                MaterialIn(
                    key=str(item.data(Qt.ItemDataRole.UserRole)),
                    state=value,
                    count=count.value(),
                    due=dt.date(day.year(), day.month(), day.day())
                    if value == MaterialState.DEFERRED
                    else None,
                )
            )
        return tuple(marks)

    def current_form(self) -> IntakeForm:
        agent = AgentIn(
            name=self.agent_name_edit.text(),
            id_number=self.agent_id_edit.text(),
            phone=self.agent_phone_edit.text(),
        )
        return IntakeForm(
            applicant=ApplicantIn(
                kind=str(self.kind_combo.currentData()),
                id_type=str(self.id_type_combo.currentData()),
                id_number=self.id_edit.text(),
                name=self.name_edit.text(),
                phone=self.phone_edit.text(),
                address=self.address_edit.text(),
                legal_representative=self.legal_rep_edit.text(),
            ),
            matter_codes=self.chosen_matters(),
            bundle_code=str(self.bundle_combo.currentData() or ""),
            materials=self.material_marks(),
            agent=None if agent.is_empty else agent,
            note=self.reason_edit.text(),
        )

    # ---- actions --------------------------------------------------------------------------------

    def service(self) -> IntakeService:
        """Built on first use, on the database worker (it loads the catalogue and calendar)."""
        if self._service is None:
            self._service = IntakeService(self.ctx.runtime.local, self.catalogue)
        return self._service

    def _changed(self, *_args: object) -> None:
        if not self._loading:
            self._autosave.start()

    def save_draft(self) -> None:
        self._autosave.stop()
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        self.ctx.tasks.db(lambda: self.service().save_draft(session, form, draft), self._draft_saved)

    def _draft_saved(self, info: Any) -> None:
        self.draft_id = info.id

    def _run(self, call: Any) -> None:
        self._autosave.stop()
        self._clear_marks()
        self.ctx.tasks.db(call, self._done, self._failed)

    def accept_case(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        self._run(lambda: self.service().accept(session, form, draft_id=draft))

    def request_correction(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        note = self.reason_edit.text()
        self._run(lambda: self.service().request_correction(session, form, note, draft_id=draft))

    def refuse_case(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        reason, basis = self.reason_edit.text(), self.basis_edit.text()
        self._run(lambda: self.service().refuse(session, form, reason, basis, draft_id=draft))

    def done_on_the_spot(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        self._run(lambda: self.service().done_on_the_spot(session, form, draft_id=draft))

    def _done(self, result: Any) -> None:
        assert isinstance(result, CaseResult)
        self.last_result = result
        self.draft_id = None
        lines = [
            _("{status}：案件编号 {number}，请打印{notice}。").format(
                status=result.status_label, number=result.case_number, notice=result.notice
            )
        ]
        if result.promised_date is not None:
            promised = _("承诺办结日期 {date}").format(date=result.promised_date.isoformat())
            if result.provisional:
                promised += _("（节假日安排未公布，日期为暂定）")
            lines.append(promised)
        if result.missing:
            lines.append(_("需补正：{names}").format(names="、".join(m.name for m in result.missing)))
        if result.returned:
            lines.append(_("退回材料：{names}").format(names="、".join(m.name for m in result.returned)))
        lines.extend(result.warnings)
        self.result_label.setText("\n".join(lines))

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, IntakeError):
            for problem in exc.problems:
                widget = getattr(self, _FIELD_WIDGETS.get(problem.field, ""), None)
                if isinstance(widget, QWidget):
                    widget.setProperty("invalid", True)
                    widget.setToolTip(problem.message)
                    widget.setStyleSheet("border: 1px solid #c62828;")
            self.result_label.setText(exc.message)
        self.ctx.errors(exc)

    def _clear_marks(self) -> None:
        for name in _FIELD_WIDGETS.values():
            widget = getattr(self, name)
            widget.setProperty("invalid", False)
            widget.setToolTip("")
            widget.setStyleSheet("")

    def _edits(self) -> list[QLineEdit]:
        return [
            self.id_edit,
            self.name_edit,
            self.phone_edit,
            self.address_edit,
            self.legal_rep_edit,
            self.agent_name_edit,
            self.agent_id_edit,
            self.agent_phone_edit,
            self.reason_edit,
            self.basis_edit,
        ]

    def clear_form(self) -> None:
        """Start a new applicant; the current draft stays parked in the store."""
        self._autosave.stop()
        self._loading = True
        try:
            for edit in self._edits():
                edit.clear()
            self.bundle_combo.setCurrentIndex(0)
            for row in range(self.matter_list.count()):
                self.matter_list.item(row).setCheckState(Qt.CheckState.Unchecked)
            self.materials_table.setRowCount(0)
        finally:
            self._loading = False
        self.draft_id = None
        self._clear_marks()
        self.id_edit.setFocus()
