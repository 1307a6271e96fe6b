"""The checks of a whole intake form for one outcome (:class:`IntakeRules`), and the promised
completion date of the chosen matters from the deadline engine."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from clerk_app.domain.catalogue import (
    CaseType,
    Catalogue,
    Matter,
    merge_materials,
)
from clerk_app.domain.deadlines import OfficeHours, compute_deadline
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import _
from clerk_app.services.intake_applicant import (
    _agent,
    _applicant,
)
from clerk_app.services.intake_forms import (
    CHINA,
    Delivery,
    FieldProblem,
    IntakeForm,
    Outcome,
    _Checked,
    _Findings,
    service_day,
)
from clerk_app.services.intake_materials import (
    _extras,
    _materials,
    _matters,
)


class IntakeRules:
    """The checks of an intake form against the catalogue and the working-day calendar."""

    def __init__(self, catalogue: Catalogue, calendar: WorkCalendar, office: OfficeHours | None = None):
        self.catalogue = catalogue
        self.calendar = calendar
        self.office = office or OfficeHours()

    def check(
        self,
        form: object,
        outcome: Outcome,
        now: dt.datetime,
        reason: object = "",
        legal_basis: object = "",
        authority: object = "",
    ) -> tuple[_Checked | None, tuple[FieldProblem, ...]]:
        f = _Findings()
        if not isinstance(form, IntakeForm):
            return None, (FieldProblem("form", _("表单数据无效")),)
        today = service_day(now)
        applicant = _applicant(f, form.applicant, today)
        agent = _agent(f, form.agent, today)
        matters, bundle_code = _matters(f, form, self.catalogue)
        merged = merge_materials(m.materials for m in matters)
        lines, missing, deferred = _materials(f, form, merged, outcome, today)
        delivery = self._delivery(f, form)
        address = f.text("delivery_address", form.delivery_address, 300, required=delivery is Delivery.MAIL)
        cross = form.cross_region is True
        other = f.text("other_region", form.other_region, 100, required=cross)
        ticket = f.text("ticket_number", form.ticket_number, 16)
        ticket_id = _ticket_id(f, form.ticket_id)
        note = f.text("note", form.note, 1000, lines=True)
        reason_text = f.text("reason", reason, 500, lines=True, required=outcome is Outcome.REFUSE)
        basis = f.text("legal_basis", legal_basis, 500, lines=True, required=outcome is Outcome.REFUSE)
        competent = f.text("authority", authority, 200)
        extra = _extras(f, form, matters, outcome)
        promised: dt.datetime | None = None
        provisional = False
        if outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT) and missing:
            names = "、".join(line.name for line in missing)
            f.add("materials", _("缺少必需材料：{names}").format(names=names))
        if outcome is Outcome.CORRECTION and matters and not missing:
            f.add("materials", _("必需材料已齐全，无需补正"))
        if outcome is Outcome.ON_THE_SPOT:
            for matter in matters:
                if matter.case_type is not CaseType.IMMEDIATE:
                    f.add("matters", _("“{name}”不是即办件，不能当场办结").format(name=matter.name))
        if outcome is Outcome.ACCEPT and matters:
            promised, provisional = self.promised(matters, now)
            if promised is not None:
                for name, due in deferred:
                    if due > promised.date():
                        f.add(
                            "materials",
                            _("容缺材料“{name}”的补交日期 {due} 晚于承诺办结日期 {promised}").format(
                                name=name, due=due.isoformat(), promised=promised.date().isoformat()
                            ),
                        )
        if f.problems:
            return None, tuple(f.problems)
        checked = _Checked(
            applicant,
            agent,
            matters,
            bundle_code,
            lines,
            missing,
            delivery,
            address,
            cross,
            other,
            ticket,
            note,
            reason_text,
            basis,
            promised,
            provisional,
            tuple(f.warnings),
            extra,
            competent,
            ticket_id,
            form.ticket_offline is True and ticket_id is not None,
        )
        return checked, ()

    def promised(self, matters: Iterable[Matter], now: dt.datetime) -> tuple[dt.datetime | None, bool]:
        """The latest promised completion over ``matters`` (aware, hall time) and its provisional flag."""
        local = now.astimezone(CHINA).replace(tzinfo=None)
        latest: dt.datetime | None = None
        provisional = False
        for matter in matters:
            deadline = compute_deadline(local, matter.promised_limit, self.calendar, office=self.office)
            due = deadline.due.replace(tzinfo=CHINA)
            provisional = provisional or deadline.provisional
            latest = due if latest is None or due > latest else latest
        return latest, provisional

    @staticmethod
    def _delivery(f: _Findings, form: IntakeForm) -> Delivery:
        try:
            return Delivery(form.delivery)
        except ValueError:
            f.add("delivery", _("送达方式应为窗口领取或邮寄"))
            return Delivery.PICKUP


def _ticket_id(f: _Findings, value: object) -> uuid.UUID | None:
    """The served ticket's id (a UUID, as the queue panel gives it), ``None`` when not given."""
    text = f.text("ticket_id", value, 64)
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        f.add("ticket_id", _("排队号的内部编号无效，请从叫号面板重新开始办理"))
        return None
