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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keyring
from sqlalchemy import Engine, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from clerk_app.i18n import N_, _
from clerk_app.security.credentials import NoSecureKeyringError, secure_keyring_available
from clerk_app.security.roles import Permission, allows
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.engine import is_sqlite, make_engine
from clerk_app.store.models import Device, Hall, Window
from clerk_app.store.state import DEVICE_KEY, get_state, put_state
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import client, labels, rejections
from clerk_app.sync.central_admin import connect_url, create_device_role, save_password, stored_password
from clerk_app.sync.codec import BOOKKEEPING
from clerk_app.sync.protocol import SCHEMA_VERSION, SyncError

log = logging.getLogger("clerk.sync")

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


def _what(view: rejections.RejectionView) -> str:
    """The record in business words: the table's name and what identifies the row for a clerk
    (its number or name when the rejection carries it), else the end of its id."""
    values = {**view.central_values, **view.rejected_values}
    for key in ("case_number", "number", "code", "name", "username", "service_ref"):
        if values.get(key):
            return f"{labels.table_label(view.table_name)} {values[key]}"
    return f"{labels.table_label(view.table_name)} {str(view.row_id)[-8:]}"


def _values(view: rejections.RejectionView) -> str:
    """Each field not applied: its label, the value not applied and the central store's."""
    table = view.table_name
    return "；".join(
        _("{field}：{mine}（中心库：{central}）").format(
            field=labels.field_label(table, name),
            mine=labels.show_value(table, name, view.rejected_values.get(name)),
            central=labels.show_value(table, name, view.central_values.get(name)),
        )
        if name in view.central_values
        else _("{field}：{mine}").format(
            field=labels.field_label(table, name),
            mine=labels.show_value(table, name, view.rejected_values.get(name)),
        )
        for name in view.fields
        if name not in BOOKKEEPING
    )


def _row(view: rejections.RejectionView, device_id: str) -> RejectionRow:
    what = _what(view)
    reason_text = rejections.REASONS.get(view.reason)
    values = _values(view)
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


#: what ``register_workstation`` reports to its progress callback, in order
REGISTER_STEPS = (
    N_("连接中心库"),
    N_("登记本工作站"),
    N_("建立工作站账号"),
    N_("保存中心库地址和密码"),
    N_("以工作站账号测试连接"),
    N_("下载中心库数据"),
)

#: environment variable the command line reads the administrator's password from
ADMIN_PASSWORD_ENV = "CLERK_CENTRAL_ADMIN_PASSWORD"

RegisterProgress = Callable[[int, int, str], None]


def _no_progress(_done: int, _total: int, _text: str) -> None:
    return None


def role_name_for(device_id: str) -> str:
    return "ws_" + re.sub(r"[^a-z0-9]", "", device_id.lower())[-24:]


def central_address(text: str) -> URL:
    """The central store's address as typed: ``postgresql://host[:port]/database``, or
    ``host[:port]/database`` (PostgreSQL assumed), or a SQLite URL (an embedded store)."""
    typed = text.strip()
    if not typed:
        raise UserError(_("请填写中心库地址"), field="url")
    if "://" not in typed:
        typed = "postgresql://" + typed
    try:
        url = make_url(typed)
    except ArgumentError as exc:
        raise UserError(
            _("中心库地址格式不正确，应为 postgresql://服务器地址:端口/数据库名"), field="url"
        ) from exc
    if url.get_backend_name() == "sqlite":
        return url
    if url.get_backend_name() != "postgresql" or not url.host or not url.database:
        raise UserError(_("中心库地址格式不正确，应为 postgresql://服务器地址:端口/数据库名"), field="url")
    return url


def admin_url(address: str, user: str | None = None, password: str | None = None) -> str:
    """The administrator's connection URL: ``address`` with ``user`` and ``password`` (when
    given) in place of any it names. It is used for the registration only, never saved."""
    url = central_address(address)
    if url.get_backend_name() == "sqlite":
        return url.render_as_string(hide_password=False)
    if user:
        url = url.set(username=user.strip())
    if password:
        url = url.set(password=password)
    if not url.username:
        raise UserError(_("请填写中心库管理员账号"), field="admin_user")
    return url.render_as_string(hide_password=False)


