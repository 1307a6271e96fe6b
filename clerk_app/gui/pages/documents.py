"""文书 page: the archive of generated documents — preview, print, reprint (with reason), batch print
with progress and cancel — and the verification of a scanned QR payload.

A supervisor (or administrator) chooses the printer of each document type here (kept per machine in
``printers.json``: printers belong to the PC). After each successful sync round, and when the page
is opened, the workstation's number blocks are topped up from the central store
(:func:`clerk_app.services.documents.refill_due`, with the hall's block size and threshold); the
line under the buttons says how many numbers are left and warns when a type has none.

Every database call goes through ``ctx.tasks.db``; printing runs as a background job.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.archive import Archive, ArchivedSummary, IssuedDocument
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings
from clerk_app.documents.signing import known_keys
from clerk_app.documents.templates import Templates, load_templates
from clerk_app.documents.verification import verify_payload
from clerk_app.documents.verify_command import describe
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.gui import print_records
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pdf_preview import PreviewDialog
from clerk_app.gui.printing import (
    RECEIPT_TYPES,
    PrinterChoices,
    PrintJob,
    PrintResult,
    ask_printer,
    load_choices,
    make_printer,
    print_in_background,
    save_choices,
)
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, Role
from clerk_app.services.documents import (
    MAX_BLOCK,
    NumberingPolicy,
    RefillReport,
    load_numbering,
    refill_due,
    save_numbering,
)
from clerk_app.sync.worker import STATE_ONLINE

log = logging.getLogger("clerk.documents")

COLUMNS = (N_("文书编号"), N_("文书名称"), N_("当事人"), N_("生成时间"), N_("经办人"), N_("打印次数"))
#: at most one automatic refill per this many seconds (sync rounds can be frequent)
REFILL_EVERY_S = 60.0


class NumberingDialog(QDialog):
    """Block size and refill threshold of the hall (all document types; per-type values kept)."""

    def __init__(self, policy: NumberingPolicy, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("文书编号设置"))
        self._policy = policy
        self.block_size = QSpinBox()
        self.block_size.setRange(1, MAX_BLOCK)
        self.block_size.setValue(policy.default.block_size)
        self.threshold = QSpinBox()
        self.threshold.setRange(0, MAX_BLOCK - 1)
        self.threshold.setValue(policy.default.refill_threshold)
        form = QFormLayout()
        form.addRow(_("每次预留号段大小"), self.block_size)
        form.addRow(_("剩余不超过此数时自动补充"), self.threshold)
        note = QLabel(
            _("全厅统一设置，经同步生效；每台工作台联网时从中心库预留号段，离线时使用已预留的号段。")
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def policy(self) -> NumberingPolicy:
        default = NumberingSettings(self.block_size.value(), self.threshold.value())
        return NumberingPolicy(default, dict(self._policy.per_type))


class PrinterSettingsDialog(QDialog):
    """The printer for A4 documents, for receipts, and per document type (default: by paper)."""

    def __init__(
        self, choices: PrinterChoices, printers: list[str], titles: dict[str, str], parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("打印机设置"))
        self._printers = printers
        form = QFormLayout()
        self.a4 = self._combo(_("系统默认打印机"), choices.a4)
        self.receipt = self._combo(_("系统默认打印机"), choices.receipt)
        form.addRow(_("A4 文书打印机"), self.a4)
        form.addRow(_("小票打印机（80 毫米）"), self.receipt)
        self.per_type: dict[str, QComboBox] = {}
        for key, title in titles.items():
            combo = self._combo(_("按纸型（同上）"), choices.extra.get(key, ""))
            self.per_type[key] = combo
            form.addRow(title, combo)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = QLabel(_("打印机设置保存在本机，仅对本工作台有效。"))
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _combo(self, empty_label: str, current: str) -> QComboBox:
        combo = QComboBox()
        combo.addItem(empty_label, "")
        names = list(self._printers)
        if current and current not in names:
            names.append(current)  # a printer not installed right now keeps its setting
        for name in names:
            combo.addItem(name, name)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        return combo

    def choices(self) -> PrinterChoices:
        extra = {key: str(combo.currentData()) for key, combo in self.per_type.items() if combo.currentData()}
        return PrinterChoices(str(self.a4.currentData()), str(self.receipt.currentData()), extra)


class DocumentsPage(Page):
    key = "documents"
    title = N_("文书")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.archive = Archive(ctx.runtime.paths.data / "documents")
        self.rows: list[ArchivedSummary] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("按编号、名称或当事人查找"))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.preview_button = QPushButton(_("预览"))
        self.print_button = QPushButton(_("打印"))
        self.reprint_button = QPushButton(_("补打（副本）…"))
        self.batch_button = QPushButton(_("批量打印所选"))
        self.printers_button = QPushButton(_("打印机设置…"))
        self.printers_button.setVisible(ctx.session.role in (Role.SUPERVISOR, Role.ADMIN))
        self.numbering_button = QPushButton(_("编号设置…"))
        self.numbering_button.setVisible(ctx.session.role in (Role.SUPERVISOR, Role.ADMIN))
        actions = QHBoxLayout()
        actions.addWidget(self.search, 1)
        for button in (
            self.preview_button,
            self.print_button,
            self.reprint_button,
            self.batch_button,
            self.printers_button,
            self.numbering_button,
        ):
            actions.addWidget(button)
        self.numbers_label = QLabel()
        self.numbers_label.setWordWrap(True)
        self.verify_input = QLineEdit()
        self.verify_input.setPlaceholderText(_("扫描或粘贴文书二维码内容后按回车核验"))
        self.verify_result = QLabel()
        self.verify_result.setWordWrap(True)
        self.verify_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addLayout(actions)
        self.layout_.addWidget(self.numbers_label)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addWidget(QLabel(_("文书核验")))
        self.layout_.addWidget(self.verify_input)
        self.layout_.addWidget(self.verify_result)
        self.search.returnPressed.connect(self.refresh)
        self.preview_button.clicked.connect(self.preview_selected)
        self.print_button.clicked.connect(lambda: self.print_selected(batch=False))
        self.batch_button.clicked.connect(lambda: self.print_selected(batch=True))
        self.reprint_button.clicked.connect(self.reprint_selected)
        self.printers_button.clicked.connect(self.edit_printers)
        self.numbering_button.clicked.connect(self.edit_numbering)
        self.verify_input.returnPressed.connect(self.verify)
        self._dialogs: list[PreviewDialog] = []
        self._last_refill = -REFILL_EVERY_S
        self.last_refill: RefillReport | None = None
        self._templates: Templates | None = None

    # --- data -------------------------------------------------------------------------------

    def activated(self) -> None:
        self.refresh()
        self.refill_numbers()

    def attach_sync(self, controller: Any) -> None:
        """Top up the number blocks after each successful sync round (the main window calls this)."""
        controller.status_changed.connect(self._sync_status)

    def _sync_status(self, status: Any) -> None:
        if getattr(status, "state", "") == STATE_ONLINE:
            self.refill_numbers()

    def refill_numbers(self, force: bool = False) -> None:
        """Run :func:`refill_due` on the database worker (at most once a minute unless forced)."""
        now = time.monotonic()
        if not force and now - self._last_refill < REFILL_EVERY_S:
            return
        self._last_refill = now
        local, central = self.ctx.runtime.local, self.ctx.runtime.central

        def failed(exc: BaseException) -> None:  # never interrupts the clerk: logged, shown on the page
            log.warning("number refill failed: %s", type(exc).__name__)
            self.numbers_label.setText(_("编号号段补充失败，请查看日志"))

        self.ctx.tasks.db(lambda: refill_due(local, central), self._show_numbers, failed)

    def _show_numbers(self, report: RefillReport) -> None:
        self.last_refill = report
        empty = [self._title(t) for t in report.low(0)]
        if empty:
            text = _("以下文书已无可用编号，连接中心库后自动补充：{types}").format(types="、".join(empty))
            self.numbers_label.setStyleSheet("color: #b42318;")
        else:
            fewest = min(report.remaining.values(), default=0)
            text = _("本工作台编号充足（每类至少 {n} 个）").format(n=fewest)
            self.numbers_label.setStyleSheet("")
        if report.offline:
            text += _("；中心库暂不可达，使用已预留号段")
        self.numbers_label.setText(text)

    def _title(self, doc_type: str) -> str:
        if self._templates is None:
            self._templates = load_templates()
        try:
            return self._templates.wording(DocType(doc_type)).title
        except (KeyError, ValueError):
            return doc_type

    # --- printers -----------------------------------------------------------------------------

    def printer_dialog(self) -> PrinterSettingsDialog:
        titles = {t.value: self._title(t.value) for t in DocType if t.value not in RECEIPT_TYPES}
        titles |= {t: self._title(t) for t in sorted(RECEIPT_TYPES)}
        return PrinterSettingsDialog(
            load_choices(self.ctx.runtime.paths.config),
            list(QPrinterInfo.availablePrinterNames()),
            titles,
            self,
        )

    def edit_printers(self) -> None:
        if self.ctx.session.role not in (Role.SUPERVISOR, Role.ADMIN):
            return
        dialog = self.printer_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            save_choices(self.ctx.runtime.paths.config, dialog.choices())

    def _db(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None]) -> None:
        local = self.ctx.runtime.local

        def work() -> Any:
            with local.unit_of_work() as uow:
                result = fn(uow)
                uow.commit()
                return result

        self.ctx.tasks.db(work, on_done, self.ctx.errors)

    def refresh(self) -> None:
        text = self.search.text()
        self._db(lambda uow: archive_mod.recent(uow, 500, text), self._show_rows)

    def _show_rows(self, rows: list[ArchivedSummary]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            values = (
                row.number,
                row.title,
                row.party,
                row.created_at.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M"),
                row.created_by,
                str(row.prints),
            )
            for column, value in enumerate(values):
                self.table.setItem(index, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def selected(self) -> list[ArchivedSummary]:
        indexes = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.rows[i] for i in indexes if i < len(self.rows)]

    # --- preview and print ------------------------------------------------------------------

    def _load(self, ids: list[uuid.UUID], on_done: Callable[[list[IssuedDocument]], None]) -> None:
        self._db(lambda uow: [archive_mod.load(uow, self.archive, i) for i in ids], on_done)

    def preview_selected(self) -> None:
        chosen = self.selected()[:1]
        if chosen:
            self._load([chosen[0].id], self._preview_first)

    def _preview_first(self, documents: list[IssuedDocument]) -> None:
        self.show_preview(documents[0])

    def show_preview(self, document: IssuedDocument) -> PreviewDialog:
        dialog = PreviewDialog(f"{document.title} {document.number}", document.pdf, self)
        dialog.preview.print_requested.connect(lambda: self.print_documents([document], ask=True))
        dialog.finished.connect(lambda _result: self._dialogs.remove(dialog))
        self._dialogs.append(dialog)
        dialog.show()
        return dialog

    def print_selected(self, batch: bool) -> None:
        chosen = self.selected() if batch else self.selected()[:1]
        if chosen:
            self._load([c.id for c in chosen], lambda docs: self.print_documents(docs, ask=True))

    def print_documents(self, documents: list[IssuedDocument], ask: bool) -> None:
        refresh = lambda _none: self.refresh()  # noqa: E731
        print_records.print_documents(self.ctx, self, documents, ask=ask, on_recorded=refresh)

    def _printed(self, result: PrintResult) -> None:
        """Record every document sent to the printer (copy 0, or the reprint already recorded)."""
        print_records.record_prints(self.ctx, result, lambda _none: self.refresh())

    def reprint_selected(self) -> None:
        chosen = self.selected()[:1]
        if not chosen:
            return
        reason, ok = QInputDialog.getText(self, _("补打文书"), _("补打原因（必填，记入审计）："))
        if not ok:
            return
        templates = load_templates()
        actor = self.ctx.session.username
        device = self.ctx.runtime.device_id

        def work(uow: Any) -> IssuedDocument:
            return archive_mod.reprint(
                uow, self.archive, templates, chosen[0].id, device_id=device, actor_name=actor, reason=reason
            )

        def done(copy: IssuedDocument) -> None:
            dialog = PreviewDialog(
                _("{title}（副本 {n}）").format(title=copy.title, n=copy.copy_no), copy.pdf, self
            )
            job = PrintJob(copy.title, copy.pdf, "reprint", copy.id, copy.sha256)

            def send() -> None:
                printer = make_printer(copy.doc_type, load_choices(self.ctx.runtime.paths.config))
                if ask_printer(printer, self):
                    print_in_background(self.ctx.tasks, [job], printer, self, self._printed, self.ctx.errors)

            dialog.preview.print_requested.connect(send)
            dialog.finished.connect(lambda _result: self._dialogs.remove(dialog))
            self._dialogs.append(dialog)
            dialog.show()
            self.refresh()

        self._db(work, done)

    # --- verification -----------------------------------------------------------------------

    def verify(self) -> None:
        text = self.verify_input.text()
        self._db(known_keys, lambda keys: self.show_verdict(text, keys))

    def show_verdict(self, text: str, keys: dict[str, Any]) -> None:
        verdict = verify_payload(text, keys)
        colour = "#1a7f37" if verdict.genuine else "#b42318"
        self.verify_result.setStyleSheet(f"color: {colour};")
        self.verify_result.setText("\n".join(describe(verdict)))
        self.verify_input.selectAll()

    # --- numbering ------------------------------------------------------------------------------

    def edit_numbering(self) -> None:
        local = self.ctx.runtime.local

        def load() -> NumberingPolicy:
            with local.unit_of_work() as uow:
                return load_numbering(uow.session)

        self.ctx.tasks.db(load, self._ask_numbering, self.ctx.errors)

    def _ask_numbering(self, policy: NumberingPolicy) -> None:
        dialog = NumberingDialog(policy, self)
        self._numbering_dialog = dialog
        dialog.accepted.connect(lambda: self.save_numbering(dialog.policy()))
        dialog.open()

    def save_numbering(self, policy: NumberingPolicy) -> None:
        local, who = self.ctx.runtime.local, self.ctx.session
        self.ctx.tasks.db(
            lambda: save_numbering(local, who, policy),
            lambda _none: self.refill_numbers(force=True),
            self.ctx.errors,
        )
