"""The intake service (:class:`IntakeService`): checking, drafts, returning applicants and the four
outcomes at the window, each one unit of work (see :mod:`clerk_app.services.intake`)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clerk_app.domain import case_states
from clerk_app.domain.case_states import CaseState
from clerk_app.domain.catalogue import (
    Catalogue,
    Material,
    Matter,
    merge_materials,
)
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.deadlines import OfficeHours
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.intake_applicant import (
    applicant_row,
    find_returning,
)
from clerk_app.services.intake_drafts import (
    _drop_draft,
    discard_draft,
    load_drafts,
    save_draft,
)
from clerk_app.services.intake_forms import (
    _EVENTS,
    _NOTICES,
    CaseResult,
    DraftInfo,
    FieldProblem,
    IntakeError,
    IntakeForm,
    MaterialState,
    Outcome,
    ReturningApplicant,
    _Checked,
    service_day,
)
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.services.intake_rules import (
    IntakeRules,
)
from clerk_app.store.base import utcnow
from clerk_app.store.models.cases import (
    Applicant,
    Case,
    CaseCounter,
    CaseEventRecord,
    CaseMaterial,
)
from clerk_app.store.uow import Store

log = logging.getLogger("clerk.intake")


class TicketLinker(Protocol):
    """The queue service's side of a served ticket (:meth:`QueueService.link_case`)."""

    def link_case(self, who: UserSession, ticket_id: uuid.UUID, case_ref: str) -> object: ...


#: the queue service holding a ticket: ``tickets(offline)`` — the hall's central queue, or this
#: window's local queue when the ticket was issued offline
TicketQueues = Callable[[bool], TicketLinker]

# ---- the service ----------------------------------------------------------------------------


