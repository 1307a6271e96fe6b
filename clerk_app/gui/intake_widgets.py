"""Sub-widgets of the intake form: date fields, the merged material list and the matter-specific
fields of the catalogue. They hold no rules: they show values and read them back as the service's
DTOs (``MaterialIn``, field values), and say when the clerk changed something (``changed``).

Dates are typed (``2026-01-31``, digits move from year to month to day) or picked from the
calendar (Alt+↓ or F4); they start on the hall's day (China time, not the PC's time zone). A 容缺
due date cannot be set before today nor after the promised completion date of the chosen matters
(:meth:`MaterialsTable.set_due_limit`); an optional date shows “未填” until the clerk touches it,
and Delete empties it again.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from clerk_app.domain.catalogue import ExtraField, FieldType, Material, MaterialForm
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.i18n import N_, _
from clerk_app.services.intake import MaterialIn, MaterialState

#: materials table columns
COL_NAME, COL_REQUIRED, COL_STATE, COL_FORM, COL_COUNT, COL_DUE, COL_NOTE = range(7)

STATES = [
    (MaterialState.RECEIVED, N_("已收")),
    (MaterialState.MISSING, N_("缺")),
    (MaterialState.DEFERRED, N_("容缺")),
    (MaterialState.COMMITMENT, N_("告知承诺")),
]
FORMS = [
    (MaterialForm.ORIGINAL, N_("原件")),
    (MaterialForm.COPY, N_("复印件")),
    (MaterialForm.ELECTRONIC, N_("电子件")),
]
DATE_FORMAT = "yyyy-MM-dd"
_BLANK = QDate(2000, 1, 1)  # an optional date not filled in (shown as 未填)


def hall_today() -> dt.date:
    """The hall's day now (China time), whatever the PC's time zone."""
    return dt.datetime.now(HALL_TZ).date()


def to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


def narrow(combo: QComboBox) -> None:
    """Long choices (bundle names, seal sets) must not widen the form past a 1366 px screen."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)


