"""一窗受理: the intake form — applicant (with agent, delivery, 跨省通办, ticket), matters or a bundle
found as the clerk types, the merged material list, the matter-specific fields of the catalogue,
and the four outcomes with their notices. Every rule lives in :mod:`clerk_app.services.intake`;
this page reads the widgets into an ``IntakeForm`` and runs service calls through ``ctx.tasks.db``.

* Fields are checked as typed: shortly after a change the form is validated on the database
  worker and each field the clerk has filled is marked with its reason (typing is never blocked).
* The form is saved as a draft (off the GUI thread) shortly after each change, and at once when
  the workstation locks; parked drafts are listed and picked up again from the draft box.
* A keyboard-wedge ID-card reader fills the ID field from any applicant field
  (:mod:`clerk_app.gui.id_reader`); a known applicant (回头件) is offered with their open cases.
* An outcome issues its notice in the same unit of work and opens the preview window.

Keys (also listed on the home page): F2 证件号码, Ctrl+F 查找事项, F5 受理, F6 补正, F7 不予受理,
F8 当场办结, Ctrl+S 保存草稿, Ctrl+N 新表单, Ctrl+D 草稿箱, Ctrl+R 带入回头件信息; Enter moves on;
Esc closes the preview.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.dto import DocType
from clerk_app.domain.catalogue import (
    ExtraField,
    FieldType,
    Material,
    MaterialForm,
    Matter,
    merge_materials,
)
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.identifiers import DocumentType
from clerk_app.domain.search import HitKind, MatterIndex, SearchHit
from clerk_app.gui.id_reader import CardData, IdCardReader, KeyboardWedgeReader
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pdf_preview import PreviewDialog
from clerk_app.gui.printing import (
    PrintJob,
    PrintResult,
    ask_printer,
    load_choices,
    make_printer,
    print_in_background,
)
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.intake import (
    CHINA,
    AgentIn,
    ApplicantIn,
    ApplicantKind,
    CaseResult,
    DraftInfo,
    FieldProblem,
    IntakeError,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
    ReturningApplicant,
    extra_fields_of,
)
from clerk_app.services.intake_notices import IssuedNotice, NoticeIssuer

AUTOSAVE_MS = 800
VALIDATE_MS = 300
INVALID_STYLE = "border: 1px solid #c62828;"

_STATES = [
    (MaterialState.RECEIVED, N_("已收")),
    (MaterialState.MISSING, N_("缺")),
    (MaterialState.DEFERRED, N_("容缺")),
    (MaterialState.COMMITMENT, N_("告知承诺")),
]
_FORMS = [
    (MaterialForm.ORIGINAL, N_("原件")),
    (MaterialForm.COPY, N_("复印件")),
    (MaterialForm.ELECTRONIC, N_("电子件")),
]
#: materials table columns
COL_NAME, COL_REQUIRED, COL_STATE, COL_FORM, COL_COUNT, COL_DUE, COL_NOTE = range(7)

#: form field of a problem → the widget attribute marked with it
_FIELD_WIDGETS = {
    "applicant.id_type": "id_type_combo",
    "applicant.id_number": "id_edit",
    "applicant.name": "name_edit",
    "applicant.phone": "phone_edit",
    "applicant.address": "address_edit",
    "applicant.legal_representative": "legal_rep_edit",
    "agent.name": "agent_name_edit",
    "agent.id_type": "agent_id_type_combo",
    "agent.id_number": "agent_id_edit",
    "agent.phone": "agent_phone_edit",
    "delivery": "delivery_combo",
    "delivery_address": "delivery_address_edit",
    "other_region": "other_region_edit",
    "ticket_number": "ticket_edit",
    "matters": "matter_list",
    "bundle_code": "bundle_combo",
    "materials": "materials_table",
    "note": "reason_edit",
    "reason": "reason_edit",
    "legal_basis": "basis_edit",
    "authority": "authority_edit",
}


def _narrow(combo: QComboBox) -> None:
    """Long choices (bundle names, seal sets) must not widen the form past a 1366 px screen."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)