class IntakeService:
    """Intake at a window on the local store of this workstation."""

    def __init__(
        self,
        store: Store,
        catalogue: Catalogue | None = None,
        calendar: WorkCalendar | None = None,
        *,
        office: OfficeHours | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        notices: NoticeIssuer | None = None,
        tickets: TicketQueues | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        #: when set, every outcome issues its notice(s) in the outcome's own unit of work
        self.notices = notices
        #: when set, the ticket being served (``IntakeForm.ticket_id``) is linked to the new case
        self.tickets = tickets
        self.rules = IntakeRules(catalogue or load_demo_catalogue(), calendar or WorkCalendar(), office)

    @property
    def catalogue(self) -> Catalogue:
        return self.rules.catalogue

    # ---- checking without writing -------------------------------------------------------------

    def validate(
        self, form: IntakeForm, outcome: Outcome = Outcome.ACCEPT, reason: str = "", legal_basis: str = ""
    ) -> tuple[FieldProblem, ...]:
        """Every blocker of ``outcome`` for ``form`` now (empty when it may proceed)."""
        return self.rules.check(form, outcome, self._clock(), reason, legal_basis)[1]

    def promised_date(self, matter_codes: Iterable[str], bundle_code: str = "") -> dt.date | None:
        """The promised completion date (hall day) if the chosen matters were accepted now: the
        latest day a 容缺 material may be promised for. ``None`` with no (known) matter chosen."""
        codes = list(self.catalogue.bundle(bundle_code).matter_codes) if bundle_code else []
        codes.extend(matter_codes)
        matters: dict[str, Matter] = {}
        for code in codes:
            try:
                matter = self.catalogue.matter(code)
            except KeyError:
                continue
            matters.setdefault(matter.implementation_code, matter)
        if not matters:
            return None
        due, _provisional = self.rules.promised(matters.values(), self._clock())
        return due.date() if due is not None else None

    def materials_for(self, matter_codes: Iterable[str], bundle_code: str = "") -> tuple[Material, ...]:
        """The merged material list (no duplicates) of the chosen matters and bundle."""
        codes = list(self.catalogue.bundle(bundle_code).matter_codes) if bundle_code else []
        codes.extend(matter_codes)
        matters: dict[str, Matter] = {}
        for code in codes:
            matter = self.catalogue.matter(code)
            matters.setdefault(matter.implementation_code, matter)
        return merge_materials(m.materials for m in matters.values())

    def find_returning(
        self, session: UserSession, kind: str, id_type: str, id_number: str
    ) -> ReturningApplicant | None:
        """回头件: the known applicant with this identity (the number normalised as the rules do),
        with their open cases, newest first; ``None`` when unknown or the number is not valid."""
        session.require(Permission.SERVE)
        today = service_day(self._clock())
        return find_returning(self._store, kind, id_type, id_number, today, self._matter_name)

    def _matter_name(self, code: str) -> str:
        try:
            return self.catalogue.matter(code).name
        except KeyError:
            return code

    # ---- drafts ---------------------------------------------------------------------------------

    def save_draft(
        self, session: UserSession, form: IntakeForm, draft_id: uuid.UUID | None = None
    ) -> DraftInfo:
        """Keep ``form`` as typed (no validation); a new draft unless ``draft_id`` names one."""
        session.require(Permission.SERVE)
        return save_draft(self._store, session, form, draft_id, self._clock())

    def load_drafts(self, session: UserSession) -> list[DraftInfo]:
        """This clerk's drafts on this workstation, the most recently changed first."""
        session.require(Permission.SERVE)
        return load_drafts(self._store, session)

    def discard_draft(self, session: UserSession, draft_id: uuid.UUID) -> None:
        session.require(Permission.SERVE)
        discard_draft(self._store, session, draft_id)

    # ---- outcomes -------------------------------------------------------------------------------

    def accept(
        self, session: UserSession, form: IntakeForm, *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """受理: the case number, promised completion date and provisional flag."""
        return self._outcome(session, form, Outcome.ACCEPT, "", "", draft_id)

    def request_correction(
        self, session: UserSession, form: IntakeForm, note: str = "", *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """补正: the complete list of required materials still missing, told at once."""
        return self._outcome(session, form, Outcome.CORRECTION, note, "", draft_id)

    def refuse(
        self,
        session: UserSession,
        form: IntakeForm,
        reason: str,
        legal_basis: str,
        *,
        authority: str = "",
        draft_id: uuid.UUID | None = None,
    ) -> CaseResult:
        """不予受理 with its reason and legal basis; the materials handed in are returned, and
        ``authority`` names the body to turn to when the matter is not for this hall."""
        return self._outcome(session, form, Outcome.REFUSE, reason, legal_basis, draft_id, authority)

    def done_on_the_spot(
        self, session: UserSession, form: IntakeForm, *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """即办件: accepted and decided at the window."""
        return self._outcome(session, form, Outcome.ON_THE_SPOT, "", "", draft_id)

    def _outcome(
        self,
        session: UserSession,
        form: IntakeForm,
        outcome: Outcome,
        reason: str,
        legal_basis: str,
        draft_id: uuid.UUID | None,
        authority: str = "",
    ) -> CaseResult:
        session.require(Permission.SERVE)
        now = self._clock()
        checked, problems = self.rules.check(form, outcome, now, reason, legal_basis, authority)
        if checked is None:
            raise IntakeError(problems)
        event = _EVENTS[outcome]
        reason_text = self._event_reason(outcome, checked)
        verdict = case_states.check(CaseState.RECEIVED, event, session.role.value, reason_text or None)
        if not verdict.allowed or verdict.target is None:
            raise UserError(verdict.message)
        with self._store.unit_of_work() as uow:
            s = uow.session
            applicant = applicant_row(s, checked.applicant, now)
            case = self._case_row(s, session, checked, applicant, verdict.target, outcome, now)
            for line in checked.lines:
                s.add(
                    CaseMaterial(
                        case_id=case.id,
                        material_key=line.key,
                        name=line.name,
                        required=line.required,
                        state=line.state,
                        form=line.form,
                        count=line.count,
                        due_date=line.due,
                        note=line.note,
                    )
                )
            s.add(
                CaseEventRecord(
                    case_id=case.id,
                    event=event.value,
                    from_state=CaseState.RECEIVED.value,
                    to_state=verdict.target.value,
                    at=now,
                    actor_id=session.user_id,
                    actor_name=session.display_name,
                    window_number=session.window_number,
                    reason=reason_text,
                    legal_basis=checked.legal_basis,
                    detail=self._event_detail(outcome, checked),
                )
            )
            if draft_id is not None:
                _drop_draft(s, session, draft_id)
            uow.flush()
            result = self._result(case, checked, outcome)
            if self.notices is not None:
                issued = self.notices.issue(
                    uow, session, result.case_number, outcome.value, now, checked.authority
                )
                result = replace(result, documents=issued)
            uow.commit()
        return self._link_ticket(session, checked, result)

    def _link_ticket(self, session: UserSession, checked: _Checked, result: CaseResult) -> CaseResult:
        """Link the served ticket to the case just committed, by the ticket's id.

        The ticket lives in the queue's store (the hall's central store, or this window's local
        queue) and :meth:`QueueService.link_case` runs its own unit of work there, so the link
        cannot share the case's transaction: it follows the commit. The case keeps the ticket id
        in its event either way; a link that fails (central store unreachable, ticket already
        finished or moved to another window) leaves the case saved and says so in a warning.
        """
        if self.tickets is None or checked.ticket_id is None:
            return result
        shown = checked.ticket_number or _("当前号")
        try:
            self.tickets(checked.ticket_offline).link_case(session, checked.ticket_id, result.case_number)
        except UserError as exc:
            problem = exc.message
        except (SQLAlchemyError, OSError) as exc:
            log.warning("ticket %s not linked to %s: %s", checked.ticket_id, result.case_number, exc)
            problem = _("连接不上排队系统")
        else:
            return replace(result, ticket_linked=True)
        warning = _("办件已保存，但未能与排队号 {ticket} 关联：{reason}").format(ticket=shown, reason=problem)
        return replace(result, warnings=(*result.warnings, warning))

    # ---- pieces of an outcome -------------------------------------------------------------------

    @staticmethod
    def _event_reason(outcome: Outcome, checked: _Checked) -> str:
        if outcome is Outcome.CORRECTION:
            listed = "、".join(line.name for line in checked.missing)
            text = _("需补正材料：{names}").format(names=listed)
            return f"{text}\n{checked.reason}" if checked.reason else text
        return checked.reason

    @staticmethod
    def _event_detail(outcome: Outcome, checked: _Checked) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "matters": [m.implementation_code for m in checked.matters],
            "notice": _NOTICES[outcome],
        }
        if checked.promised_due is not None:
            detail["promised_due"] = checked.promised_due.isoformat()
            detail["provisional"] = checked.provisional
        if outcome is Outcome.CORRECTION:
            detail["missing"] = [line.key for line in checked.missing]
        if outcome is Outcome.REFUSE:
            detail["returned"] = [line.key for line in checked.lines if line.state == MaterialState.RECEIVED]
        if checked.ticket_number:
            detail["ticket"] = checked.ticket_number
        if checked.ticket_id is not None:
            detail["ticket_id"] = str(checked.ticket_id)
        if checked.authority:
            detail["authority"] = checked.authority
        if checked.extra:
            detail["extra"] = dict(checked.extra)
        return detail

    def _case_row(
        self,
        s: Session,
        session: UserSession,
        checked: _Checked,
        applicant: Applicant,
        status: CaseState,
        outcome: Outcome,
        now: dt.datetime,
    ) -> Case:
        agent = checked.agent
        decided = outcome in (Outcome.ON_THE_SPOT, Outcome.REFUSE)
        accepted = outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT)
        case = Case(
            case_number=self._next_number(s, session.window_number, now),
            applicant_id=applicant.id,
            matter_codes=[m.implementation_code for m in checked.matters],
            bundle_code=checked.bundle_code,
            status=status.value,
            received_at=now,
            accepted_at=now if accepted else None,
            promised_due=checked.promised_due,
            promised_date=checked.promised_due.date() if checked.promised_due else None,
            provisional=checked.provisional,
            decided_at=now if decided else None,
            clerk_id=session.user_id,
            clerk_name=session.display_name,
            window_number=session.window_number,
            delivery=checked.delivery.value,
            delivery_address=checked.delivery_address,
            agent_name=agent.name if agent else "",
            agent_id_type=agent.id_type if agent else "",
            agent_id_number=agent.id_number if agent else "",
            agent_phone=agent.phone if agent else "",
            cross_region=checked.cross_region,
            other_region=checked.other_region,
            ticket_number=checked.ticket_number,
            reason=self._event_reason(outcome, checked)[:500],
            legal_basis=checked.legal_basis,
            extra=dict(checked.extra),
        )
        s.add(case)
        s.flush()
        return case

    def _next_number(self, s: Session, window: int | None, now: dt.datetime) -> str:
        day = service_day(now)
        win = window or 0
        counter = s.get(CaseCounter, (day, win), with_for_update=True)
        if counter is None:
            counter = CaseCounter(service_day=day, window_number=win, last=0)
            s.add(counter)
        counter.last += 1
        return case_number(day, win, counter.last, self._store.device_id)

    @staticmethod
    def _result(case: Case, checked: _Checked, outcome: Outcome) -> CaseResult:
        returned = tuple(line for line in checked.lines if line.state == MaterialState.RECEIVED)
        return CaseResult(
            case_id=case.id,
            case_number=case.case_number,
            status=case.status,
            status_label=CaseState(case.status).label,
            applicant_name=checked.applicant.name,
            matter_codes=tuple(case.matter_codes),
            matter_names=tuple(m.name for m in checked.matters),
            received_at=case.received_at,
            accepted_at=case.accepted_at,
            promised_due=checked.promised_due,
            promised_date=case.promised_date,
            provisional=case.provisional,
            materials=checked.lines,
            missing=checked.missing if outcome is Outcome.CORRECTION else (),
            returned=returned if outcome is Outcome.REFUSE else (),
            notice=_(_NOTICES[outcome]),
            warnings=checked.warnings,
            extra=checked.extra,
        )


def case_number(day: dt.date, window: int, seq: int, device_id: str) -> str:
    """``YYYYMMDD`` + window (3 digits) + sequence (4 digits) + ``-`` + device suffix (6 hex)."""
    suffix = re.sub(r"[^0-9A-Fa-f]", "", device_id)[-6:].upper()
    return f"{day:%Y%m%d}{window:03d}{seq:04d}-{suffix}"
