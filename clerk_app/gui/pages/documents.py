"""文书 page: the archive of generated documents — preview, print, reprint (with reason), batch print
with progress and cancel — and the verification of a scanned QR payload.

Every database call goes through ``ctx.tasks.db``; printing runs as a background job.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.archive import Archive, ArchivedSummary, IssuedDocument
from clerk_app.documents.signing import known_keys
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import verify_payload
from clerk_app.documents.verify_command import describe
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

COLUMNS = (N_("文书编号"), N_("文书名称"), N_("当事人"), N_("生成时间"), N_("经办人"), N_("打印次数"))


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
        actions = QHBoxLayout()
        actions.addWidget(self.search, 1)
        for button in (self.preview_button, self.print_button, self.reprint_button, self.batch_button):
            actions.addWidget(button)
        self.verify_input = QLineEdit()
        self.verify_input.setPlaceholderText(_("扫描或粘贴文书二维码内容后按回车核验"))
        self.verify_result = QLabel()
        self.verify_result.setWordWrap(True)
        self.verify_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addLayout(actions)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addWidget(QLabel(_("文书核验")))
        self.layout_.addWidget(self.verify_input)
        self.layout_.addWidget(self.verify_result)
        self.search.returnPressed.connect(self.refresh)
        self.preview_button.clicked.connect(self.preview_selected)
        self.print_button.clicked.connect(lambda: self.print_selected(batch=False))
        self.batch_button.clicked.connect(lambda: self.print_selected(batch=True))
        self.reprint_button.clicked.connect(self.reprint_selected)
        self.verify_input.returnPressed.connect(self.verify)
        self._dialogs: list[PreviewDialog] = []

    # --- data -------------------------------------------------------------------------------

    def activated(self) -> None:
        self.refresh()

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
                row.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                row.created_by,
                str(row.prints),
            )
            for column, value in enumerate(values):
                self.table.setItem(index, column, QTableWidgetItem(value))

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
        if not documents:
            return
        choices = load_choices(self.ctx.runtime.paths.config)
        printer = make_printer(documents[0].doc_type, choices)
        if ask and not ask_printer(printer, self):
            return
        jobs = [PrintJob(d.title, d.pdf, d.doc_type, d.id, d.sha256) for d in documents]
        print_in_background(self.ctx.tasks, jobs, printer, self, self._printed, self.ctx.errors)

    def _printed(self, result: PrintResult) -> None:
        """Record every document sent to the printer (copy 0, or the reprint already recorded)."""
        actor = self.ctx.session.username
        device = self.ctx.runtime.device_id

        def record(uow: Any) -> None:
            for job in result.printed:
                if job.document_id is not None and job.doc_type != "reprint":
                    archive_mod.record_print(
                        uow,
                        job.document_id,
                        device_id=device,
                        actor_name=actor,
                        printer=result.printer,
                        sha256=job.sha256,
                    )

        self._db(record, lambda _none: self.refresh())

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
