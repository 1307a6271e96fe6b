"""The widgets of the intake form (一窗受理), laid out for a counter monitor; no service calls and no
rules here — :mod:`clerk_app.gui.pages.intake` (the controller) wires them to the intake service.

Layout: the draft box on top; applicant, agent/delivery/ticket and matters side by side; the
matter-specific fields; the merged material list; then the reason fields, the outcome keys and
the result line, which stay in view while the form scrolls.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from clerk_app.domain.catalogue import Catalogue
from clerk_app.domain.identifiers import DocumentType
from clerk_app.gui.intake_widgets import ExtraFields, MaterialsTable, narrow
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.i18n import _
from clerk_app.services.intake import ApplicantKind

INVALID_STYLE = "border: 1px solid #c62828;"
#: the choice boxes' least width (characters); the material list's least height, and on a small monitor
COMBO_CHARS = 6
MATERIALS_HEIGHT, COMPACT_MATERIALS_HEIGHT = 150, 110
COMPACT_DRAFTS_WIDTH = 160
#: spacing between the outcome keys, and between the boxes of the form's top row
KEY_SPACING = 6
BOX_SPACING = 4

#: form field of a problem → the widget attribute marked with it
FIELD_WIDGETS = {
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
    "ticket_id": "ticket_edit",
    "matters": "matter_list",
    "bundle_code": "bundle_combo",
    "materials": "materials_table",
    "note": "reason_edit",
    "reason": "reason_edit",
    "legal_basis": "basis_edit",
    "authority": "authority_edit",
}


class IntakeView(Page):
    """The intake form's widgets (see the module docstring)."""

    def __init__(self, ctx: PageContext, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.catalogue = catalogue
        top = QHBoxLayout()
        top.setSpacing(BOX_SPACING)
        applicant_box, agent_box = self._applicant_box()
        top.addWidget(applicant_box, 1)
        top.addWidget(agent_box, 1)
        right = QVBoxLayout()
        self.matter_box = self._matter_box()
        self.top_boxes = (applicant_box, agent_box, self.matter_box)
        right.addWidget(self.matter_box, 1)
        self.extras = ExtraFields()
        right.addWidget(self.extras)
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
            narrow(combo)
        self.drafts_combo.setMinimumContentsLength(30)
        # short choices (居民身份证, 窗口领取): a little less than ``narrow`` leaves, so that the three
        # boxes fit side by side beside the docked queue panel at 1366 px (they share more width
        # than this whenever there is more, so the choice shows whole)
        for combo in (self.kind_combo, self.id_type_combo, self.agent_id_type_combo, self.delivery_combo,
                      self.bundle_combo):  # fmt: skip
            combo.setMinimumContentsLength(COMBO_CHARS)
        self.result_label = QLabel("")
        self.result_label.setObjectName("intakeResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.result_label)
        for edit in self.line_edits():
            edit.returnPressed.connect(self.focusNextChild)  # Enter moves on
        self.extras.return_pressed.connect(self.focusNextChild)
        self.cross_region_check.toggled.connect(self.show_conditional)
        self.delivery_combo.currentIndexChanged.connect(self.show_conditional)
        self.kind_combo.currentIndexChanged.connect(self.show_conditional)
        self.show_conditional()
        for first, second in itertools.pairwise(self.tab_chain()):
            QWidget.setTabOrder(first, second)

    def set_compact(self, compact: bool) -> None:
        """Beside the docked queue panel on a 1366×768 monitor the form fits above the outcome
        keys without scrolling: a shorter material list (it scrolls within itself), and matter
        names that wrap in the narrower matter list."""
        super().set_compact(compact)
        self.materials_table.setMinimumHeight(COMPACT_MATERIALS_HEIGHT if compact else MATERIALS_HEIGHT)
        # a matter's name wraps in the narrower list rather than running off its right edge
        self.matter_list.setWordWrap(compact)
        self.drafts_combo.setMinimumWidth(COMPACT_DRAFTS_WIDTH if compact else 0)  # 0: its 30 characters
        self.matter_list.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if compact else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )

    # ---- boxes ----------------------------------------------------------------------------------

    def _draft_bar(self) -> QWidget:
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.drafts_combo = QComboBox()
        self.resume_button = QPushButton(_("继续办理所选草稿 (Ctrl+D)"))
        self.discard_button = QPushButton(_("删除所选草稿"))
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
        return box, agent_box

    @staticmethod
    def _document_types() -> QComboBox:
        combo = QComboBox()
        for doc in DocumentType:
            combo.addItem(doc.label, doc.code)
        return combo

    def _matter_box(self) -> QGroupBox:
        box = QGroupBox(_("办理事项"))
        form = QFormLayout(box)
        self.matter_search = QLineEdit()
        self.matter_search.setPlaceholderText(_("输入名称、编码或拼音首字母（如 qykb），回车选中"))
        self.matter_hits = QListWidget()
        self.matter_hits.setMaximumHeight(110)
        self.matter_hits.setVisible(False)
        self.bundle_combo = QComboBox()
        self.bundle_combo.addItem(_("（不选）"), "")  # beside its label 一件事主题
        for bundle in self.catalogue.bundles:
            self.bundle_combo.addItem(bundle.name, bundle.code)
        self.matter_list = QListWidget()
        for matter in self.catalogue.matters:
            item = QListWidgetItem(f"{matter.name}  {matter.promised_limit.text()}")
            item.setData(Qt.ItemDataRole.UserRole, matter.implementation_code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.matter_list.addItem(item)
        self.matter_list.setMaximumHeight(110)
        form.addRow(_("查找事项"), self.matter_search)
        form.addRow("", self.matter_hits)
        form.addRow(_("一件事主题"), self.bundle_combo)
        form.addRow(_("单项事项"), self.matter_list)
        return box

    def _materials_box(self) -> QGroupBox:
        box = QGroupBox(_("申请材料（所选事项合并，不重复）"))
        layout = QHBoxLayout(box)
        self.materials_table = MaterialsTable()
        layout.setContentsMargins(6, 4, 6, 4)
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
            fields.addWidget(edit, 2)
        self.button_grid = QGridLayout()
        self.button_grid.setSpacing(KEY_SPACING)
        self.accept_button = QPushButton(_("受理 (F5)"))
        self.correction_button = QPushButton(_("补正 (F6)"))
        self.refuse_button = QPushButton(_("不予受理 (F7)"))
        self.spot_button = QPushButton(_("当场办结 (F8)"))
        self.draft_button = QPushButton(_("保存草稿 (Ctrl+S)"))
        self.new_button = QPushButton(_("新表单 (Ctrl+N)"))
        self._key_columns = 0
        self._place_keys(len(self.buttons()))
        outer.addLayout(fields)
        outer.addLayout(self.button_grid)
        return box

    # ---- reflowing ------------------------------------------------------------------------------

    def fit_width(self, width: int) -> None:
        """Lay the form out for the ``width`` px the window leaves it: labels beside their fields
        and the outcome keys in one row when that fits (Chinese, even beside the docked queue
        panel at 1366 px), else each label above its field and the keys in two rows (English
        there), so that the form never runs off to the right."""
        self.ensurePolished()  # sizes with the style sheet's padding, also before the first show
        margins = self.layout_.contentsMargins()
        room = width - margins.left() - margins.right()
        keys = self.buttons()
        one_row = sum(k.sizeHint().width() for k in keys) + KEY_SPACING * (len(keys) - 1)
        self._place_keys(len(keys) if one_row <= room else (len(keys) + 1) // 2)
        forms = [box.layout() for box in self.top_boxes]
        for form in forms:
            assert isinstance(form, QFormLayout)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        # the boxes' own sizes: their forms answer at once, the body's layout only after its
        # next pass
        beside = sum(box.minimumSizeHint().width() for box in self.top_boxes[:-1])
        beside += max(self.matter_box.minimumSizeHint().width(), self.extras.minimumSizeHint().width())
        beside += BOX_SPACING * (len(self.top_boxes) - 1)
        if beside > room:
            for form in forms:
                assert isinstance(form, QFormLayout)
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)

    def _place_keys(self, columns: int) -> None:
        if columns == self._key_columns:
            return
        self._key_columns = columns
        for index, key in enumerate(self.buttons()):
            self.button_grid.removeWidget(key)
            self.button_grid.addWidget(key, index // columns, index % columns)
        for column in range(len(self.buttons())):
            self.button_grid.setColumnStretch(column, 1 if column < columns else 0)

    # ---- reading the layout ---------------------------------------------------------------------

    @property
    def extra_widgets(self) -> dict[str, QWidget]:
        return self.extras.widgets

    def buttons(self) -> list[QPushButton]:
        return [
            self.accept_button,
            self.correction_button,
            self.refuse_button,
            self.spot_button,
            self.draft_button,
            self.new_button,
        ]

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
            *self.buttons(),
        ]

    def applicant_edits(self) -> list[QLineEdit]:
        """The text fields of the applicant side (the ID-card reader watches these)."""
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

    def line_edits(self) -> list[QLineEdit]:
        return [*self.applicant_edits(), self.reason_edit, self.basis_edit, self.authority_edit]

    def combos(self) -> list[QComboBox]:
        return [self.kind_combo, self.id_type_combo, self.agent_id_type_combo, self.delivery_combo]

    def show_conditional(self, *_args: object) -> None:
        organisation = self.kind_combo.currentData() == ApplicantKind.ORGANISATION.value
        self.id_type_combo.setEnabled(not organisation)
        self.legal_rep_edit.setEnabled(organisation)
        self.delivery_address_edit.setEnabled(self.delivery_combo.currentData() == "mail")
        self.other_region_edit.setEnabled(self.cross_region_check.isChecked())

    # ---- marking fields -------------------------------------------------------------------------

    def widget_of(self, field: str) -> QWidget | None:
        if field.startswith("extra."):
            return self.extras.widgets.get(field.removeprefix("extra."))
        widget = getattr(self, FIELD_WIDGETS.get(field, ""), None)
        return widget if isinstance(widget, QWidget) else None

    def filled(self, field: str) -> bool:
        """Whether the clerk has typed something at ``field`` (only then is a problem shown)."""
        if field.startswith("extra."):
            return self.extras.filled(field.removeprefix("extra."))
        widget = self.widget_of(field)
        if isinstance(widget, QLineEdit):
            return bool(widget.text().strip())
        return field == "materials" and self.materials_table.rowCount() > 0

    def mark(self, problems: dict[int, tuple[QWidget, list[str]]]) -> None:
        """Mark each widget of ``problems`` (by ``id``) with its reasons, unmark the others."""
        names = {getattr(self, n) for n in FIELD_WIDGETS.values()}
        for widget in [*names, *self.extras.widgets.values()]:
            found = problems.get(id(widget))
            invalid = found is not None
            if widget.property("invalid") == invalid and not invalid:
                continue
            widget.setProperty("invalid", invalid)
            widget.setToolTip("\n".join(found[1]) if found else "")
            widget.setStyleSheet(INVALID_STYLE if invalid else "")

    def field_problem(self, field: str) -> str:
        """The reason shown at ``field`` now ("" when it is not marked)."""
        widget = self.widget_of(field)
        return widget.toolTip() if widget is not None and widget.property("invalid") else ""