class DateField(QDateEdit):
    """A date typed or picked from the calendar, starting on the hall's day."""

    def __init__(self, *, optional: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.optional = optional
        self.setCalendarPopup(True)
        self.setDisplayFormat(DATE_FORMAT)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        self.setMinimumWidth(110)
        if optional:
            self.setMinimumDate(_BLANK)
            self.setSpecialValueText(_("未填"))
            self.setDate(_BLANK)
        else:
            self.setDate(to_qdate(hall_today()))

    def value(self) -> dt.date | None:
        """The date shown; ``None`` for an optional field not filled in."""
        if self.optional and self.date() == _BLANK:
            return None
        return from_qdate(self.date())

    def set_value(self, day: dt.date | None) -> None:
        if day is None:
            self.setDate(_BLANK if self.optional else to_qdate(hall_today()))
        else:
            self.setDate(to_qdate(day))

    def set_range(self, earliest: dt.date | None, latest: dt.date | None) -> None:
        """Dates outside ``earliest``..``latest`` cannot be typed or picked (an optional field keeps
        its blank)."""
        if not self.optional and earliest is not None:
            self.setMinimumDate(to_qdate(earliest))
        self.setMaximumDate(to_qdate(latest) if latest is not None else QDate(9999, 12, 31))

    def _fill_if_blank(self) -> None:
        if self.optional and self.date() == _BLANK:
            self.setDate(to_qdate(hall_today()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._fill_if_blank()  # the calendar opens on today, not on the blank's year
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.optional and event.key() == Qt.Key.Key_Delete:
            self.setDate(_BLANK)
            return
        if event.text().isdigit() or event.key() in (Qt.Key.Key_F4, Qt.Key.Key_Down, Qt.Key.Key_Up):
            self._fill_if_blank()
        super().keyPressEvent(event)


class MaterialsTable(QTableWidget):
    """The merged material list of the chosen matters with the clerk's mark on each."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 7, parent)
        self.setHorizontalHeaderLabels(
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
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(150)
        self.due_limit: dt.date | None = None

    def fill(self, materials: tuple[Material, ...], previous: dict[str, MaterialIn]) -> None:
        """Show ``materials``, keeping the marks of those already on the list."""
        self.setRowCount(len(materials))
        for row, material in enumerate(materials):
            self._fill_row(row, material, previous.get(material.key))
        for column in (COL_NAME, COL_STATE, COL_DUE):  # a date is read whole (2026-11-28)
            self.resizeColumnToContents(column)

    def _fill_row(self, row: int, material: Material, mark: MaterialIn | None) -> None:
        name = QTableWidgetItem(material.name)
        name.setData(Qt.ItemDataRole.UserRole, material.key)
        name.setToolTip(material.standard)
        self.setItem(row, COL_NAME, name)
        self.setItem(row, COL_REQUIRED, QTableWidgetItem(_("是") if material.required else _("否")))
        state = QComboBox()
        for value, label in STATES:
            state.addItem(_(label), value.value)
        form = QComboBox()
        for kind, label in FORMS:
            form.addItem(_(label), kind.value)
        form.setCurrentIndex(max(0, form.findData(material.form.value)))
        count = QSpinBox()
        count.setRange(0, 999)
        count.setValue(material.copies)
        due = DateField()
        self._limit(due)
        note = QLineEdit()
        note.setPlaceholderText(_("缺失或不合格的原因"))
        note.textEdited.connect(self.changed)
        if mark is not None:
            state.setCurrentIndex(max(0, state.findData(mark.state)))
            if mark.form:
                form.setCurrentIndex(max(0, form.findData(mark.form)))
            count.setValue(mark.count)
            if mark.due is not None:
                due.set_value(mark.due)
            note.setText(mark.note)
        for signal in (
            state.currentIndexChanged,
            form.currentIndexChanged,
            count.valueChanged,
            due.dateChanged,
        ):
            signal.connect(self.changed)
        self._follow_state(state, form, count, due)
        state.currentIndexChanged.connect(
            lambda _i, s=state, f=form, c=count, d=due: self._follow_state(s, f, c, d)
        )
        self.setCellWidget(row, COL_STATE, state)
        self.setCellWidget(row, COL_FORM, form)
        self.setCellWidget(row, COL_COUNT, count)
        self.setCellWidget(row, COL_DUE, due)
        self.setCellWidget(row, COL_NOTE, note)

    @staticmethod
    def _follow_state(state: QComboBox, form: QComboBox, count: QSpinBox, due: QDateEdit) -> None:
        """Form and count only for a material handed in, the due date only for a deferred one."""
        value = state.currentData()
        form.setEnabled(value == MaterialState.RECEIVED.value)
        count.setEnabled(value == MaterialState.RECEIVED.value)
        due.setEnabled(value == MaterialState.DEFERRED.value)

    def set_due_limit(self, latest: dt.date | None) -> None:
        """容缺 due dates run from today to ``latest`` (the promised completion date)."""
        self.due_limit = latest
        for row in range(self.rowCount()):
            due = self.cellWidget(row, COL_DUE)
            if isinstance(due, DateField):
                self._limit(due)

    def _limit(self, due: DateField) -> None:
        today = hall_today()
        latest = self.due_limit if self.due_limit is None or self.due_limit >= today else today
        due.set_range(today, latest)
        if latest is None:
            due.setToolTip(_("容缺材料的补交日期：今天或以后"))
        else:
            due.setToolTip(
                _("容缺材料的补交日期：今天至承诺办结日期 {date} 之间").format(date=latest.isoformat())
            )

    def marks(self) -> tuple[MaterialIn, ...]:
        marks = []
        for row in range(self.rowCount()):
            item = self.item(row, COL_NAME)
            state, form = self.cellWidget(row, COL_STATE), self.cellWidget(row, COL_FORM)
            count, due = self.cellWidget(row, COL_COUNT), self.cellWidget(row, COL_DUE)
            if item is None or not isinstance(state, QComboBox) or not isinstance(count, QSpinBox):
                continue
            assert isinstance(due, DateField) and isinstance(form, QComboBox)
            note = self.cellWidget(row, COL_NOTE)
            value = str(state.currentData())
            marks.append(
                MaterialIn(
                    key=str(item.data(Qt.ItemDataRole.UserRole)),
                    state=value,
                    form=str(form.currentData()) if value == MaterialState.RECEIVED else "",
                    count=count.value(),
                    due=due.value() if value == MaterialState.DEFERRED else None,
                    note=note.text() if isinstance(note, QLineEdit) else "",
                )
            )
        return tuple(marks)


class ExtraFields(QGroupBox):
    """The matter-specific fields of the chosen matters, as the catalogue defines them."""

    changed = Signal()
    return_pressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_("事项信息（按所选事项）"), parent)
        self.form = QFormLayout(self)
        self.widgets: dict[str, QWidget] = {}
        self.setVisible(False)

    def fill(self, fields: tuple[ExtraField, ...], previous: dict[str, str]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.widgets = {}
        for extra in fields:
            widget = self._widget(extra, previous.get(extra.name, ""))
            label = extra.label + (" *" if extra.required else "")
            self.form.addRow(label, widget)
            self.widgets[extra.name] = widget
        self.setVisible(bool(fields))

    def _widget(self, extra: ExtraField, value: str) -> QWidget:
        if extra.type is FieldType.CHOICE:
            combo = QComboBox()
            narrow(combo)
            combo.addItem("", "")
            for choice in extra.choices:
                combo.addItem(choice, choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(self.changed)
            combo.setObjectName(f"extra_{extra.name}")
            return combo
        if extra.type is FieldType.DATE:
            day = DateField(optional=not extra.required)
            try:
                day.set_value(dt.date.fromisoformat(value) if value else None)
            except ValueError:
                day.set_value(None)
            day.setObjectName(f"extra_{extra.name}")
            day.dateChanged.connect(self.changed)
            return day
        edit = QLineEdit(value)
        edit.setObjectName(f"extra_{extra.name}")
        if extra.type is FieldType.NUMBER:
            edit.setPlaceholderText(_("数字"))
        edit.textEdited.connect(self.changed)
        edit.returnPressed.connect(self.return_pressed)
        return edit

    def values(self) -> tuple[tuple[str, str], ...]:
        values = []
        for name, widget in self.widgets.items():
            if isinstance(widget, QComboBox):
                values.append((name, str(widget.currentData() or "")))
            elif isinstance(widget, DateField):
                day = widget.value()
                values.append((name, day.isoformat() if day is not None else ""))
            elif isinstance(widget, QLineEdit):
                values.append((name, widget.text()))
        return tuple(values)

    def filled(self, name: str) -> bool:
        widget = self.widgets.get(name)
        if isinstance(widget, QComboBox):
            return bool(widget.currentData())
        if isinstance(widget, DateField):
            return widget.value() is not None
        return isinstance(widget, QLineEdit) and bool(widget.text().strip())
