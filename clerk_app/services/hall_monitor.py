"""The queue part of the supervisor's hall monitor, read from the central store (where the live
queue is): waiting tickets and the longest wait per category, and each window's state — who
works there, open or paused (and why) or closed, the ticket it is calling or serving and since
when. Alerts when a category's longest wait exceeds the hall's alert time or when fewer windows
are open than the hall's minimum (both supervision settings).

A window is offline (离线) when a clerk is signed in to it (open or paused) but no workstation
registered for that window has been heard from for longer than the hall's offline limit
(``offline_seconds``, default 120 s). The heartbeat is the central store's record of each
workstation (``sync_devices.last_seen_at``), renewed by every sync round (every 30 s) and joined
to the window through the device registry (``devices.window_number``). A window with no
registered workstation has no heartbeat and is not judged.

An unreachable central store is not an error here: the snapshot says so and the monitor shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.queue import PAUSE_REASONS, CategoryInfo, QueueService
from clerk_app.services.queue_rules import service_day
from clerk_app.services.ratings import load_settings
from clerk_app.services.runtime import Runtime
from clerk_app.store.base import utcnow
from clerk_app.store.models import Device, SyncDevice, Window
from clerk_app.store.models.queue import ACTIVE_STATES, Ticket, WindowState

STATUS_LABELS = {"open": N_("受理中"), "paused": N_("暂停"), "closed": N_("未开放"), "offline": N_("离线")}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def pause_label(reason: str) -> str:
    return _(PAUSE_REASONS[reason]) if reason in PAUSE_REASONS else reason


@dataclass(frozen=True, slots=True)
class WindowStatus:
    number: int
    status: str  # open | paused | closed
    pause_reason: str
    clerk_name: str
    since: dt.datetime | None
    ticket_number: str
    ticket_state: str
    ticket_since: dt.datetime | None
    #: last heartbeat of the window's workstation (None: none registered or never heard from)
    last_seen: dt.datetime | None = None
    #: how long it has been silent, when that is past the offline limit (None: not offline)
    offline_for: dt.timedelta | None = None

    @property
    def offline(self) -> bool:
        return self.offline_for is not None


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    at: dt.datetime
    reachable: bool
    categories: tuple[CategoryInfo, ...]
    windows: tuple[WindowStatus, ...]
    wait_alert_minutes: int
    min_open_windows: int

    @property
    def open_windows(self) -> int:
        return sum(1 for w in self.windows if w.status == "open")

    @property
    def waiting(self) -> int:
        return sum(c.waiting for c in self.categories)

    @property
    def long_waits(self) -> tuple[CategoryInfo, ...]:
        limit = dt.timedelta(minutes=self.wait_alert_minutes)
        return tuple(c for c in self.categories if c.waiting and c.longest_wait > limit)

    @property
    def offline_windows(self) -> tuple[WindowStatus, ...]:
        return tuple(w for w in self.windows if w.offline)

    @property
    def too_few_open(self) -> bool:
        return self.reachable and self.open_windows < self.min_open_windows


def queue_snapshot(
    runtime: Runtime, who: UserSession, clock: Callable[[], dt.datetime] = utcnow
) -> QueueSnapshot:
    who.require(Permission.SUPERVISE)
    now = clock()
    with runtime.local.unit_of_work() as uow:
        settings = load_settings(uow.session)
    try:
        categories = tuple(QueueService(runtime.central, clock=lambda: now).categories())
        windows = _windows(runtime, now, dt.timedelta(seconds=settings.offline_seconds))
    except OperationalError:
        return QueueSnapshot(now, False, (), (), settings.wait_alert_minutes, settings.min_open_windows)
    return QueueSnapshot(
        now, True, categories, windows, settings.wait_alert_minutes, settings.min_open_windows
    )


def _heartbeats(session: Session) -> dict[int, dt.datetime]:
    """The latest heartbeat of the workstations registered for each window."""
    rows = session.execute(
        select(Device.window_number, func.max(SyncDevice.last_seen_at))
        .join(SyncDevice, SyncDevice.device_id == Device.device_key)
        .where(~Device.deleted, Device.window_number.is_not(None), SyncDevice.last_seen_at.is_not(None))
        .group_by(Device.window_number)
    )
    return {number: seen for number, seen in rows if number is not None and seen is not None}


def _windows(runtime: Runtime, now: dt.datetime, offline_after: dt.timedelta) -> tuple[WindowStatus, ...]:
    with runtime.central.unit_of_work() as uow:
        session = uow.session
        numbers = session.scalars(
            select(Window.number).where(Window.active, ~Window.deleted).order_by(Window.number)
        ).all()
        states = {s.window_number: s for s in session.scalars(select(WindowState))}
        heartbeats = _heartbeats(session)
        active = {
            t.window_number: t
            for t in session.scalars(
                select(Ticket).where(
                    Ticket.service_day == service_day(now),
                    Ticket.state.in_(ACTIVE_STATES),
                    Ticket.window_number.is_not(None),
                    ~Ticket.offline,
                )
            )
        }
        out = []
        for number in sorted(set(numbers) | set(states)):
            state = states.get(number)
            ticket = active.get(number)
            ticket_since = None
            if ticket is not None:
                ticket_since = ticket.started_at if ticket.state == "serving" else ticket.called_at
            seen = _aware(heartbeats.get(number))
            silent = now - seen if seen is not None else None
            staffed = state is not None and state.status != "closed"
            offline_for = silent if staffed and silent is not None and silent > offline_after else None
            out.append(
                WindowStatus(
                    number,
                    state.status if state else "closed",
                    state.pause_reason if state else "",
                    state.clerk_name if state and state.status != "closed" else "",
                    _aware(state.since) if state else None,
                    ticket.number if ticket else "",
                    ticket.state if ticket else "",
                    _aware(ticket_since),
                    seen,
                    offline_for,
                )
            )
        return tuple(out)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