def _plain(exc: DBAPIError) -> UserError | None:
    """A central database error met while registering, in words an administrator can act on
    (None for an error of this workstation's own store: that one is unexpected)."""
    if not type(exc.orig).__module__.startswith("psycopg"):
        return None
    text = str(exc.orig)
    if "password authentication failed" in text or "no password supplied" in text:
        return UserError(_("中心库管理员账号或密码不正确"), field="admin_password")
    if "does not exist" in text and "database" in text:
        return UserError(_("中心库服务器上没有这个数据库，请检查地址中的数据库名"), field="url")
    if "permission denied" in text or "must be superuser" in text or "CREATEROLE" in text:
        return UserError(_("这个账号没有管理中心库的权限，请使用中心库管理员账号"), field="admin_user")
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return UserError(_("中心库尚未建立，请先在服务器上运行 clerk-app central init"))
    if isinstance(exc, OperationalError):
        return UserError(_("连接不上中心库服务器，请检查地址、端口和网络"), field="url")
    return UserError(_("中心库拒绝了登记：{detail}").format(detail=text.splitlines()[0][:200]))


def register_workstation(
    rt: Runtime,
    url: str,
    *,
    window_number: int | None = None,
    name: str = "",
    hall_code: str | None = None,
    password: str | None = None,
    progress: RegisterProgress = _no_progress,
) -> Registration:
    """Register this workstation with the central store at ``url`` (an administrator's URL):
    record it in the central ``devices`` table, create its least-privilege login role (PostgreSQL)
    with its password kept in the keyring (the one already there for this workstation, else a
    fresh one), save the central URL (without the password) in the settings, connect once as
    that role to check it works, and pull the central data so that clerks can sign in offline.
    ``progress(done, total, step)`` is called before each step (``REGISTER_STEPS``).

    Database trouble comes back as a ``UserError`` in plain words. Returns what was done; ``rt``
    is left pointing at the old central store (restart to use the new one)."""
    total = len(REGISTER_STEPS)

    def step(index: int) -> None:
        progress(index, total, _(REGISTER_STEPS[index]))

    step(0)
    kwargs: dict[str, Any] = {}
    if make_url(url).get_backend_name() != "sqlite":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    admin = make_engine(url, **kwargs)
    try:
        role, saved_url, hall_name = _register_centrally(
            rt, admin, url, window_number, name, hall_code, password, step
        )
    except DBAPIError as exc:
        plain = _plain(exc)
        if plain is None:
            raise
        raise plain from exc
    finally:
        admin.dispose()
    step(4)
    device_engine = make_engine(connect_url(saved_url), **kwargs)
    try:
        device = Store(device_engine, rt.local.device_id, rt.local.clock, role="central")
        info = central_side.server_info(device)
        central_side.check_schema(SCHEMA_VERSION, info.schema_version)
        # the settings point at the new central store only once its account is known to work
        rt.save_settings(rt.settings.replace(central_url=saved_url, last_window=window_number))
        step(5)
        _follow_central(rt.local, device)
        pulled = first_pull(rt.local, device)
    except DBAPIError as exc:
        plain = _plain(exc)
        if plain is None:
            raise
        raise plain from exc
    except SyncError as exc:
        raise UserError(str(exc)) from exc
    finally:
        device_engine.dispose()
    progress(total, total, _("登记完成"))
    log.info("workstation %s registered (role %s)", rt.local.device_id, role or "-")
    return Registration(rt.local.device_id, role, saved_url, window_number, hall_name, pulled)


