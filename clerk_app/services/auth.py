"""Signing in at a window, lockout after repeated failures, and resuming a locked session.

Login checks the local copy of the users table, so a clerk can sign in with the network down.
Every success, failure and lockout is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.i18n import _
from clerk_app.security.passwords import verify_password
from clerk_app.security.roles import Permission, Role, require
from clerk_app.services.errors import LoginError
from clerk_app.services.runtime import Runtime
from clerk_app.store.audit import append_audit
from clerk_app.store.base import utcnow
from clerk_app.store.models import Hall, LoginThrottle, User, Window

log = logging.getLogger("clerk.auth")


@dataclass(frozen=True, slots=True)
class WindowInfo:
    number: int
    name: str


@dataclass(frozen=True, slots=True)
class UserSession:
    """Who is signed in, where. Passed to every service call that acts for a user."""

    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    window_number: int | None
    hall_name: str

    def require(self, permission: Permission) -> None:
        require(self.role, permission)


class AuthService:
    def __init__(self, runtime: Runtime, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._rt = runtime
        self._clock = clock

    def windows(self) -> list[WindowInfo]:
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(Window).where(Window.active, ~Window.deleted).order_by(Window.number)
            )
            return [WindowInfo(w.number, w.name) for w in rows]

    def login(self, window_number: int | None, username: str, password: str) -> UserSession:
        username = username.strip()
        if not username or not password:
            raise LoginError(_("请输入用户名和密码。"))
        with self._rt.local.unit_of_work() as uow:
            try:
                result = self._login(uow.session, window_number, username, password)
            except LoginError:
                uow.commit()  # the failure count and its audit entry are kept
                raise
            uow.commit()
            return result

    def _login(self, session: Session, window: int | None, username: str, password: str) -> UserSession:
        now = self._clock()
        throttle = session.get(LoginThrottle, username) or LoginThrottle(username=username, failures=0)
        session.add(throttle)
        if throttle.locked_until and throttle.locked_until > now:
            self._audit(session, "login.refused_locked", username, window)
            raise LoginError(_locked_message(throttle.locked_until - now))
        user = session.scalar(select(User).where(User.username == username, ~User.deleted))
        if user is None or not user.active or not verify_password(user.password_hash, password):
            self._fail(session, throttle, username, window, now)
        assert user is not None
        self._check_window(session, user, window)
        throttle.failures, throttle.locked_until = 0, None
        self._audit(session, "login.success", username, window, user)
        log.info("login %s at window %s", username, window)
        return UserSession(
            user.id, user.username, user.display_name, Role(user.role), window, _hall_name(session)
        )

    def _fail(
        self, session: Session, throttle: LoginThrottle, username: str, window: int | None, now: dt.datetime
    ) -> None:
        policy = self._rt.settings
        throttle.failures = (throttle.failures or 0) + 1
        throttle.last_failure = now
        self._audit(session, "login.failure", username, window, detail={"failures": throttle.failures})
        if throttle.failures >= policy.lockout_failures:
            throttle.locked_until = now + dt.timedelta(minutes=policy.lockout_minutes)
            throttle.failures = 0
            self._audit(
                session,
                "login.lockout",
                username,
                window,
                detail={"until": throttle.locked_until.isoformat()},
            )
            log.warning("user %s locked out until %s", username, throttle.locked_until)
            raise LoginError(_locked_message(throttle.locked_until - now))
        left = policy.lockout_failures - throttle.failures
        raise LoginError(
            _("用户名或密码不正确。再错 {n} 次将锁定 {m} 分钟。").format(n=left, m=policy.lockout_minutes)
        )

    def _check_window(self, session: Session, user: User, window: int | None) -> None:
        if window is None:
            if Role(user.role) is Role.CLERK:
                raise LoginError(_("窗口人员登录时请选择所在窗口。"))
            return
        exists = session.scalar(
            select(Window.id).where(Window.number == window, Window.active, ~Window.deleted)
        )
        if exists is None:
            raise LoginError(_("{n} 号窗口不存在或已停用。").format(n=window))

    def verify_resume(self, who: UserSession, password: str) -> None:
        """Unlock after an idle lock: the same user's password; failures count toward lockout."""
        with self._rt.local.unit_of_work() as uow:
            try:
                self._login(uow.session, who.window_number, who.username, password)
            except LoginError:
                uow.commit()
                raise
            self._audit(uow.session, "session.resume", who.username, who.window_number)
            uow.commit()

    def record_lock(self, who: UserSession) -> None:
        with self._rt.local.unit_of_work() as uow:
            self._audit(uow.session, "session.lock", who.username, who.window_number)
            uow.commit()

    def unlock_user(self, who: UserSession, username: str) -> None:
        """A supervisor (or administrator) lifts a lockout before it expires."""
        if who.role is not Role.ADMIN:
            who.require(Permission.SUPERVISE)
        with self._rt.local.unit_of_work() as uow:
            throttle = uow.session.get(LoginThrottle, username)
            if throttle is None or throttle.locked_until is None:
                raise LoginError(_("用户 {u} 当前没有被锁定。").format(u=username))
            throttle.locked_until, throttle.failures = None, 0
            self._audit(
                uow.session, "login.unlocked", who.username, who.window_number, detail={"user": username}
            )
            uow.commit()

    def locked_users(self, who: UserSession) -> list[tuple[str, dt.datetime]]:
        if who.role is not Role.ADMIN:
            who.require(Permission.SUPERVISE)
        now = self._clock()
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > now))
            return [(r.username, r.locked_until) for r in rows if r.locked_until]

    def _audit(
        self,
        session: Session,
        action: str,
        username: str,
        window: int | None,
        user: User | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        append_audit(
            session,
            self._rt.device_id,
            action,
            actor_id=user.id if user else None,
            actor_name=username,
            window_number=window,
            target=username,
            detail=detail or {},
        )


def _locked_message(left: dt.timedelta) -> str:
    minutes = max(1, math.ceil(left.total_seconds() / 60))
    return _("连续输错密码次数过多，账号已锁定，请 {m} 分钟后再试，或联系值班负责人。").format(m=minutes)


def _hall_name(session: Session) -> str:
    return session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""
