"""Sync as the workstation uses it: the stores the background sync opens for itself, the Sync
page's rejections (list, re-apply, dismiss — audited), and registering this workstation with the
central store.

The GUI runs the sync rounds on its own thread (``clerk_app.gui.sync_status``) with connections
opened here, never the database worker's; the page's calls go through the task runner like every
other service call.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import keyring
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clerk_app.i18n import N_, _
from clerk_app.security.credentials import NoSecureKeyringError, secure_keyring_available
from clerk_app.security.roles import Permission, allows
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.engine import is_sqlite, make_engine
from clerk_app.store.models import Device, Hall, Window
from clerk_app.store.uow import Store
from clerk_app.sync import client, rejections
from clerk_app.sync.central_admin import create_device_role, save_password

log = logging.getLogger("clerk.sync")

#: what a synced table is called on the Sync page (the raw name is shown for the others)
TABLE_LABELS = {
    "cases": N_("办件"),
    "case_events": N_("办件状态"),
    "case_applicants": N_("申请人"),
    "case_materials": N_("申请材料"),
    "halls": N_("大厅"),
    "departments": N_("部门"),
    "windows": N_("窗口"),
    "users": N_("用户"),
    "devices": N_("设备"),
    "settings": N_("大厅设置"),
    "documents": N_("文书"),
    "queue_tickets": N_("排队号"),
    "ratings": N_("评价"),
    "complaint_cases": N_("办不成事反映"),
    "rectifications": N_("整改"),
}

#: a connection attempt to the central store gives up after this many seconds (sync thread)
CONNECT_TIMEOUT_S = 5


# --- the background sync's own connections ------------------------------------------------


def open_sync_stores(rt: Runtime) -> tuple[Store, Store]:
    """New engines on the same local and central databases as ``rt``, for the sync thread."""
    local_url = rt.local.engine.url.render_as_string(hide_password=False)
    central_url = rt.central.engine.url.render_as_string(hide_password=False)
    local = Store(make_engine(local_url), rt.local.device_id, rt.local.clock)
    kwargs: dict[str, Any] = {}
    if make_url(central_url).get_backend_name() != "sqlite":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    central = Store(
        make_engine(central_url, **kwargs), rt.central.device_id, rt.central.clock, role="central"
    )
    return local, central


# --- rejections on the Sync page ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RejectionRow:
    id: uuid.UUID
    created_at: dt.datetime
    what: str
    reason: str
    detail: str
    values: str
    mine: bool
    can_reapply: bool


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _row(view: rejections.RejectionView, device_id: str) -> RejectionRow:
    table = TABLE_LABELS.get(view.table_name)
    what = f"{_(table) if table else view.table_name} {str(view.row_id)[-8:]}"
    reason_text = rejections.REASONS.get(view.reason)
    values = "; ".join(
        _("{field}：{mine}（中心库：{central}）").format(
            field=name,
            mine=_shown(view.rejected_values.get(name)),
            central=_shown(view.central_values.get(name)),
        )
        for name in view.fields
    )
    return RejectionRow(
        view.id,
        view.created_at,
        what,
        _(reason_text) if reason_text else view.reason,
        view.detail,
        values,
        view.device_id == device_id,
        view.status == "open" and view.reason in rejections.REAPPLICABLE,
    )


def list_rejections(rt: Runtime, who: UserSession) -> list[RejectionRow]:
    """Open rejections: a clerk sees this workstation's, a supervisor every workstation's."""
    who.require(Permission.SERVE)
    device = None if allows(who.role, Permission.SUPERVISE) else rt.device_id
    return [_row(v, rt.device_id) for v in rejections.list_rejections(rt.local, device_id=device)]


def _actor(who: UserSession) -> str:
    return f"{who.display_name}（{who.username}）"


def _check_scope(rt: Runtime, who: UserSession, rejection_id: uuid.UUID) -> None:
    if allows(who.role, Permission.SUPERVISE):
        return
    if not any(v.id == rejection_id for v in rejections.list_rejections(rt.local, device_id=rt.device_id)):
        raise UserError(_("只能处理本工作站的未同步修改"))


def dismiss_rejection(rt: Runtime, who: UserSession, rejection_id: uuid.UUID) -> None:
    who.require(Permission.SERVE)
    _check_scope(rt, who, rejection_id)
    try:
        rejections.dismiss(rt.local, rejection_id, _actor(who))
    except rejections.RejectionNotFound as exc:
        raise UserError(_("这条记录已不存在")) from exc


def reapply_rejection(rt: Runtime, who: UserSession, rejection_id: uuid.UUID) -> None:
    who.require(Permission.SERVE)
    _check_scope(rt, who, rejection_id)
    try:
        rejections.reapply(rt.local, rejection_id, _actor(who))
    except rejections.RejectionNotFound as exc:
        raise UserError(_("这条记录已不存在")) from exc
    except rejections.SetAside as exc:
        raise UserError(
            _(
                "这条新记录的编号已被先同步的记录占用，重新提交仍会被拒绝。内容保留在此；如仍需要，请核对后重新录入。"
            )
        ) from exc
    except ValueError as exc:
        raise UserError(_("这条修改不能重新提交（已处理，或此类修改不允许）")) from exc


def outbox_waiting(rt: Runtime) -> int:
    return client.outbox_waiting(rt.local)


# --- registering a workstation ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    device_id: str
    role: str
    central_url: str
    window_number: int | None
    hall_name: str
    pulled: int


def role_name_for(device_id: str) -> str:
    return "ws_" + re.sub(r"[^a-z0-9]", "", device_id.lower())[-24:]


def register_workstation(
    rt: Runtime,
    url: str,
    *,
    window_number: int | None = None,
    name: str = "",
    hall_code: str | None = None,
    password: str | None = None,
) -> Registration:
    """Register this workstation with the central store at ``url`` (an administrator's URL):
    record it in the central ``devices`` table, create its least-privilege login role (PostgreSQL)
    with a fresh password kept in the keyring, save the central URL (without the password) in the
    settings, and pull the central data once so that clerks can sign in offline.

    Returns what was done; ``rt`` is left pointing at the old central store (restart to use the
    new one)."""
    admin_url = url
    admin = make_engine(admin_url)
    try:
        central = Store(admin, rt.local.device_id, rt.local.clock, role="central")
        hall_id, hall_name = _hall(central, hall_code)
        _record_device(central, rt.local.device_id, window_number, name)
        if is_sqlite(admin):
            role = ""
            saved_url = admin_url
        else:
            if not secure_keyring_available():
                raise NoSecureKeyringError(type(keyring.get_keyring()).__name__)
            role = role_name_for(rt.local.device_id)
            secret = password or secrets.token_urlsafe(24)
            create_device_role(admin_url, role, secret, [hall_id])
            device_url = make_url(admin_url).set(username=role, password=secret)
            saved_url = save_password(device_url.render_as_string(hide_password=False), secret)
        pulled = first_pull(rt.local, central)
    finally:
        admin.dispose()
    rt.save_settings(rt.settings.replace(central_url=saved_url, last_window=window_number))
    return Registration(rt.local.device_id, role, saved_url, window_number, hall_name, pulled)


def _hall(central: Store, hall_code: str | None) -> tuple[uuid.UUID, str]:
    with Session(central.engine) as session:
        stmt = select(Hall.id, Hall.name).where(~Hall.deleted).order_by(Hall.code)
        if hall_code:
            stmt = stmt.where(Hall.code == hall_code)
        found = session.execute(stmt.limit(2)).all()
    if not found:
        raise UserError(_("中心库中没有大厅，请先在中心库建立大厅"))
    if len(found) > 1 and not hall_code:
        raise UserError(_("中心库中有多个大厅，请用 --hall 指定大厅编码"))
    return found[0][0], found[0][1]


def _record_device(central: Store, device_id: str, window_number: int | None, name: str) -> None:
    with central.unit_of_work() as uow:
        session = uow.session
        if window_number is not None:
            window = session.scalar(select(Window).where(Window.number == window_number, ~Window.deleted))
            if window is None:
                raise UserError(_("中心库中没有 {n} 号窗口").format(n=window_number))
        shown = name or (_("{n} 号窗口工作站").format(n=window_number) if window_number else device_id)
        device = session.scalar(select(Device).where(Device.device_key == device_id))
        if device is None:
            session.add(
                Device(device_key=device_id, kind="workstation", name=shown, window_number=window_number)
            )
        elif device.window_number != window_number or device.name != shown or device.deleted:
            device.window_number = window_number
            device.name = shown
            device.deleted = False
        uow.commit()


def first_pull(local: Store, central: Store) -> int:
    """Bring the central data (users, windows, catalogue…) into the local store: the first pull
    of a new workstation. Returns the number of rows written."""
    return client.first_pull(local, central).applied
