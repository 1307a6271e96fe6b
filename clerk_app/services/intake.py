"""One-form intake (一窗受理): drafts of the form, and its four outcomes at the window.

Outcomes — each one unit of work on the local store and exactly one case event carrying the
time, clerk, window and reason:

* :meth:`IntakeService.accept` — 受理: received → accepted; promised completion from the deadline
  engine over every matter's promised limit (the latest wins), provisional where the calendar is.
* :meth:`IntakeService.request_correction` — 补正: received → correction requested; the complete
  list of missing materials is computed from the form and told at once.
* :meth:`IntakeService.refuse` — 不予受理: received → not accepted; reason and legal basis
  required; the materials handed in are listed as returned.
* :meth:`IntakeService.done_on_the_spot` — 即办件: received → approved (only when every matter is
  of case type 即办件 and no material is deferred).

A form that cannot take the asked outcome raises :class:`IntakeError` (a ``UserError``) listing
*every* blocker at once, each tied to the form field it concerns; nothing is written then.
:func:`validate` gives the same findings without writing, for marking fields as they are typed.

Text rules: every text field is stripped, must fit its column, and may not contain control,
unassigned, private-use or bidirectional-override characters (they corrupt printed notices and
can disguise a name); multi-line fields (reasons, notes) may contain line breaks and tabs.

Case numbers: ``{YYYYMMDD}{window:03}{seq:04}-{DEVICE}``, e.g. ``202611280070012-3F9A1C``: the
hall's service day, the window, a sequence per day and window kept in this workstation's store,
and the last six hex digits of this workstation's device id (the random part of its UUIDv7).
Numbers are therefore made offline with no coordination and stay readable and sortable by day and
window; the device suffix keeps two workstations apart even when they serve the same window number
on the same day (a clerk moving desks, a replaced PC). The unique
index on ``cases.case_number`` is the backstop.

Drafts are local to this workstation (``intake_drafts``, not synced), stored per clerk as
ASCII-escaped JSON so that whatever was typed survives; saving a draft never validates the form.

This module is the public face of intake; the work is done in

* :mod:`~clerk_app.services.intake_forms` — the data in and out, labels and text rules;
* :mod:`~clerk_app.services.intake_applicant` — applicant, agent, returning applicants;
* :mod:`~clerk_app.services.intake_materials` — matters, bundles, materials, matter fields;
* :mod:`~clerk_app.services.intake_rules` — the checks of a whole form, the promised date;
* :mod:`~clerk_app.services.intake_drafts` — drafts;
* :mod:`~clerk_app.services.intake_outcomes` — the service and its outcomes;
* :mod:`~clerk_app.services.intake_notices` — the notices an outcome issues.
"""

from __future__ import annotations

from clerk_app.services.intake_drafts import form_from_dict, form_to_dict
from clerk_app.services.intake_forms import (
    CHINA,
    MAX_DRAFT_CHARS,
    MAX_MATTERS,
    OPEN_STATES,
    ORGANISATION_ID_TYPE,
    AgentIn,
    ApplicantIn,
    ApplicantKind,
    CaseResult,
    Delivery,
    DraftInfo,
    FieldProblem,
    IntakeError,
    IntakeForm,
    MaterialIn,
    MaterialLine,
    MaterialState,
    OpenCase,
    Outcome,
    ReturningApplicant,
)
from clerk_app.services.intake_materials import extra_fields_of
from clerk_app.services.intake_notices import IssuedNotice, NoticeIssuer
from clerk_app.services.intake_outcomes import IntakeService, case_number
from clerk_app.services.intake_rules import IntakeRules

__all__ = [
    "CHINA",
    "MAX_DRAFT_CHARS",
    "MAX_MATTERS",
    "OPEN_STATES",
    "ORGANISATION_ID_TYPE",
    "AgentIn",
    "ApplicantIn",
    "ApplicantKind",
    "CaseResult",
    "Delivery",
    "DraftInfo",
    "FieldProblem",
    "IntakeError",
    "IntakeForm",
    "IntakeRules",
    "IntakeService",
    "IssuedNotice",
    "MaterialIn",
    "MaterialLine",
    "MaterialState",
    "NoticeIssuer",
    "OpenCase",
    "Outcome",
    "ReturningApplicant",
    "case_number",
    "extra_fields_of",
    "form_from_dict",
    "form_to_dict",
]