def _register_centrally(
    rt: Runtime,
    admin: Engine,
    url: str,
    window_number: int | None,
    name: str,
    hall_code: str | None,
    password: str | None,
    step: Callable[[int], None],
) -> tuple[str, str, str]:
    """The administrator's part: the device row and (PostgreSQL) the device's role, its password
    into the keyring. Returns (role, the URL to save, the hall's name)."""
    central = Store(admin, rt.local.device_id, rt.local.clock, role="central")
    hall_id, hall_name = _hall(central, hall_code)
    step(1)
    _record_device(central, rt.local.device_id, window_number, name)
    step(2)
    if is_sqlite(admin):
        step(3)
        return "", url, hall_name
    if not secure_keyring_available():
        raise NoSecureKeyringError(type(keyring.get_keyring()).__name__)
    role = role_name_for(rt.local.device_id)
    bare = make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
    secret = password or stored_password(bare) or secrets.token_urlsafe(24)
    create_device_role(url, role, secret, [hall_id])
    step(3)
    device_url = make_url(url).set(username=role, password=secret)
    return role, save_password(device_url.render_as_string(hide_password=False), secret), hall_name


#: local sync state naming the central store the pull cursor counts in
CENTRAL_KEY = "central"


def _follow_central(local: Store, central: Store) -> None:
    """A pull cursor is a position in one central store's change log. A workstation registered
    with another central store than the one it pulled from (the embedded demo store, another
    hall's server) starts over there with a snapshot instead of skipping that store's first
    changes."""
    with Session(central.engine) as session:
        central_id = str((get_state(session, DEVICE_KEY) or {}).get("id", ""))
    with local.unit_of_work(capture=False) as uow:
        seen = get_state(uow.session, CENTRAL_KEY)
        if seen is None or seen.get("id") != central_id:
            if int((get_state(uow.session, client.CURSOR_KEY) or {}).get("cursor", 0)) > 0:
                log.info("new central store %s: the pull cursor starts over", central_id)
                put_state(
                    uow.session,
                    client.CURSOR_KEY,
                    {"cursor": 0, "at": dt.datetime.now(dt.UTC).isoformat(), "central": central_id},
                )
            put_state(uow.session, CENTRAL_KEY, {"id": central_id})
        uow.commit()


def register_this_workstation(
    rt: Runtime,
    who: UserSession,
    address: str,
    admin_user: str,
    admin_password: str,
    *,
    window_number: int | None = None,
    hall_code: str | None = None,
    name: str = "",
    progress: RegisterProgress = _no_progress,
) -> Registration:
    """The registration dialog's call: an administrator registers this workstation with the
    central store at ``address``, signing in there as ``admin_user`` once (nothing of it is
    kept)."""
    who.require(Permission.ADMINISTER)
    return register_workstation(
        rt,
        admin_url(address, admin_user, admin_password),
        window_number=window_number,
        name=name.strip(),
        hall_code=(hall_code or "").strip() or None,
        progress=progress,
    )


def registered_address(rt: Runtime) -> str:
    """The central address of the settings without user or password (to prefill the dialog)."""
    url = rt.settings.central_url
    if not url or make_url(url).get_backend_name() == "sqlite":
        return ""
    parsed = make_url(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"postgresql://{parsed.host}{port}/{parsed.database}"


def _hall(central: Store, hall_code: str | None) -> tuple[uuid.UUID, str]:
    with Session(central.engine) as session:
        stmt = select(Hall.id, Hall.name).where(~Hall.deleted).order_by(Hall.code)
        if hall_code:
            stmt = stmt.where(Hall.code == hall_code)
        found = session.execute(stmt.limit(2)).all()
    if not found:
        raise UserError(_("中心库中没有大厅，请先在中心库建立大厅"))
    if len(found) > 1 and not hall_code:
        raise UserError(_("中心库中有多个大厅，请指定大厅编码"), field="hall")
    return found[0][0], found[0][1]


def _record_device(central: Store, device_id: str, window_number: int | None, name: str) -> None:
    with central.unit_of_work() as uow:
        session = uow.session
        if window_number is not None:
            window = session.scalar(select(Window).where(Window.number == window_number, ~Window.deleted))
            if window is None:
                raise UserError(_("中心库中没有 {n} 号窗口").format(n=window_number), field="window")
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