class IntakePage(Page):
    key = "intake"
    title = N_("一窗受理")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.catalogue = load_demo_catalogue()
        self._service: IntakeService | None = None
        self._index: MatterIndex | None = None
        self.draft_id: uuid.UUID | None = None
        self.last_result: CaseResult | None = None
        self.returning: ReturningApplicant | None = None
        self.drafts: list[DraftInfo] = []
        self.problems: tuple[FieldProblem, ...] = ()
        self.previews: list[PreviewDialog] = []
        self._looked_up = ""
        self._loading = False
        self._generation = 0  # bumped whenever another applicant's form is put on screen
        self._lock_hooked = False
        self.extra_widgets: dict[str, QWidget] = {}
        self._autosave = self._timer(AUTOSAVE_MS, self.save_draft)
        self._validate = self._timer(VALIDATE_MS, self.validate_now)
        top = QHBoxLayout()
        applicant_box, agent_box = self._applicant_box()
        top.addWidget(applicant_box, 1)
        top.addWidget(agent_box, 1)
        right = QVBoxLayout()
        right.addWidget(self._matter_box(), 1)
        right.addWidget(self._extra_box())
        top.addLayout(right, 1)
        # the form scrolls on a small counter monitor; the outcome keys and the result stay in view
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(4)
        body_layout.addWidget(self._draft_bar())
        body_layout.addLayout(top, 0)
        body_layout.addWidget(self._materials_box(), 1)
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.form_scroll.setWidget(body)
        self.layout_.setSpacing(4)
        self.layout_.addWidget(self.form_scroll, 1)
        self.layout_.addWidget(self._outcome_box())
        for layout in self.findChildren(QFormLayout):
            layout.setVerticalSpacing(3)
            layout.setContentsMargins(6, 4, 6, 4)
        for combo in self.findChildren(QComboBox):
            _narrow(combo)
        self.drafts_combo.setMinimumContentsLength(30)
        self.layout_.addWidget(self._result_label())
        self.reader: IdCardReader = KeyboardWedgeReader(self._applicant_edits(), self)
        self.reader.card_read.connect(self.card_read)
        self._shortcuts()
        self._tab_order()

    def _result_label(self) -> QLabel:
        self.result_label = QLabel("")
        self.result_label.setObjectName("intakeResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return self.result_label

    def alive(self) -> bool:
        """False once the window was closed and its widgets deleted while a result was on its way."""
        return Shiboken.isValid(self) and Shiboken.isValid(self.result_label)

    def _timer(self, ms: int, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    # ---- building -------------------------------------------------------------------------------

    def _draft_bar(self) -> QWidget:
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.drafts_combo = QComboBox()
        self.drafts_combo.setMinimumContentsLength(30)
        self.resume_button = QPushButton(_("继续办理所选草稿 (Ctrl+D)"))
        self.resume_button.clicked.connect(self.resume_selected)
        self.discard_button = QPushButton(_("删除所选草稿"))
        self.discard_button.clicked.connect(self.discard_selected)
        row.addWidget(QLabel(_("草稿箱")))
        row.addWidget(self.drafts_combo, 1)
        row.addWidget(self.resume_button)
        row.addWidget(self.discard_button)
        return bar

    def _applicant_box(self) -> tuple[QGroupBox, QGroupBox]:
        box = QGroupBox(_("申请人"))
        form = QFormLayout(box)
        agent_box = QGroupBox(_("代办、送达与排队"))
        agent_form = QFormLayout(agent_box)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(_("自然人"), ApplicantKind.PERSON.value)
        self.kind_combo.addItem(_("法人或其他组织"), ApplicantKind.ORGANISATION.value)
        self.id_type_combo = self._document_types()
        self.id_edit = QLineEdit()
        self.id_edit.setPlaceholderText(_("可直接刷身份证"))
        self.returning_label = QLabel("")
        self.returning_label.setObjectName("returningApplicant")
        self.returning_label.setWordWrap(True)
        self.returning_button = QPushButton(_("带入回头件信息 (Ctrl+R)"))
        self.returning_button.setVisible(False)
        self.returning_button.clicked.connect(self.use_returning)
        self.name_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        self.address_edit = QLineEdit()
        self.legal_rep_edit = QLineEdit()
        self.agent_name_edit = QLineEdit()
        self.agent_id_type_combo = self._document_types()
        self.agent_id_edit = QLineEdit()
        self.agent_phone_edit = QLineEdit()
        self.delivery_combo = QComboBox()
        self.delivery_combo.addItem(_("窗口领取"), "pickup")
        self.delivery_combo.addItem(_("邮寄送达"), "mail")
        self.delivery_address_edit = QLineEdit()
        self.delivery_address_edit.setPlaceholderText(_("邮寄时填写收件地址"))
        self.cross_region_check = QCheckBox(_("跨省通办 / 异地代收"))
        self.other_region_edit = QLineEdit()
        self.other_region_edit.setPlaceholderText(_("事项所属省市，如 浙江省杭州市"))
        self.ticket_edit = QLineEdit()
        self.ticket_edit.setPlaceholderText(_("正在办理的排队号，如 A012"))
        returning = QWidget()
        returning_row = QHBoxLayout(returning)
        returning_row.setContentsMargins(0, 0, 0, 0)
        returning_row.addWidget(self.returning_label, 1)
        returning_row.addWidget(self.returning_button)
        rows: list[tuple[str, QWidget]] = [
            (_("类型"), self.kind_combo),
            (_("证件类型"), self.id_type_combo),
            (_("证件号码/信用代码"), self.id_edit),
            ("", returning),
            (_("名称"), self.name_edit),
            (_("联系电话"), self.phone_edit),
            (_("联系地址"), self.address_edit),
            (_("法定代表人"), self.legal_rep_edit),
            (_("代办人姓名"), self.agent_name_edit),
            (_("代办人证件类型"), self.agent_id_type_combo),
            (_("代办人证件号码"), self.agent_id_edit),
            (_("代办人电话"), self.agent_phone_edit),
            (_("送达方式"), self.delivery_combo),
            (_("邮寄地址"), self.delivery_address_edit),
            ("", self.cross_region_check),
            (_("跨省通办地区"), self.other_region_edit),
            (_("排队号"), self.ticket_edit),
        ]
        for index, (label, widget) in enumerate(rows):
            (form if index < 8 else agent_form).addRow(label, widget)
            if isinstance(widget, QLineEdit):
                widget.textEdited.connect(self._changed)
                widget.returnPressed.connect(self.focusNextChild)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(self._changed)
        self._wire_conditional()
        return box, agent_box

    def _wire_conditional(self) -> None:
        self.cross_region_check.toggled.connect(self._changed)
        self.cross_region_check.toggled.connect(self._show_conditional)
        self.delivery_combo.currentIndexChanged.connect(self._show_conditional)
        self.kind_combo.currentIndexChanged.connect(self._show_conditional)
        self._show_conditional()

    def _document_types(self) -> QComboBox:
        combo = QComboBox()
        for doc in DocumentType:
            combo.addItem(doc.label, doc.code)
        return combo

    def _matter_box(self) -> QGroupBox:
        box = QGroupBox(_("办理事项"))
        form = QFormLayout(box)
        self.matter_search = QLineEdit()
        self.matter_search.setPlaceholderText(_("输入名称、编码或拼音首字母（如 qykb），回车选中"))
        self.matter_search.textEdited.connect(self.search_matters)
        self.matter_search.returnPressed.connect(self.choose_hit)
        self.matter_hits = QListWidget()
        self.matter_hits.setMaximumHeight(110)
        self.matter_hits.setVisible(False)
        self.matter_hits.itemActivated.connect(self.choose_hit)
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
        self.matter_list.setMaximumHeight(110)
        form.addRow(_("查找事项"), self.matter_search)
        form.addRow("", self.matter_hits)
        form.addRow(_("一件事主题"), self.bundle_combo)
        form.addRow(_("单项事项"), self.matter_list)
        return box

    def _extra_box(self) -> QGroupBox:
        self.extra_box = QGroupBox(_("事项信息（按所选事项）"))
        self.extra_form = QFormLayout(self.extra_box)
        self.extra_box.setVisible(False)
        return self.extra_box

    def _materials_box(self) -> QGroupBox:
        box = QGroupBox(_("申请材料（所选事项合并，不重复）"))
        layout = QHBoxLayout(box)
        self.materials_table = QTableWidget(0, 7)
        self.materials_table.setHorizontalHeaderLabels(
            [
                _("材料"),
                _("必需"),
                _("状态"),
                _("原件/复印件"),
                _("份数"),
                _("容缺补交日期"),
                _("说明（补正原因）"),
            ]
        )
        self.materials_table.verticalHeader().setVisible(False)
        self.materials_table.horizontalHeader().setStretchLastSection(True)
        self.materials_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.setContentsMargins(6, 4, 6, 4)
        self.materials_table.setMinimumHeight(150)
        layout.addWidget(self.materials_table)
        return box

    def _outcome_box(self) -> QWidget:
        box = QWidget()
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        fields = QHBoxLayout()
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(_("补正说明或不予受理理由"))
        self.basis_edit = QLineEdit()
        self.basis_edit.setPlaceholderText(_("不予受理的法律依据"))
        self.authority_edit = QLineEdit()
        self.authority_edit.setPlaceholderText(_("不予受理时告知可向哪个机关申请"))
        for edit in (self.reason_edit, self.basis_edit, self.authority_edit):
            edit.textEdited.connect(self._changed)
            fields.addWidget(edit, 2)
        buttons = QHBoxLayout()
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
        for button in self._buttons():
            buttons.addWidget(button)
        outer.addLayout(fields)
        outer.addLayout(buttons)
        return box

    def _buttons(self) -> list[QPushButton]:
        return [
            self.accept_button,
            self.correction_button,
            self.refuse_button,
            self.spot_button,
            self.draft_button,
            self.new_button,
        ]

    def _shortcuts(self) -> None:
        keys = [
            ("F2", self.focus_id),
            ("Ctrl+F", self.focus_search),
            ("F5", self.accept_case),
            ("F6", self.request_correction),
            ("F7", self.refuse_case),
            ("F8", self.done_on_the_spot),
            ("Ctrl+S", self.save_draft),
            ("Ctrl+N", self.clear_form),
            ("Ctrl+D", self.focus_drafts),
            ("Ctrl+R", self.use_returning),
        ]
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def tab_chain(self) -> list[QWidget]:
        """The order Tab walks: down the applicant, then matters, materials, the outcome."""
        return [
            self.kind_combo,
            self.id_type_combo,
            self.id_edit,
            self.name_edit,
            self.phone_edit,
            self.address_edit,
            self.legal_rep_edit,
            self.agent_name_edit,
            self.agent_id_type_combo,
            self.agent_id_edit,
            self.agent_phone_edit,
            self.delivery_combo,
            self.delivery_address_edit,
            self.cross_region_check,
            self.other_region_edit,
            self.ticket_edit,
            self.matter_search,
            self.matter_hits,
            self.bundle_combo,
            self.matter_list,
            self.materials_table,
            self.reason_edit,
            self.basis_edit,
            self.authority_edit,
            *self._buttons(),
        ]

    def _tab_order(self) -> None:
        chain = self.tab_chain()
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _applicant_edits(self) -> list[QLineEdit]:
        return [
            self.id_edit,
            self.name_edit,
            self.phone_edit,
            self.address_edit,
            self.legal_rep_edit,
            self.agent_name_edit,
            self.agent_id_edit,
            self.agent_phone_edit,
            self.delivery_address_edit,
            self.other_region_edit,
            self.ticket_edit,
        ]

    def _show_conditional(self, *_args: object) -> None:
        organisation = self.kind_combo.currentData() == ApplicantKind.ORGANISATION.value
        self.id_type_combo.setEnabled(not organisation)
        self.legal_rep_edit.setEnabled(organisation)
        self.delivery_address_edit.setEnabled(self.delivery_combo.currentData() == "mail")
        self.other_region_edit.setEnabled(self.cross_region_check.isChecked())

    # ---- keyboard -------------------------------------------------------------------------------

    def focus_id(self) -> None:
        self.id_edit.setFocus()
        self.id_edit.selectAll()

    def focus_search(self) -> None:
        self.matter_search.setFocus()
        self.matter_search.selectAll()

    def focus_drafts(self) -> None:
        self.refresh_drafts()
        self.drafts_combo.setFocus()
        self.drafts_combo.showPopup()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._lock_hooked:
            main = self.window()
            locked = getattr(main, "locked", None)
            if locked is not None:
                locked.connect(self.save_draft_if_filled)  # the draft is stored before the lock
                self._lock_hooked = True
            queue = main.findChild(QWidget, "page_queue")
            serving = getattr(queue, "serving_started", None)
            if serving is not None:
                serving.connect(self.serve_ticket)  # the ticket being served is linked to the case

    def serve_ticket(self, ticket: Any) -> None:
        """The queue panel started serving ``ticket``: a new applicant, linked by ticket number."""
        number = str(getattr(ticket, "number", "") or "")
        if not number or self.ticket_edit.text() == number:
            return
        if self._has_input():
            self.clear_form()  # the previous applicant's form stays parked as a draft
        self.ticket_edit.setText(number)
        self._changed()

    def activated(self) -> None:
        self.refresh_drafts()

    # ---- ID card and returning applicants -------------------------------------------------------

    def card_read(self, card: CardData) -> None:
        self.kind_combo.setCurrentIndex(0)
        self.id_type_combo.setCurrentIndex(max(0, self.id_type_combo.findData(DocumentType.RESIDENT_ID.code)))
        self.id_edit.setText(card.number)
        if card.name:
            self.name_edit.setText(card.name)
        if card.address:
            self.address_edit.setText(card.address)
        self._changed()
        self.validate_now()
        (self.phone_edit if card.name else self.name_edit).setFocus()

    def _look_up(self, form: IntakeForm) -> None:
        a = form.applicant
        key = f"{a.kind}|{a.id_type}|{a.id_number.strip().upper()}"
        if key == self._looked_up:
            return
        self._looked_up = key
        session = self.ctx.session
        self.ctx.tasks.db(
            lambda: self.service().find_returning(session, a.kind, a.id_type, a.id_number),
            self._show_returning,
            self.ctx.errors,
        )

    def _show_returning(self, found: ReturningApplicant | None) -> None:
        if not self.alive():
            return
        self.returning = found
        self.returning_button.setVisible(found is not None)
        if found is None:
            self.returning_label.setText("")
            return
        lines = [_("回头件：{name}，{phone}").format(name=found.name, phone=found.phone)]
        if found.open_cases:
            lines.append(_("在办 {n} 件：").format(n=len(found.open_cases)))
            for case in found.open_cases[:3]:
                due = case.promised_date.isoformat() if case.promised_date else "—"
                lines.append(
                    _("{number} {matters}（{status}，承诺 {due}）").format(
                        number=case.case_number,
                        matters="、".join(case.matter_names),
                        status=case.status_label,
                        due=due,
                    )
                )
        self.returning_label.setText("\n".join(lines))

    def use_returning(self) -> None:
        found = self.returning
        if found is None:
            return
        for edit, value in (
            (self.name_edit, found.name),
            (self.phone_edit, found.phone),
            (self.address_edit, found.address),
            (self.legal_rep_edit, found.legal_representative),
        ):
            if value and not edit.text().strip():
                edit.setText(value)
        self._changed()
        self.focus_search()

    # ---- matters --------------------------------------------------------------------------------

    def matter_index(self) -> MatterIndex:
        if self._index is None:
            self._index = MatterIndex(self.catalogue)
        return self._index

    def search_matters(self, text: str) -> None:
        self.matter_hits.clear()
        if not text.strip():
            self.matter_hits.setVisible(False)
            return
        for hit in self.matter_index().search(text, limit=8):
            label = _("【一件事】{name}") if hit.kind is HitKind.BUNDLE else "{name}"
            item = QListWidgetItem(label.format(name=hit.name))
            item.setData(Qt.ItemDataRole.UserRole, hit)
            self.matter_hits.addItem(item)
        if self.matter_hits.count():
            self.matter_hits.setCurrentRow(0)
        self.matter_hits.setVisible(self.matter_hits.count() > 0)

    def choose_hit(self, item: QListWidgetItem | None = None) -> None:
        """Add the chosen hit (the highlighted one, or the first) to the form."""
        item = item or self.matter_hits.currentItem() or self.matter_hits.item(0)
        if item is None:
            return
        hit = item.data(Qt.ItemDataRole.UserRole)
        assert isinstance(hit, SearchHit)
        if hit.kind is HitKind.BUNDLE:
            self.bundle_combo.setCurrentIndex(max(0, self.bundle_combo.findData(hit.code)))
        else:
            for row in range(self.matter_list.count()):
                entry = self.matter_list.item(row)
                if entry.data(Qt.ItemDataRole.UserRole) == hit.code:
                    entry.setCheckState(Qt.CheckState.Checked)
        self.matter_search.clear()
        self.matter_hits.clear()
        self.matter_hits.setVisible(False)
        self.materials_table.setFocus()

    def chosen_matters(self) -> tuple[str, ...]:
        codes = []
        for row in range(self.matter_list.count()):
            item = self.matter_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                codes.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return tuple(codes)

    def _all_matters(self) -> tuple[Matter, ...]:
        bundle = str(self.bundle_combo.currentData() or "")
        codes = list(self.catalogue.bundle(bundle).matter_codes) if bundle else []
        codes.extend(self.chosen_matters())
        seen: dict[str, Matter] = {}
        for code in codes:
            matter = self.catalogue.matter(code)
            seen.setdefault(matter.implementation_code, matter)
        return tuple(seen.values())

    def _merged_materials(self) -> tuple[Material, ...]:
        return merge_materials(m.materials for m in self._all_matters())

    def _matters_changed(self, *_args: object) -> None:
        self._fill_materials({m.key: m for m in self.material_marks()})
        self._fill_extras(dict(self.extra_values()))
        self._changed()

    def _fill_materials(self, previous: dict[str, MaterialIn]) -> None:
        materials = self._merged_materials()
        table = self.materials_table
        table.setRowCount(len(materials))
        for row, material in enumerate(materials):
            name = QTableWidgetItem(material.name)
            name.setData(Qt.ItemDataRole.UserRole, material.key)
            name.setToolTip(material.standard)
            table.setItem(row, COL_NAME, name)
            table.setItem(row, COL_REQUIRED, QTableWidgetItem(_("是") if material.required else _("否")))
            state = QComboBox()
            for value, label in _STATES:
                state.addItem(_(label), value.value)
            form = QComboBox()
            for kind, label in _FORMS:
                form.addItem(_(label), kind.value)
            form.setCurrentIndex(max(0, form.findData(material.form.value)))
            count = QSpinBox()
            count.setRange(0, 999)
            count.setValue(material.copies)
            due = QDateEdit(QDate.currentDate())
            due.setCalendarPopup(True)
            note = QLineEdit()
            note.setPlaceholderText(_("缺失或不合格的原因"))
            note.textEdited.connect(self._changed)
            mark = previous.get(material.key)
            if mark is not None:
                state.setCurrentIndex(max(0, state.findData(mark.state)))
                if mark.form:
                    form.setCurrentIndex(max(0, form.findData(mark.form)))
                count.setValue(mark.count)
                if mark.due is not None:
                    due.setDate(QDate(mark.due.year, mark.due.month, mark.due.day))
                note.setText(mark.note)
            for signal in (
                state.currentIndexChanged,
                form.currentIndexChanged,
                count.valueChanged,
                due.dateChanged,
            ):
                signal.connect(self._changed)
            self._follow_state(state, form, count, due)
            state.currentIndexChanged.connect(
                lambda _i, s=state, f=form, c=count, d=due: self._follow_state(s, f, c, d)
            )
            table.setCellWidget(row, COL_STATE, state)
            table.setCellWidget(row, COL_FORM, form)
            table.setCellWidget(row, COL_COUNT, count)
            table.setCellWidget(row, COL_DUE, due)
            table.setCellWidget(row, COL_NOTE, note)
        table.resizeColumnToContents(COL_NAME)

    @staticmethod
    def _follow_state(state: QComboBox, form: QComboBox, count: QSpinBox, due: QDateEdit) -> None:
        """Form and count only for a material handed in, the due date only for a deferred one."""
        value = state.currentData()
        form.setEnabled(value == MaterialState.RECEIVED.value)
        count.setEnabled(value == MaterialState.RECEIVED.value)
        due.setEnabled(value == MaterialState.DEFERRED.value)

    def _fill_extras(self, previous: dict[str, str]) -> None:
        while self.extra_form.rowCount():
            self.extra_form.removeRow(0)
        self.extra_widgets = {}
        fields = extra_fields_of(self._all_matters())
        for extra in fields:
            widget = self._extra_widget(extra, previous.get(extra.name, ""))
            label = extra.label + (" *" if extra.required else "")
            self.extra_form.addRow(label, widget)
            self.extra_widgets[extra.name] = widget
        self.extra_box.setVisible(bool(fields))

    def _extra_widget(self, extra: ExtraField, value: str) -> QWidget:
        if extra.type is FieldType.CHOICE:
            combo = QComboBox()
            _narrow(combo)
            combo.addItem("", "")
            for choice in extra.choices:
                combo.addItem(choice, choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(self._changed)
            combo.setObjectName(f"extra_{extra.name}")
            return combo
        edit = QLineEdit(value)
        edit.setObjectName(f"extra_{extra.name}")
        if extra.type is FieldType.NUMBER:
            edit.setPlaceholderText(_("数字"))
        elif extra.type is FieldType.DATE:
            edit.setPlaceholderText(_("日期，如 2026-01-31"))
        edit.textEdited.connect(self._changed)
        edit.returnPressed.connect(self.focusNextChild)
        return edit

    def extra_values(self) -> tuple[tuple[str, str], ...]:
        values = []
        for name, widget in self.extra_widgets.items():
            if isinstance(widget, QComboBox):
                values.append((name, str(widget.currentData() or "")))
            elif isinstance(widget, QLineEdit):
                values.append((name, widget.text()))
        return tuple(values)

    # ---- reading and writing the form -----------------------------------------------------------

    def material_marks(self) -> tuple[MaterialIn, ...]:
        marks = []
        table = self.materials_table
        for row in range(table.rowCount()):
            item = table.item(row, COL_NAME)
            state, form = table.cellWidget(row, COL_STATE), table.cellWidget(row, COL_FORM)
            count, due = table.cellWidget(row, COL_COUNT), table.cellWidget(row, COL_DUE)
            if item is None or not isinstance(state, QComboBox) or not isinstance(count, QSpinBox):
                continue
            assert isinstance(due, QDateEdit) and isinstance(form, QComboBox)
            note = table.cellWidget(row, COL_NOTE)
            value = str(state.currentData())
            day = due.date()
            marks.append(
                MaterialIn(
                    key=str(item.data(Qt.ItemDataRole.UserRole)),
                    state=value,
                    form=str(form.currentData()) if value == MaterialState.RECEIVED else "",
                    count=count.value(),
                    due=dt.date(day.year(), day.month(), day.day())
                    if value == MaterialState.DEFERRED
                    else None,
                    note=note.text() if isinstance(note, QLineEdit) else "",
                )
            )
        return tuple(marks)

    def current_form(self) -> IntakeForm:
        agent = AgentIn(
            name=self.agent_name_edit.text(),
            id_type=str(self.agent_id_type_combo.currentData()),
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
            delivery=str(self.delivery_combo.currentData()),
            delivery_address=self.delivery_address_edit.text(),
            cross_region=self.cross_region_check.isChecked(),
            other_region=self.other_region_edit.text(),
            ticket_number=self.ticket_edit.text(),
            note=self.reason_edit.text(),
            extra=self.extra_values(),
        )

    def set_form(self, form: IntakeForm, draft_id: uuid.UUID | None = None) -> None:
        """Show ``form`` (a picked-up draft) in the widgets."""
        self._autosave.stop()
        self._loading = True
        try:
            self._clear_widgets()
            self._generation += 1
            a = form.applicant
            self._pick(self.kind_combo, a.kind)
            self._pick(self.id_type_combo, a.id_type)
            for edit, value in (
                (self.id_edit, a.id_number),
                (self.name_edit, a.name),
                (self.phone_edit, a.phone),
                (self.address_edit, a.address),
                (self.legal_rep_edit, a.legal_representative),
                (self.delivery_address_edit, form.delivery_address),
                (self.other_region_edit, form.other_region),
                (self.ticket_edit, form.ticket_number),
                (self.reason_edit, form.note),
            ):
                edit.setText(value)
            if form.agent is not None:
                self.agent_name_edit.setText(form.agent.name)
                self._pick(self.agent_id_type_combo, form.agent.id_type)
                self.agent_id_edit.setText(form.agent.id_number)
                self.agent_phone_edit.setText(form.agent.phone)
            self._pick(self.delivery_combo, form.delivery)
            self.cross_region_check.setChecked(form.cross_region)
            self._pick(self.bundle_combo, form.bundle_code)
            for row in range(self.matter_list.count()):
                item = self.matter_list.item(row)
                checked = item.data(Qt.ItemDataRole.UserRole) in form.matter_codes
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self._fill_materials({m.key: m for m in form.materials})
            self._fill_extras(dict(form.extra))
        finally:
            self._loading = False
        self.draft_id = draft_id
        self._show_conditional()
        self.validate_now()

    @staticmethod
    def _pick(combo: QComboBox, value: object) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    # ---- live checking --------------------------------------------------------------------------

    def service(self) -> IntakeService:
        """Built on first use, on the database worker (it loads the catalogue and calendar)."""
        if self._service is None:
            runtime = self.ctx.runtime
            issuer = NoticeIssuer.for_runtime(runtime)
            self._service = IntakeService(runtime.local, self.catalogue, notices=issuer)
        return self._service

    def _changed(self, *_args: object) -> None:
        if not self._loading:
            self._autosave.start()
            self._validate.start()

    def validate_now(self) -> None:
        self._validate.stop()
        form = self.current_form()
        self.ctx.tasks.db(lambda: self.service().validate(form), lambda found: self._validated(form, found))

    def _validated(self, form: IntakeForm, problems: tuple[FieldProblem, ...]) -> None:
        """Mark each problem at a field the clerk has filled in (empty fields wait for an outcome)."""
        if not self.alive():
            return
        self.problems = problems
        shown = [p for p in problems if self._filled(p.field)]
        self._mark(shown)
        if not any(p.field == "applicant.id_number" for p in problems) and form.applicant.id_number.strip():
            self._look_up(form)
        elif not form.applicant.id_number.strip():
            self._show_returning(None)
            self._looked_up = ""

    def _filled(self, field: str) -> bool:
        widget = self._widget_of(field)
        if isinstance(widget, QLineEdit):
            return bool(widget.text().strip())
        if isinstance(widget, QComboBox) and field.startswith("extra."):
            return bool(widget.currentData())
        return field == "materials" and self.materials_table.rowCount() > 0

    def _widget_of(self, field: str) -> QWidget | None:
        if field.startswith("extra."):
            return self.extra_widgets.get(field.removeprefix("extra."))
        widget = getattr(self, _FIELD_WIDGETS.get(field, ""), None)
        return widget if isinstance(widget, QWidget) else None

    def _marked_widgets(self) -> list[QWidget]:
        names = {getattr(self, n) for n in _FIELD_WIDGETS.values()}
        return [*names, *self.extra_widgets.values()]

    def _mark(self, problems: list[FieldProblem]) -> None:
        reasons: dict[int, tuple[QWidget, list[str]]] = {}
        for problem in problems:
            widget = self._widget_of(problem.field)
            if widget is not None:
                reasons.setdefault(id(widget), (widget, []))[1].append(problem.message)
        for widget in self._marked_widgets():
            found = reasons.get(id(widget))
            invalid = found is not None
            if widget.property("invalid") == invalid and not invalid:
                continue
            widget.setProperty("invalid", invalid)
            widget.setToolTip("\n".join(found[1]) if found else "")
            widget.setStyleSheet(INVALID_STYLE if invalid else "")

    def field_problem(self, field: str) -> str:
        """The reason shown at ``field`` now ("" when it is not marked)."""
        widget = self._widget_of(field)
        return widget.toolTip() if widget is not None and widget.property("invalid") else ""

    # ---- drafts ---------------------------------------------------------------------------------

    def save_draft(self) -> None:
        self._autosave.stop()
        form, session, draft, generation = (
            self.current_form(),
            self.ctx.session,
            self.draft_id,
            self._generation,
        )
        self.ctx.tasks.db(
            lambda: self.service().save_draft(session, form, draft),
            lambda info: self._draft_saved(info, generation),
        )

    def save_draft_if_filled(self) -> None:
        if self._autosave.isActive() or (self.draft_id is None and self._has_input()):
            self.save_draft()

    def _has_input(self) -> bool:
        return any(edit.text().strip() for edit in self._applicant_edits()) or bool(self.chosen_matters())

    def _draft_saved(self, info: DraftInfo, generation: int) -> None:
        if not self.alive():
            return
        if self.draft_id is None and generation == self._generation:
            self.draft_id = info.id
            self.refresh_drafts()

    def refresh_drafts(self) -> None:
        session = self.ctx.session
        self.ctx.tasks.db(lambda: self.service().load_drafts(session), self._show_drafts)

    def _show_drafts(self, drafts: list[DraftInfo]) -> None:
        if not self.alive():
            return
        self.drafts = drafts
        self.drafts_combo.clear()
        for draft in drafts:
            when = draft.updated_at.astimezone(CHINA).strftime("%m-%d %H:%M")
            current = _("（当前）") if draft.id == self.draft_id else ""
            self.drafts_combo.addItem(f"{when}  {draft.label}{current}", str(draft.id))

    def selected_draft(self) -> DraftInfo | None:
        wanted = self.drafts_combo.currentData()
        return next((d for d in self.drafts if str(d.id) == wanted), None)

    def resume_selected(self) -> None:
        """Park the form on screen (it is a draft already) and show the chosen draft."""
        chosen = self.selected_draft()
        if chosen is None or chosen.id == self.draft_id:
            return
        if self._autosave.isActive() or (self.draft_id is None and self._has_input()):
            self.save_draft()
        self.set_form(chosen.form, chosen.id)
        self.refresh_drafts()
        self.id_edit.setFocus()

    def discard_selected(self) -> None:
        chosen = self.selected_draft()
        if chosen is None:
            return
        session = self.ctx.session
        if chosen.id == self.draft_id:
            self.draft_id = None
        self.ctx.tasks.db(
            lambda: self.service().discard_draft(session, chosen.id), lambda _r: self.refresh_drafts()
        )

    # ---- outcomes -------------------------------------------------------------------------------

    def _run(self, call: Any, doc_types: tuple[DocType, ...]) -> None:
        self._autosave.stop()
        self._validate.stop()
        runtime = self.ctx.runtime
        year = dt.datetime.now(CHINA).year

        def work() -> CaseResult:
            NoticeIssuer.top_up(runtime.local, runtime.central, doc_types, year)
            result: CaseResult = call()
            return result

        self.ctx.tasks.db(work, self._done, self._failed)

    def accept_case(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        self._run(
            lambda: self.service().accept(session, form, draft_id=draft), NoticeIssuer.doc_types("accept")
        )

    def request_correction(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        note = self.reason_edit.text()
        self._run(
            lambda: self.service().request_correction(session, form, note, draft_id=draft),
            NoticeIssuer.doc_types("correction"),
        )

    def refuse_case(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        reason, basis, authority = self.reason_edit.text(), self.basis_edit.text(), self.authority_edit.text()
        self._run(
            lambda: self.service().refuse(session, form, reason, basis, authority=authority, draft_id=draft),
            NoticeIssuer.doc_types("refuse"),
        )

    def done_on_the_spot(self) -> None:
        form, session, draft = self.current_form(), self.ctx.session, self.draft_id
        self._run(
            lambda: self.service().done_on_the_spot(session, form, draft_id=draft),
            NoticeIssuer.doc_types("on_the_spot"),
        )

    def _done(self, result: Any) -> None:
        assert isinstance(result, CaseResult)
        if not self.alive():
            return
        self.last_result = result
        self.draft_id = None
        self._generation += 1
        self._mark([])
        titles = "、".join(d.title for d in result.documents) or result.notice
        lines = [
            _("{status}：案件编号 {number}，已生成{notice}。").format(
                status=result.status_label, number=result.case_number, notice=titles
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
        for document in result.documents:
            self.show_preview(document)
        self.refresh_drafts()

    def show_preview(self, document: IssuedNotice) -> PreviewDialog:
        dialog = PreviewDialog(f"{document.title} {document.number}", document.pdf, self)
        dialog.preview.print_requested.connect(lambda: self.print_notice(document))
        dialog.finished.connect(lambda _result: self.previews.remove(dialog))
        self.previews.append(dialog)
        dialog.show()
        return dialog

    def print_notice(self, document: IssuedNotice) -> None:
        printer = make_printer(document.doc_type, load_choices(self.ctx.runtime.paths.config))
        if not ask_printer(printer, self):
            return
        job = PrintJob(
            document.title, document.pdf, document.doc_type, uuid.UUID(str(document.id)), document.sha256
        )
        print_in_background(self.ctx.tasks, [job], printer, self, self._printed, self.ctx.errors)

    def _printed(self, result: PrintResult) -> None:
        local, device, actor = self.ctx.runtime.local, self.ctx.runtime.device_id, self.ctx.session.username

        def record() -> None:
            with local.unit_of_work() as uow:
                for job in result.printed:
                    if job.document_id is not None:
                        archive_mod.record_print(
                            uow,
                            job.document_id,
                            device_id=device,
                            actor_name=actor,
                            printer=result.printer,
                            sha256=job.sha256,
                        )
                uow.commit()

        self.ctx.tasks.db(record)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, IntakeError) and self.alive():
            self._mark(list(exc.problems))
            self.result_label.setText(exc.message)
        self.ctx.errors(exc)

    # ---- a new applicant ------------------------------------------------------------------------

    def _clear_widgets(self) -> None:
        for edit in [*self._applicant_edits(), self.reason_edit, self.basis_edit, self.authority_edit]:
            edit.clear()
        for combo in (self.kind_combo, self.id_type_combo, self.agent_id_type_combo, self.delivery_combo):
            combo.setCurrentIndex(0)
        self.cross_region_check.setChecked(False)
        self.bundle_combo.setCurrentIndex(0)
        for row in range(self.matter_list.count()):
            self.matter_list.item(row).setCheckState(Qt.CheckState.Unchecked)
        self.materials_table.setRowCount(0)
        self._fill_extras({})
        self.matter_search.clear()
        self.matter_hits.clear()
        self._show_returning(None)
        self._looked_up = ""

    def clear_form(self) -> None:
        """Start a new applicant; the current draft stays parked in the store."""
        if self._autosave.isActive():
            self.save_draft()
        self._loading = True
        try:
            self._clear_widgets()
        finally:
            self._loading = False
        self._generation += 1
        self.draft_id = None
        self._mark([])
        self.result_label.clear()
        self.refresh_drafts()
        self.id_edit.setFocus()
