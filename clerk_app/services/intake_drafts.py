"""Drafts of the intake form: the form to and from JSON, and the draft rows of this workstation
(``intake_drafts``, not synced; stored per clerk as ASCII-escaped JSON so that whatever was typed
survives; saving a draft never validates the form)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.i18n import _
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.intake_forms import (
    MAX_DRAFT_CHARS,
    AgentIn,
    ApplicantIn,
    Delivery,
    DraftInfo,
    IntakeForm,
    MaterialIn,
    MaterialState,
    _shown,
)
from clerk_app.store.models.cases import (
    IntakeDraft,
)
from clerk_app.store.uow import Store

# ---- drafts: form <-> JSON ------------------------------------------------------------------


def form_to_dict(form: IntakeForm) -> dict[str, Any]:
    data = asdict(form)
    data["materials"] = [
        {**m, "due": m["due"].isoformat() if isinstance(m["due"], dt.date) else None}
        for m in data["materials"]
    ]
    data["matter_codes"] = list(data["matter_codes"])
    data["extra"] = [list(pair) for pair in data["extra"]]
    return data


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    return value if isinstance(value, str) else default


def _date(value: object) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def form_from_dict(data: object) -> IntakeForm:
    """A form back from its stored dict; anything unreadable falls back to the empty value."""
    if not isinstance(data, dict):
        return IntakeForm()
    a = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
    assert isinstance(a, dict)
    applicant = ApplicantIn(
        **{k: _str(a, k, getattr(ApplicantIn(), k)) for k in ApplicantIn.__dataclass_fields__}
    )
    g = data.get("agent")
    agent = (
        AgentIn(**{k: _str(g, k, getattr(AgentIn(), k)) for k in AgentIn.__dataclass_fields__})
        if isinstance(g, dict)
        else None
    )
    materials = []
    for m in data.get("materials") or ():
        if isinstance(m, dict) and isinstance(m.get("key"), str):
            count = m.get("count")
            materials.append(
                MaterialIn(
                    key=m["key"],
                    state=_str(m, "state", MaterialState.RECEIVED),
                    form=_str(m, "form"),
                    count=count if isinstance(count, int) and not isinstance(count, bool) else 1,
                    due=_date(m.get("due")),
                    note=_str(m, "note"),
                )
            )
    codes = data.get("matter_codes")
    return IntakeForm(
        applicant=applicant,
        matter_codes=tuple(c for c in codes if isinstance(c, str)) if isinstance(codes, list) else (),
        bundle_code=_str(data, "bundle_code"),
        materials=tuple(materials),
        agent=agent,
        delivery=_str(data, "delivery", Delivery.PICKUP),
        delivery_address=_str(data, "delivery_address"),
        cross_region=data.get("cross_region") is True,
        other_region=_str(data, "other_region"),
        ticket_number=_str(data, "ticket_number"),
        ticket_id=_str(data, "ticket_id"),
        ticket_offline=data.get("ticket_offline") is True,
        note=_str(data, "note"),
        extra=tuple(
            (pair[0], pair[1])
            for pair in (data.get("extra") or ())
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        ),
    )


def _draft_label(form: IntakeForm) -> str:
    name = form.applicant.name if isinstance(form.applicant.name, str) else ""
    shown = _shown(name.strip(), 60) if name.strip() else ""
    return shown or _("未填写申请人")


def _draft_info(row: IntakeDraft) -> DraftInfo:
    try:
        data = json.loads(row.payload)
    except ValueError:
        data = None
    return DraftInfo(
        row.id, row.label, row.window_number, row.created_at, row.updated_at, form_from_dict(data)
    )


def _drop_draft(s: Session, session: UserSession, draft_id: uuid.UUID) -> None:
    row = s.get(IntakeDraft, draft_id)
    if row is not None and row.clerk_id == session.user_id:
        s.delete(row)


def save_draft(
    store: Store, session: UserSession, form: IntakeForm, draft_id: uuid.UUID | None, now: dt.datetime
) -> DraftInfo:
    """Keep ``form`` as typed (no validation); a new draft unless ``draft_id`` names one."""
    if not isinstance(form, IntakeForm):
        raise UserError(_("表单数据无效"))
    payload = json.dumps(form_to_dict(form), ensure_ascii=True, default=str)
    if len(payload) > MAX_DRAFT_CHARS:
        raise UserError(_("草稿过大，无法保存"))
    with store.unit_of_work() as uow:
        row = uow.session.get(IntakeDraft, draft_id) if draft_id is not None else None
        if row is not None and row.clerk_id != session.user_id:
            raise UserError(_("这份草稿属于其他工作人员"))
        if row is None:
            row = IntakeDraft(id=draft_id or uuid.uuid4(), clerk_id=session.user_id, created_at=now)
            uow.session.add(row)
        row.window_number = session.window_number
        row.label = _draft_label(form)
        row.payload = payload
        row.updated_at = now
        uow.flush()
        info = _draft_info(row)
        uow.commit()
    return info


def load_drafts(store: Store, session: UserSession) -> list[DraftInfo]:
    """This clerk's drafts on this workstation, the most recently changed first."""
    with store.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(IntakeDraft)
            .where(IntakeDraft.clerk_id == session.user_id)
            .order_by(IntakeDraft.updated_at.desc(), IntakeDraft.id.desc())
        )
        return [_draft_info(row) for row in rows]


def discard_draft(store: Store, session: UserSession, draft_id: uuid.UUID) -> None:
    with store.unit_of_work() as uow:
        _drop_draft(uow.session, session, draft_id)
        uow.commit()
