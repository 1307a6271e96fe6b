"""The offline local queue and its numbers: a window's block letter reserved centrally for the
day, or the device's code (see ``OfflineMixin``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.queue_base import _LOCK_RETRIES, LOCAL_BLOCK_KEY, LOCAL_CATEGORY, QueueBase
from clerk_app.services.queue_rules import (
    WAITING_STATES,
    service_day,
)
from clerk_app.services.queue_views import (
    IssuedTicket,
    T,
    _is_locked,
    _window_of,
    format_number,
    view,
)
from clerk_app.store.models.queue import (
    Ticket,
)

log = logging.getLogger("clerk.queue")


class OfflineMixin(QueueBase):
    """The offline local queue's numbers, part of ``QueueService``."""

    # Two workstations may be offline at once with the same window number (a spare machine set up
    # for window 7, a second clerk's laptop): their local numbers must still differ, or the
    # second to reach the central store would be refused there (numbers are unique per day).
    # While online, each workstation reserves from the central store a block letter for the day
    # and its window (07A-001 …, the next machine 07B-001 …); a workstation offline since the
    # start of the day uses a two-character code of its device id instead (07K3-001 …).

    def reserve_local_block(self, who: UserSession) -> str:
        """Central store: hand this window today's next block letter for its offline numbers."""
        who.require(Permission.SERVE)
        if self._offline:
            raise ValueError("blocks are reserved on the central store")
        window = _window_of(who)
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._store.unit_of_work() as uow:
                    seq = self._next_seq(uow, service_day(self._clock()), f"B{window:02d}")
                    uow.commit()
                    return block_letters(seq)
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def local_block(self, who: UserSession) -> str | None:
        """Local store: today's block letter of this window, if one was reserved while online."""
        from clerk_app.store.state import get_state

        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            held = get_state(uow.session, LOCAL_BLOCK_KEY) or {}
        mine = held.get(str(window))
        if mine and mine.get("day") == service_day(self._clock()).isoformat():
            return str(mine["block"])
        return None

    def keep_local_block(self, who: UserSession, block: str) -> None:
        """Local store: remember today's block letter of this window."""
        from clerk_app.store.state import get_state, put_state

        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            held = dict(get_state(uow.session, LOCAL_BLOCK_KEY) or {})
            held[str(window)] = {"day": service_day(self._clock()).isoformat(), "block": block}
            put_state(uow.session, LOCAL_BLOCK_KEY, held)
            uow.commit()

    def local_prefix(self, who: UserSession) -> str:
        """``07A-`` with today's reserved block, else ``07K3-`` from this device's id."""
        window = _window_of(who)
        block = self.local_block(who)
        return f"{window:02d}{block or device_code(self._store.device_id)}-"

    def issue_local(self, who: UserSession) -> IssuedTicket:
        """Offline: the clerk issues a ticket of this window's own queue (``07A-001``)."""
        who.require(Permission.SERVE)
        if not self._offline:
            raise ValueError("local tickets are issued by the offline queue only")
        window = _window_of(who)
        prefix = self.local_prefix(who)
        now = self._clock()
        with self._store.unit_of_work() as uow:
            day = service_day(now)
            seq = self._next_seq(uow, day, prefix)
            ticket = Ticket(
                service_day=day, number=format_number(prefix, seq), seq=seq, category=LOCAL_CATEGORY,
                state="issued", routed_window=window, routed_at=now, issued_at=now, offline=True,
                issued_by=who.username,
            )  # fmt: skip
            uow.session.add(ticket)
            uow.session.flush()
            self._event(uow, ticket, "issue", "", "issued", who, window, now)
            ahead = uow.session.scalar(
                select(func.count()).select_from(T).where(
                    T.c.service_day == day, T.c.state.in_(WAITING_STATES), T.c.offline.is_(True),
                    T.c.routed_window == window, T.c.id != ticket.id,
                )
            )  # fmt: skip
            uow.commit()
            return IssuedTicket(
                view(ticket), _("本窗口临时号"), int(ahead or 0), dt.timedelta(0), who.hall_name, window
            )


def block_letters(n: int) -> str:
    """1 → ``A`` … 26 → ``Z``, 27 → ``AA``: the n-th offline block of a window and day."""
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


#: letters and digits that cannot be mistaken for one another (no I, O, 0, 1)
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_CODE_DIGITS = "23456789"


def device_code(device_id: str) -> str:
    """A letter and a digit from this device's id (``K3``): the offline prefix of a workstation
    that could not reserve a block today. Never all letters, so never equal to a block."""
    digest = hashlib.sha256(device_id.encode()).digest()
    return _CODE_LETTERS[digest[0] % len(_CODE_LETTERS)] + _CODE_DIGITS[digest[1] % len(_CODE_DIGITS)]


def prepare_offline(central: OfflineMixin, local: OfflineMixin, who: UserSession) -> str:
    """While online: make sure this workstation holds today's offline block for its window
    (reserved once per day and window; a later call only reads it). Returns the block letter."""
    held = local.local_block(who)
    if held is not None:
        return held
    block = central.reserve_local_block(who)
    local.keep_local_block(who, block)
    return block
