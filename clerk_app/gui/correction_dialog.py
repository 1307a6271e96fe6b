"""The correction checklist dialog (补正): tick what the returning applicant brought.

Used by the intake page (Ctrl+B on a returning applicant whose case waits for a correction) and
open to the cases screen: give it the task runner, a factory of the
:class:`~clerk_app.services.corrections.CorrectionService` (called on the database worker), the
clerk's session and the case id. It lists every material still owed (required ones first, the
reason it was asked for as a tooltip); Space ticks, Enter records, Esc closes. ``recorded`` carries
the :class:`~clerk_app.services.corrections.CorrectionReceipt`: complete (the case moved on, its
clock started or resumed) or partial (what is still missing, with the re-issued notice).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.services.auth import UserSession
from clerk_app.services.corrections import CorrectionChecklist, CorrectionReceipt, CorrectionService
from clerk_app.services.errors import UserError

ErrorReporter = Callable[[BaseException], None]


class CorrectionDialog(QDialog):
    recorded = Signal(object)  # CorrectionReceipt

    def __init__(
        self,
        tasks: TaskRunner,
        service: Callable[[], CorrectionService],
        session: UserSession,
        case_id: uuid.UUID,
        errors: ErrorReporter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("correctionDialog")
        self.setWindowTitle(_("登记补正材料"))
        self.resize(560, 420)
        self._tasks, self._service, self._session, self._errors = tasks, service, session, errors
        self.case_id = case_id
        self.checklist: CorrectionChecklist | None = None
        self.heading = QLabel(_("正在读取补正清单…"))
        self.heading.setWordWrap(True)
        self.items = QListWidget()
        self.items.setObjectName("correctionItems")
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(_("说明（可不填），如：原件已核验"))
        self.status = QLabel("")
        self.status.setObjectName("correctionStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(_("登记本次带来的材料 (Enter)"))
        self.ok_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("取消 (Esc)"))
        self.buttons.accepted.connect(self.record)
        self.buttons.rejected.connect(self.reject)
        self.note_edit.returnPressed.connect(self.record)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(QLabel(_("勾选申请人本次带来的材料（空格键勾选）：")))
        layout.addWidget(self.items, 1)
        layout.addWidget(self.note_edit)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.load()

    def alive(self) -> bool:
        return Shiboken.isValid(self) and Shiboken.isValid(self.items)

    def load(self) -> None:
        service, session, case_id = self._service, self._session, self.case_id
        self._tasks.db(lambda: service().checklist(session, case_id), self._show, self._failed)

    def _show(self, checklist: CorrectionChecklist) -> None:
        if not self.alive():
            return
        self.checklist = checklist
        self.heading.setText(
            _("办件 {number}　{applicant}　{matters}（{status}）").format(
                number=checklist.case_number,
                applicant=checklist.applicant_name,
                matters="、".join(checklist.matter_names),
                status=checklist.status_label,
            )
        )
        self.items.clear()
        for entry in checklist.outstanding:
            label = entry.name + (_("（必需）") if entry.required else _("（非必需）"))
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, entry.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            if entry.reason:
                item.setToolTip(_("补正原因：{reason}").format(reason=entry.reason))
            self.items.addItem(item)
        if self.items.count():
            self.items.setCurrentRow(0)
        self.items.setFocus()
        self.ok_button.setEnabled(True)

    def ticked(self) -> list[str]:
        keys = []
        for row in range(self.items.count()):
            item = self.items.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                keys.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return keys

    def record(self) -> None:
        if self.checklist is None or not self.ok_button.isEnabled():
            return
        keys = self.ticked()
        if not keys:
            self.status.setText(_("请勾选申请人本次带来的材料"))
            return
        self.ok_button.setEnabled(False)
        self.status.setText(_("正在登记…"))
        service, session, case_id, note = self._service, self._session, self.case_id, self.note_edit.text()
        self._tasks.db(lambda: service().receive(session, case_id, keys, note), self._recorded, self._failed)

    def _recorded(self, receipt: CorrectionReceipt) -> None:
        if not self.alive():
            return
        self.recorded.emit(receipt)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if not self.alive():
            return
        self.ok_button.setEnabled(self.checklist is not None)
        if isinstance(exc, UserError):
            self.status.setText(exc.message)  # said in the dialog, in plain words
            return
        self.status.setText(_("登记没有完成，请重试"))
        self._errors(exc)
