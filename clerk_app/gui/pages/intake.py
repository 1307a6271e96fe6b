"""一窗受理: the intake page's controller — it wires the form's widgets
(:mod:`clerk_app.gui.pages.intake_view`, sub-widgets in :mod:`clerk_app.gui.intake_widgets`) to the
intake service. Every rule lives in :mod:`clerk_app.services.intake`; this page reads the widgets
into an ``IntakeForm`` and runs service calls through ``ctx.tasks.db``.

* Fields are checked as typed: shortly after a change the form is validated on the database
  worker and each field the clerk has filled is marked with its reason (typing is never blocked).
* The form is saved as a draft (off the GUI thread) shortly after each change, and at once when
  the workstation locks; parked drafts are listed and picked up again from the draft box.
* A keyboard-wedge ID-card reader fills the ID field from any applicant field
  (:mod:`clerk_app.gui.id_reader`); a known applicant (回头件) is offered with their open cases,
  and one waiting for a correction can hand in what they brought (Ctrl+B, the checklist dialog).
* The ticket the queue panel starts serving is put on the form with its id; the case is linked to
  that ticket (``QueueService.link_case``) when it is saved.
* 容缺 due dates cannot be set after the promised completion date of the chosen matters.
* An outcome issues its notices in the same unit of work and opens the preview windows.

Keys (also listed on the home page): F2 证件号码, Ctrl+F 查找事项, F5 受理, F6 补正, F7 不予受理,
F8 当场办结, Ctrl+S 保存草稿, Ctrl+N 新表单, Ctrl+D 草稿箱, Ctrl+R 带入回头件信息,
Ctrl+B 登记补正材料; Enter moves on; Esc closes the preview.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QComboBox, QListWidgetItem, QPushButton, QWidget
from shiboken6 import Shiboken

from clerk_app.documents.dto import DocType
from clerk_app.domain.catalogue import Material, Matter, merge_materials
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.identifiers import DocumentType
from clerk_app.domain.search import HitKind, MatterIndex, SearchHit
from clerk_app.gui.correction_dialog import CorrectionDialog
from clerk_app.gui.id_reader import CardData, IdCardReader, KeyboardWedgeReader
from clerk_app.gui.intake_widgets import COL_DUE, COL_FORM, COL_NOTE, COL_STATE
from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.pages.intake_view import IntakeView
from clerk_app.gui.pdf_preview import PreviewDialog
from clerk_app.gui.print_records import print_documents
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.cases import CaseService
from clerk_app.services.corrections import CorrectionReceipt, CorrectionService
from clerk_app.services.intake import (
    CHINA,
    AgentIn,
    ApplicantIn,
    CaseResult,
    DraftInfo,
    FieldProblem,
    IntakeError,
    IntakeForm,
    IntakeService,
    MaterialIn,
    ReturningApplicant,
    extra_fields_of,
)
from clerk_app.services.intake_notices import IssuedNotice, NoticeIssuer
from clerk_app.services.queue import QueueService

__all__ = ["COL_DUE", "COL_FORM", "COL_NOTE", "COL_STATE", "IntakePage"]

AUTOSAVE_MS = 800
VALIDATE_MS = 300


class IntakePage(IntakeView):
    key = "intake"
    title = N_("一窗受理")
    permission = Permission.SERVE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, load_demo_catalogue(), parent)
        self._service: IntakeService | None = None
        self._corrections: CorrectionService | None = None
        self._index: MatterIndex | None = None
        self.draft_id: uuid.UUID | None = None
        #: the form's draft once it is in the store (``draft_id`` is made before the first save)
        self.draft_stored: uuid.UUID | None = None
        self.last_result: CaseResult | None = None
        self.returning: ReturningApplicant | None = None
        self.drafts: list[DraftInfo] = []
        self.problems: tuple[FieldProblem, ...] = ()
        self.previews: list[PreviewDialog] = []
        self.correction_dialog: CorrectionDialog | None = None
        #: the ticket being served, as the queue panel gave it (id, and whether it is a local ticket)
        self.ticket_id = ""
        self.ticket_offline = False
        self._looked_up = ""
        self._limit_key: tuple[tuple[str, ...], str] | None = None
        self._loading = False
        self._generation = 0  # bumped whenever another applicant's form is put on screen
        self._lock_hooked = False
        self._autosave = self._timer(AUTOSAVE_MS, self.save_draft)
        self._validate = self._timer(VALIDATE_MS, self.validate_now)
        self.reader: IdCardReader = KeyboardWedgeReader(self.applicant_edits(), self)
        self.reader.card_read.connect(self.card_read)
        self._wire()
        self._shortcuts()

    def alive(self) -> bool:
        """False once the window was closed and its widgets deleted while a result was on its way."""
        return Shiboken.isValid(self) and Shiboken.isValid(self.result_label)

    def _timer(self, ms: int, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    # ---- wiring ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        for edit in self.line_edits():
            edit.textEdited.connect(self._changed)
        for combo in self.combos():
            combo.currentIndexChanged.connect(self._changed)
        self.ticket_edit.textEdited.connect(self._ticket_typed)
        self.cross_region_check.toggled.connect(self._changed)
        self.resume_button.clicked.connect(self.resume_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.returning_button.clicked.connect(self.use_returning)
        self.matter_search.textEdited.connect(self.search_matters)
        self.matter_search.returnPressed.connect(self.choose_hit)
        self.matter_hits.itemActivated.connect(self.choose_hit)
        self.bundle_combo.currentIndexChanged.connect(self._matters_changed)
        self.matter_list.itemChanged.connect(self._matters_changed)
        self.materials_table.changed.connect(self._changed)
        self.extras.changed.connect(self._changed)
        actions: list[tuple[QPushButton, Any]] = [
            (self.accept_button, self.accept_case),
            (self.correction_button, self.request_correction),
            (self.refuse_button, self.refuse_case),
            (self.spot_button, self.done_on_the_spot),
            (self.draft_button, self.save_draft),
            (self.new_button, self.clear_form),
        ]
        for button, slot in actions:
            button.clicked.connect(slot)

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
            ("Ctrl+B", self.receive_correction),
        ]
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

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
        """The queue panel started serving ``ticket``: a new applicant, linked by the ticket's id."""
        number = str(getattr(ticket, "number", "") or "")
        ticket_id = getattr(ticket, "id", None)
        if not number or (self.ticket_edit.text() == number and self.ticket_id == str(ticket_id or "")):
            return
        if self._has_input():
            self.clear_form()  # the previous applicant's form stays parked as a draft
        self.ticket_edit.setText(number)
        self.ticket_id = str(ticket_id) if isinstance(ticket_id, uuid.UUID) else ""
        self.ticket_offline = getattr(ticket, "offline", False) is True
        self._changed()

    def _ticket_typed(self, _text: str) -> None:
        """A number typed by hand is not the ticket the queue panel gave: the link by id goes."""
        self.ticket_id = ""
        self.ticket_offline = False

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
            if self._waiting_case() is not None:
                lines.append(_("有待补正的办件：按 Ctrl+B 登记本次带来的材料"))
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

    # ---- corrections brought back (补正) --------------------------------------------------------

    def _waiting_case(self) -> uuid.UUID | None:
        found = self.returning
        if found is None:
            return None
        waiting = [c for c in found.open_cases if c.status == "correction_requested" and c.case_id]
        return waiting[0].case_id if waiting else None

    def corrections(self) -> CorrectionService:
        """Built on first use, on the database worker."""
        if self._corrections is None:
            runtime = self.ctx.runtime
            cases = CaseService(runtime.local, self.catalogue)
            issuer = NoticeIssuer.for_runtime(runtime)

            def top_up() -> object:
                year = dt.datetime.now(CHINA).year
                kinds = (DocType.CORRECTION, *NoticeIssuer.doc_types("accept"))
                return NoticeIssuer.top_up(runtime.local, runtime.central, kinds, year)

            self._corrections = CorrectionService(
                runtime.local, cases, notices=issuer.desk, catalogue=self.catalogue, top_up=top_up
            )
        return self._corrections

    def receive_correction(self) -> None:
        """The returning applicant brings materials for their case waiting for a correction."""
        case_id = self._waiting_case()
        if case_id is None:
            self.result_label.setText(_("这位申请人没有等待补正的办件"))
            return
        dialog = CorrectionDialog(
            self.ctx.tasks, self.corrections, self.ctx.session, case_id, self.ctx.errors, self
        )
        dialog.recorded.connect(self._correction_recorded)
        dialog.finished.connect(lambda _r: setattr(self, "correction_dialog", None))
        self.correction_dialog = dialog
        dialog.open()

    def _correction_recorded(self, receipt: CorrectionReceipt) -> None:
        if not self.alive():
            return
        if receipt.complete:
            text = _("办件 {number} 补正材料已齐全，现为“{status}”。").format(
                number=receipt.case_number, status=receipt.status_label
            )
        else:
            text = _("办件 {number} 已收：{brought}；仍缺：{remaining}（已重新出具补正材料通知书）").format(
                number=receipt.case_number,
                brought="、".join(receipt.brought),
                remaining="、".join(i.name for i in receipt.remaining),
            )
        self.result_label.setText("\n".join([text, *receipt.warnings]))
        for document in receipt.documents:
            self.show_preview(document)
        self._looked_up = ""
        self.validate_now()  # the open cases are looked up again

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
        self._show_matters({m.key: m for m in self.material_marks()}, dict(self.extra_values()))
        self._changed()

    def _show_matters(self, marks: dict[str, MaterialIn], extras: dict[str, str]) -> None:
        self.materials_table.fill(self._merged_materials(), marks)
        self.extras.fill(extra_fields_of(self._all_matters()), extras)
        self._update_due_limit()

    def _update_due_limit(self) -> None:
        """容缺 due dates end at the promised completion date of the chosen matters (computed on the
        database worker: the working-day calendar may read the hall's holiday table)."""
        codes, bundle = self.chosen_matters(), str(self.bundle_combo.currentData() or "")
        key = (codes, bundle)
        if key == self._limit_key:
            self.materials_table.set_due_limit(self.materials_table.due_limit)
            return
        self._limit_key = key

        def show(latest: dt.date | None) -> None:
            if self.alive() and self._limit_key == key:
                self.materials_table.set_due_limit(latest)

        self.ctx.tasks.db(lambda: self.service().promised_date(codes, bundle), show, self.ctx.errors)

    def extra_values(self) -> tuple[tuple[str, str], ...]:
        return self.extras.values()

    # ---- reading and writing the form -----------------------------------------------------------

    def material_marks(self) -> tuple[MaterialIn, ...]:
        return self.materials_table.marks()

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
            ticket_id=self.ticket_id,
            ticket_offline=self.ticket_offline,
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
            self.ticket_id, self.ticket_offline = form.ticket_id, form.ticket_offline
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
            self._show_matters({m.key: m for m in form.materials}, dict(form.extra))
        finally:
            self._loading = False
        self.draft_id = self.draft_stored = draft_id
        self.show_conditional()
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
            queues = {False: QueueService(runtime.central), True: QueueService(runtime.local, offline=True)}
            self._service = IntakeService(
                runtime.local, self.catalogue, notices=issuer, tickets=queues.__getitem__
            )
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
        self._mark([p for p in problems if self.filled(p.field)])
        if not any(p.field == "applicant.id_number" for p in problems) and form.applicant.id_number.strip():
            self._look_up(form)
        elif not form.applicant.id_number.strip():
            self._show_returning(None)
            self._looked_up = ""

    def _mark(self, problems: list[FieldProblem]) -> None:
        reasons: dict[int, tuple[QWidget, list[str]]] = {}
        for problem in problems:
            widget = self.widget_of(problem.field)
            if widget is not None:
                reasons.setdefault(id(widget), (widget, []))[1].append(problem.message)
        self.mark(reasons)

    # ---- drafts ---------------------------------------------------------------------------------

    def save_draft(self) -> None:
        """Store the form as a draft. Its id is made here, at the first save, so that two saves
        queued before the first one is done (autosave and Ctrl+S) keep one draft, not two."""
        self._autosave.stop()
        first = self.draft_id is None
        if first:
            self.draft_id = uuid.uuid4()
        form, session, draft, generation = (
            self.current_form(),
            self.ctx.session,
            self.draft_id,
            self._generation,
        )
        self.ctx.tasks.db(
            lambda: self.service().save_draft(session, form, draft),
            lambda info: self._draft_saved(info, generation, first),
        )

    def save_draft_if_filled(self) -> None:
        if self._autosave.isActive() or (self.draft_id is None and self._has_input()):
            self.save_draft()

    def _has_input(self) -> bool:
        return any(edit.text().strip() for edit in self.applicant_edits()) or bool(self.chosen_matters())

    def _draft_saved(self, info: DraftInfo, generation: int, first: bool) -> None:
        if not self.alive() or info.id != self.draft_id or generation != self._generation:
            return
        self.draft_stored = info.id
        if first:
            self.refresh_drafts()  # a new draft in the draft box

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
            self.draft_id = self.draft_stored = None
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
        self.draft_id = self.draft_stored = None
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
        if result.ticket_linked:
            lines.append(_("已与排队号 {ticket} 关联").format(ticket=self.ticket_edit.text()))
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
        print_documents(self.ctx, self, [document])

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, IntakeError) and self.alive():
            self._mark(list(exc.problems))
            self.result_label.setText(exc.message)
        self.ctx.errors(exc)

    # ---- a new applicant ------------------------------------------------------------------------

    def _clear_widgets(self) -> None:
        for edit in self.line_edits():
            edit.clear()
        for combo in self.combos():
            combo.setCurrentIndex(0)
        self.cross_region_check.setChecked(False)
        self.bundle_combo.setCurrentIndex(0)
        for row in range(self.matter_list.count()):
            self.matter_list.item(row).setCheckState(Qt.CheckState.Unchecked)
        self.materials_table.setRowCount(0)
        self.extras.fill((), {})
        self.matter_search.clear()
        self.matter_hits.clear()
        self.ticket_id, self.ticket_offline = "", False
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
        self.draft_id = self.draft_stored = None
        self._mark([])
        self.result_label.clear()
        self.refresh_drafts()
        self.id_edit.setFocus()
