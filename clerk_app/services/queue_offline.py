"""The offline local queue and its numbers: a window's block letter reserved centrally for the
day, or the device's code numbered centrally once (see ``OfflineMixin``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
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
    # and its window (07A-001 …, the next machine 07B-001 …). A workstation offline since the
    # start of the day uses its device code instead (07E5-001 …): the central store numbers each
    # workstation once, from a counter that is never reset, so two machines never hold the same
    # code; the code carries a check letter. Only a store that never reached its central store
    # (nothing it issues can meet another machine's numbers there) falls back to a code made from
    # its device id, shaped so that it never equals a numbered one (07KM3-001).

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

    def reserve_device_code(self, who: UserSession) -> str:
        """Central store: number the calling workstation, once and for good (the next value of
        a counter that is never reset), and give its offline code (``device_code_of``)."""
        who.require(Permission.SERVE)
        if self._offline:
            raise ValueError("device codes are numbered on the central store")
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._store.unit_of_work() as uow:
                    number = self._next_seq(uow, *DEVICE_COUNTER)
                    uow.commit()
                log.info("device %s numbered %d for its offline tickets", self._store.device_id, number)
                return device_code_of(number)
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def central_identity(self) -> str:
        """Which central store this is (its database, not the account used): a code numbered by
        one central store says nothing of the numbers of another."""
        url = self._store.engine.url
        return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"

    def local_device_code(self, central: str | None = None) -> str | None:
        """Local store: this workstation's centrally numbered code, if it has one (kept with the
        device id it was given to, and its check letter checked); with ``central``, only a code
        that central store gave."""
        from clerk_app.store.state import get_state

        with self._store.unit_of_work() as uow:
            held = get_state(uow.session, DEVICE_CODE_KEY) or {}
        code = str(held.get("code", ""))
        if held.get("device") != self._store.device_id or device_number(code) is None:
            return None
        if central is not None and held.get("central") != central:
            return None
        return code

    def keep_device_code(self, code: str, central: str = "") -> None:
        """Local store: remember the code the central store ``central`` gave this workstation."""
        from clerk_app.store.state import put_state

        if device_number(code) is None:
            raise ValueError(f"not a device code: {code!r}")
        with self._store.unit_of_work() as uow:
            held = {"device": self._store.device_id, "code": code, "central": central}
            put_state(uow.session, DEVICE_CODE_KEY, held)
            uow.commit()

    def local_prefix(self, who: UserSession) -> str:
        """``07A-`` with today's reserved block, else ``07E5-`` with this workstation's numbered
        code, else (never connected) ``07KM3-`` from its device id."""
        window = _window_of(who)
        code = self.local_block(who) or self.local_device_code() or device_code(self._store.device_id)
        return f"{window:02d}{code}-"

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
#: the local store's record of this workstation's numbered code
DEVICE_CODE_KEY = "queue.device_code"
#: the central counter that numbers workstations: a row no service day ever uses
DEVICE_COUNTER = (dt.date(2000, 1, 1), "DEVICE")
#: a check letter and at most four digits: ``07`` + code + ``-`` fits the 8-character counter prefix
_MAX_DIGITS = 4
MAX_DEVICES = sum(len(_CODE_DIGITS) ** k for k in range(1, _MAX_DIGITS + 1))  # 4680
#: the check letter is the number modulo this prime: one wrong digit, or two neighbours swapped,
#: always changes it (the digits' weights 8**i and 7 * 8**i share no factor with 23)
_CHECK_MODULUS = 23


def device_code_of(number: int) -> str:
    """The offline code of the ``number``-th workstation (1 → ``B2``): a check letter, then the
    number in bijective base 8 written with the digits 2-9. A letter then digits only: never all
    letters like a block, never two letters like the fallback of ``device_code``."""
    if not 1 <= number <= MAX_DEVICES:
        raise UserError(_("工作站编号已用完，请联系管理员。"))
    digits = ""
    n = number
    while n > 0:
        n, rest = divmod(n - 1, len(_CODE_DIGITS))
        digits = _CODE_DIGITS[rest] + digits
    return _CODE_LETTERS[number % _CHECK_MODULUS] + digits


def device_number(code: str) -> int | None:
    """The workstation number of a code made by ``device_code_of``; None when it is not one (a
    wrong shape or check letter)."""
    if not 2 <= len(code) <= _MAX_DIGITS + 1 or code[0] not in _CODE_LETTERS:
        return None
    number = 0
    for ch in code[1:]:
        if ch not in _CODE_DIGITS:
            return None
        number = number * len(_CODE_DIGITS) + _CODE_DIGITS.index(ch) + 1
    if _CODE_LETTERS[number % _CHECK_MODULUS] != code[0]:
        return None
    return number


def device_code(device_id: str) -> str:
    """Two letters and a digit from this device's id (``KM3``): the offline code of a store that
    was never numbered by a central store. Not unique between machines (that is what the central
    number is for), but never equal to a numbered code or a block."""
    digest = hashlib.sha256(device_id.encode()).digest()
    letters = "".join(_CODE_LETTERS[b % len(_CODE_LETTERS)] for b in digest[:2])
    return letters + _CODE_DIGITS[digest[2] % len(_CODE_DIGITS)]


def prepare_offline(central: OfflineMixin, local: OfflineMixin, who: UserSession) -> str:
    """While online: make sure this workstation holds today's offline block for its window
    (reserved once per day and window; a later call only reads it), and its numbered device
    code (once for each central store it works with). Returns the block letter."""
    where = central.central_identity()
    if local.local_device_code(where) is None:
        local.keep_device_code(central.reserve_device_code(who), where)
    held = local.local_block(who)
    if held is not None:
        return held
    block = central.reserve_local_block(who)
    local.keep_local_block(who, block)
    return block
