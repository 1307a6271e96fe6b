"""Generated history for the demo hall: 30 days of queue tickets with their full history, the
cases taken in at the windows, the 好差评 ratings of those services (bad ones included, with
their rectifications, most of them followed up and closed) and a few 办不成事 cases in every
state, so that the monitor and the reports show something real on first start.

How a day is made (working days only, by the hall's calendar):

* Every staffed window (a demo clerk's seat) works 09:00–12:00 and 13:30–17:30, one applicant
  after the other: a call, 15–90 s until the applicant is at the counter, the service (log-normal
  around the category's mean service time), a short gap, the next call. Waits are log-normal
  (median about 7 minutes), longer in the morning peak; a ticket is issued its wait before its
  call (the kiosk opens at 08:50). About 4 % of the called applicants do not come (a recall, then
  过号); a few tickets are cancelled while waiting. Numbers run per category and day in issue order.
* A share of the services (by category) takes in a case of a catalogue matter of the category's
  departments: 受理 during the service, the promised completion date from the deadline engine,
  review and decision (approved, some refused by the supervisor) within the promise for most and
  after it for some, delivery a little later; recent cases are still undecided, a few of them past
  their promise. 即办 matters are completed on the spot.
* About half of the finished services are rated on the pad, QR code or phone right after the
  service (``service_ref`` = service day + ticket number, as the rating pad names them); long waits
  make bad ratings likelier. Bad ratings open their rectification as the service would.

Tickets go to the central store (where the queue lives) as the hall's past, in bulk and outside
its change log: a workstation registered later gets them with its first snapshot, and the reports
read them centrally. Cases, ratings, rectifications and 办不成事 cases are this workstation's own
changes: written in bulk with their outbox entries, they travel to the central store like any
other. Deterministic for a given seed and day; idempotent (a marker setting in the local store,
the generated tickets in the central one).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table, Uuid, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clerk_app.domain.catalogue import Catalogue, Matter
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.identifiers import mod11_2_check_char
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import Role
from clerk_app.services.complaints import Category, Complexity, Source, Status, registered_case
from clerk_app.services.intake_outcomes import case_number
from clerk_app.services.intake_rules import IntakeRules
from clerk_app.services.queue_rules import DEMO_CATEGORIES, demo_window_categories
from clerk_app.services.ratings import (
    CHINA,
    CLOSED,
    LEVELS,
    OPEN,
    Cause,
    Channel,
    Level,
    china_date,
    find_supervisor,
    load_settings,
    shared_calendar,
)
from clerk_app.store.base import Base, UtcDateTime, utcnow
from clerk_app.store.bulk import insert_rows
from clerk_app.store.models import OutboxEntry, Setting, User
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord
from clerk_app.store.models.queue import Ticket, TicketEvent, WindowCategory
from clerk_app.store.models.supervision import (
    ComplaintEvent,
    Rating,
    Rectification,
    RectificationEvent,
)
from clerk_app.store.uow import Store, jsonable

log = logging.getLogger(__name__)

#: the setting that marks the history as written (it travels: a second workstation skips it)
MARKER_KEY = "supervision.demo_history"
#: ``issued_by`` of the generated tickets
HISTORY_ISSUER = "demo-history"
#: ratings of the first generator (before tickets were generated) begin with this
LEGACY_PREFIX = "DEMO-"

LEVEL_WEIGHTS = (
    (Level.VERY_SATISFIED, 70),
    (Level.SATISFIED, 19),
    (Level.BASICALLY_SATISFIED, 7),
    (Level.DISSATISFIED, 3),
    (Level.VERY_DISSATISFIED, 1),
)
#: the departments (catalogue codes) whose matters each queue category takes in
CATEGORY_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "A": ("GAJ", "RSJ", "YBJ", "MZJ", "WJW", "JTJ"),
    "B": ("SCJG", "SCJG", "SWJ", "GAJ", "YH"),
    "C": ("BDC", "BDC", "ZJJ"),
    "D": ("RSJ", "YBJ"),
    "E": ("SWJ",),
    "F": (),
}
#: share of the services of each category that take in a case (the rest are enquiries,
#: collections, on-line matters helped at the counter …)
CASE_SHARE = {"A": 0.35, "B": 0.7, "C": 0.8, "D": 0.45, "E": 0.4, "F": 0.0}
MEAN_MINUTES = {code: minutes for code, _name, _description, minutes in DEMO_CATEGORIES}
BAD_COMMENTS = (
    "排队时间太长",
    "材料要求没有一次说清楚",
    "工作人员态度不耐烦",
    "系统故障，跑了两次",
    "窗口说明不清楚",
)
GOOD_COMMENTS = ("", "", "", "服务热情", "办理很快", "讲解清楚，一次办好")
REQUESTS = (
    ("公司注销需要的清税证明迟迟开不出来", Category.CROSS_DEPARTMENT, "SWJ"),
    ("房屋证明要求回原籍开具，无法提供", Category.MATERIALS, "BDC"),
    ("网上申报系统一直提示数据不一致", Category.SYSTEM, "SCJG"),
    ("政策文件没有明确规定，窗口说办不了", Category.POLICY, "RSJ"),
    ("在窗口等了很久没人处理", Category.SERVICE, "GAJ"),
    ("异地社保关系转移一直没有结果", Category.CROSS_DEPARTMENT, "RSJ"),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "桂英", "建华", "志强", "海燕", "晓东", "文博")  # fmt: skip
REFUSAL = "申请材料不符合法定形式，依法不予许可"
MORNING = (dt.time(9, 0), dt.time(12, 0))
AFTERNOON = (dt.time(13, 30), dt.time(17, 30))
KIOSK_OPENS = dt.time(8, 50)


def _weighted_level(rng: random.Random, long_wait: bool = False) -> Level:
    levels = [level for level, _weight in LEVEL_WEIGHTS]
    weights = [weight * (4 if long_wait and level.bad else 1) for level, weight in LEVEL_WEIGHTS]
    return rng.choices(levels, weights=weights)[0]


def _service_days(calendar: WorkCalendar, today: dt.date, days: int) -> list[dt.date]:
    return [d for d in (today - dt.timedelta(days=n) for n in range(days, 0, -1)) if calendar.is_workday(d)]


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    minutes = rng.choice([rng.randint(0, 179), rng.randint(270, 509)])  # 09:00–12:00, 13:30–17:30
    return dt.datetime.combine(day, dt.time(9), CHINA) + dt.timedelta(
        minutes=minutes, seconds=rng.randint(0, 59)
    )


def has_demo_history(store: Store) -> bool:
    with store.unit_of_work() as uow:
        session = uow.session
        if session.scalar(select(Setting.id).where(Setting.key == MARKER_KEY).limit(1)) is not None:
            return True
        legacy = session.scalar(
            select(Rating.id).where(Rating.service_ref.like(f"{LEGACY_PREFIX}%")).limit(1)
        )
        return legacy is not None


def _tickets_present(central: Store, first: dt.date, last: dt.date) -> bool:
    with central.unit_of_work(capture=False) as uow:
        found = uow.session.scalar(
            select(Ticket.id)
            .where(
                Ticket.issued_by == HISTORY_ISSUER,
                Ticket.service_day >= first,
                Ticket.service_day <= last,
            )
            .limit(1)
        )
        return found is not None


# --- rows in bulk ------------------------------------------------------------------------------


class _Ids:
    """UUIDv7 ids for many rows at once: the time of the batch in the first 48 bits and a counter
    from a random start in the 74 bits after the version and variant (RFC 9562, method 1), so
    that the ids of a batch are unique and ordered, at a fraction of the cost of one call each."""

    def __init__(self) -> None:
        self._time = int(dt.datetime.now(dt.UTC).timestamp() * 1000) & ((1 << 48) - 1)
        self._next = int.from_bytes(os.urandom(9)) >> 2 >> 32  # 42 random bits: room to count

    def __call__(self) -> uuid.UUID:
        self._next += 1
        high, low = self._next >> 62, self._next & ((1 << 62) - 1)
        return uuid.UUID(int=(self._time << 80) | (0x7 << 76) | (high << 64) | (0b10 << 62) | low)


def _payload_converter(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The row as ``row_payload`` gives it (JSON-ready values), with one converter per column
    chosen by its type instead of a type test per value."""
    converters: list[tuple[str, Callable[[Any], Any] | None]] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, Uuid):
            converters.append((column.key, str))
        elif isinstance(kind, DateTime | Date | UtcDateTime):
            converters.append((column.key, lambda value: value.isoformat()))
        elif isinstance(kind, JSON):
            converters.append((column.key, jsonable))
        else:
            converters.append((column.key, None))

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, fn in converters:
            value = row[key]
            out[key] = value if fn is None or value is None else fn(value)
        return out

    return convert


class _Bulk:
    """Rows of several models written with one INSERT (or COPY) per model; on a capturing
    store every synced row also gets the outbox entry the unit of work would have written."""

    def __init__(self, store: Store, *, capture: bool, ids: _Ids | None = None) -> None:
        self.store = store
        self.capture = capture
        self.ids = ids or _Ids()
        self.rows: dict[type[Base], list[dict[str, Any]]] = defaultdict(list)
        self._defaults: dict[type[Base], dict[str, Any]] = {}
        #: one stamp for the batch: its rows are made in one moment of this device's clock
        self.hlc = str(store.clock.now())

    def add(self, model: type[Base], **values: Any) -> dict[str, Any]:
        defaults = self._defaults.get(model)
        if defaults is None:
            defaults = self._defaults[model] = _column_defaults(model.__table__)  # type: ignore[arg-type]
        row = {
            **defaults,
            "id": self.ids(),
            "origin": self.store.device_id,
            "version": 1,
            "hlc": self.hlc,
            "deleted": False,
            **values,
        }
        self.rows[model].append(row)
        return row

    def write(self, session: Session, order: Iterable[type[Base]]) -> int:
        connection = session.connection()
        outbox: list[dict[str, Any]] = []
        written = 0
        for model in order:
            rows = self.rows.get(model, [])
            if not rows:
                continue
            table: Table = model.__table__  # type: ignore[assignment]
            if connection.dialect.name == "sqlite":
                _sqlite_insert(connection, table, rows)
            else:
                insert_rows(connection, table, rows, direct=False)
            written += len(rows)
            if self.capture:
                created = dt.datetime.now(dt.UTC)
                payload = _payload_converter(model.__table__)  # type: ignore[arg-type]
                outbox.extend(
                    {
                        "table_name": model.__tablename__,
                        "row_id": row["id"],
                        "op": "insert",
                        "base_version": 0,
                        "version": 1,
                        "hlc": row["hlc"],
                        "changed": [],
                        "payload": payload(row),
                        "created_at": created,
                    }
                    for row in rows
                )
        if outbox and connection.dialect.name == "sqlite":
            _sqlite_insert(connection, OutboxEntry.__table__, outbox)  # type: ignore[arg-type]
        elif outbox:
            session.execute(insert(OutboxEntry), outbox)
        return written


def _utc_text(value: dt.datetime) -> str:
    """A UTC column's value as SQLAlchemy stores it on SQLite (UTC, microseconds always)."""
    u = value.astimezone(dt.UTC)
    return f"{u:%Y-%m-%d %H:%M:%S}.{u.microsecond:06d}"


def _sqlite_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One ``executemany`` of driver-level rows: each column's value converted by the column
    type's own bind processor (the UTC timestamps by ``_utc_text``, the same text, faster)."""
    dialect = connection.dialect
    columns = list(rows[0])
    converters: list[Callable[[Any], Any] | None] = []
    for key in columns:
        kind = table.c[key].type
        if isinstance(kind, UtcDateTime):
            converters.append(_utc_text)
        else:
            converters.append(kind.dialect_impl(dialect).bind_processor(dialect))
    by_column = []
    for key, fn in zip(columns, converters, strict=True):
        raw = [row[key] for row in rows]
        by_column.append(raw if fn is None else [None if v is None else fn(v) for v in raw])
    values = list(zip(*by_column, strict=True))
    quote = dialect.identifier_preparer.quote
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(table.name), ", ".join(quote(c) for c in columns), ", ".join("?" for _ in columns)
    )
    connection.exec_driver_sql(statement, values)


def _column_defaults(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is None:
            out[column.key] = None
        elif default.is_scalar:
            out[column.key] = default.arg  # type: ignore[attr-defined]
        else:
            out[column.key] = default.arg(None)  # type: ignore[attr-defined]
    return out


# --- the simulated hall -----------------------------------------------------------------------


@dataclass(slots=True)
class _Seat:
    window: int
    clerk_id: uuid.UUID
    clerk_name: str
    categories: tuple[str, ...]


@dataclass(slots=True)
class _Service:
    """One generated ticket and what happened to it."""

    day: dt.date
    category: str
    issued: dt.datetime
    seat: _Seat | None = None
    called: dt.datetime | None = None
    recalled: dt.datetime | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    cancelled: dt.datetime | None = None
    state: str = "issued"
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # replaced by a v7 id of the batch
    number: str = ""
    seq: int = 0

    @property
    def wait(self) -> dt.timedelta:
        return (self.called or self.issued) - self.issued


def _at(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, CHINA)


def _wait_minutes(rng: random.Random, called: dt.datetime) -> float:
    local = called.astimezone(CHINA).time()
    peak = 1.5 if local < dt.time(10, 30) else 1.2 if dt.time(13, 30) <= local < dt.time(14, 30) else 1.0
    return min(75.0, max(0.3, rng.lognormvariate(math.log(7.0), 0.7) * peak))


def _service_minutes(rng: random.Random, category: str, scale: float) -> float:
    mean = MEAN_MINUTES.get(category, 10)
    return min(3.0 * mean, max(1.5, rng.lognormvariate(math.log(mean), 0.45))) * scale


def _simulate_day(
    rng: random.Random, day: dt.date, seats: Sequence[_Seat], scale: float, ids: _Ids
) -> list[_Service]:
    services: list[_Service] = []
    kiosk = _at(day, KIOSK_OPENS)
    for seat in seats:
        if seat.categories == ("F",):  # the 办不成事 window: a few applicants a day
            for _ in range(rng.randint(0, 3)):
                called = _moment(day, rng)
                wait = dt.timedelta(minutes=rng.uniform(0.5, 6))
                service = _Service(day, "F", max(kiosk, called - wait), seat, called)
                service.started = called + dt.timedelta(seconds=rng.randint(15, 60))
                service.finished = service.started + dt.timedelta(minutes=_service_minutes(rng, "F", scale))
                service.state = "done"
                services.append(service)
            continue
        for opens, closes in (MORNING, AFTERNOON):
            t = _at(day, opens) + dt.timedelta(seconds=rng.randint(0, 240))
            end = _at(day, closes) - dt.timedelta(minutes=4)
            pause_at = t + dt.timedelta(minutes=rng.randint(40, 150)) if rng.random() < 0.3 else None
            while t < end:
                if pause_at is not None and t >= pause_at:  # 暂停: back office, a break
                    t += dt.timedelta(minutes=rng.randint(8, 25))
                    pause_at = None
                    continue
                category = rng.choice(seat.categories) if rng.random() < 0.45 else seat.categories[0]
                wait = dt.timedelta(minutes=_wait_minutes(rng, t))
                issued = t - wait
                if issued < kiosk:
                    issued = kiosk + dt.timedelta(seconds=rng.randint(0, 600))
                    issued = min(issued, t - dt.timedelta(seconds=30))
                service = _Service(day, category, issued, seat, t)
                if rng.random() < 0.04:  # called, recalled, not there: 过号
                    service.recalled = t + dt.timedelta(seconds=rng.randint(60, 100))
                    service.finished = service.recalled + dt.timedelta(seconds=rng.randint(90, 180))
                    service.state = "no_show"
                    t = service.finished + dt.timedelta(seconds=rng.randint(10, 40))
                else:
                    service.started = t + dt.timedelta(seconds=rng.randint(15, 90))
                    minutes = _service_minutes(rng, category, scale)
                    service.finished = service.started + dt.timedelta(minutes=minutes)
                    service.state = "done"
                    t = service.finished + dt.timedelta(seconds=rng.randint(20, 120))
                services.append(service)
    codes = sorted({c for seat in seats for c in seat.categories if c != "F"}) or ["A"]
    for _ in range(rng.randint(0, 3)):  # taken, then given up while waiting
        issued = _moment(day, rng)
        service = _Service(day, rng.choice(codes), issued)
        service.cancelled = issued + dt.timedelta(minutes=rng.randint(10, 40))
        service.state = "cancelled"
        services.append(service)
    services.sort(key=lambda s: s.issued)
    counters: dict[str, int] = defaultdict(int)
    for service in services:
        counters[service.category] += 1
        service.seq = counters[service.category]
        service.id = ids()
        service.number = f"{service.category}{service.seq:03d}"
    return services


def _ticket_rows(bulk: _Bulk, services: Iterable[_Service]) -> None:
    for s in services:
        steps: list[tuple[str, str, str, dt.datetime, bool, str]] = [
            ("issue", "", "issued", s.issued, False, "")
        ]
        if s.state == "cancelled" and s.cancelled is not None:
            steps.append(("cancel", "issued", "cancelled", s.cancelled, False, "申请人放弃办理"))
        if s.called is not None:
            steps.append(("call", "issued", "called", s.called, True, ""))
        if s.recalled is not None:
            steps.append(("recall", "called", "called", s.recalled, True, ""))
        if s.state == "no_show" and s.finished is not None:
            steps.append(("no_show", "called", "no_show", s.finished, True, ""))
        if s.started is not None and s.finished is not None:
            steps.append(("start", "called", "serving", s.started, True, ""))
            steps.append(("finish", "serving", "done", s.finished, True, ""))
        seat = s.seat
        bulk.add(
            Ticket,
            id=s.id,
            version=len(steps),
            service_day=s.day,
            number=s.number,
            seq=s.seq,
            category=s.category,
            state=s.state,
            window_number=seat.window if seat else None,
            clerk_id=seat.clerk_id if seat else None,
            recall_count=1 if s.recalled else 0,
            issued_at=s.issued,
            called_at=s.recalled or s.called,
            started_at=s.started,
            finished_at=s.finished or s.cancelled,
            issued_by=HISTORY_ISSUER,
        )
        for version, (event, before, after, at, at_window, reason) in enumerate(steps, start=1):
            bulk.add(
                TicketEvent,
                ticket_id=s.id,
                event=event,
                from_state=before,
                to_state=after,
                window_number=seat.window if seat and at_window else None,
                clerk_id=seat.clerk_id if seat and at_window else None,
                at=at,
                reason=reason,
                detail={"number": s.number, "category": s.category, "version": version},
            )


# --- cases --------------------------------------------------------------------------------------


class _People:
    """Applicants: people with valid resident ID numbers, returning now and then."""

    def __init__(self, rng: random.Random, bulk: _Bulk) -> None:
        self.rng, self.bulk = rng, bulk
        self.known: list[dict[str, Any]] = []

    def next(self) -> dict[str, Any]:
        if self.known and self.rng.random() < 0.15:
            return self.rng.choice(self.known)
        rng = self.rng
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 50))
        first17 = f"150102{birth:%Y%m%d}{rng.randint(0, 999):03d}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        row = self.bulk.add(
            Applicant,
            kind="person",
            id_type="111",
            id_number=first17 + mod11_2_check_char(first17),
            name=name,
            phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
            address="呼和浩特市新城区（演示地址）",
            updated_at=_at(birth, dt.time(12)),
        )
        self.known.append(row)
        return row


class _Cases:
    def __init__(
        self,
        rng: random.Random,
        bulk: _Bulk,
        rules: IntakeRules,
        calendar: WorkCalendar,
        now: dt.datetime,
        supervisor: User,
        device_id: str,
    ) -> None:
        self.rng, self.bulk, self.rules, self.calendar = rng, bulk, rules, calendar
        self.now, self.supervisor, self.device_id = now, supervisor, device_id
        self.people = _People(rng, bulk)
        self.counters: dict[tuple[dt.date, int], int] = defaultdict(int)
        self._promised: dict[tuple[str, dt.date], tuple[dt.datetime | None, bool]] = {}

    def promised(self, matter: Matter, received: dt.datetime) -> tuple[dt.datetime | None, bool]:
        """The deadline engine's promise (a limit in whole days depends on the day only)."""
        if not matter.promised_limit.whole_days:
            return self.rules.promised([matter], received)
        key = (matter.implementation_code, received.astimezone(CHINA).date())
        if key not in self._promised:
            self._promised[key] = self.rules.promised([matter], received)
        return self._promised[key]

    def matter_for(self, category: str) -> Matter | None:
        departments = CATEGORY_DEPARTMENTS.get(category, ())
        if not departments:
            return None
        matters = self.rules.catalogue.matters_of(self.rng.choice(departments))
        return self.rng.choice(matters) if matters else None

    def _working_moment(self, day: dt.date) -> dt.datetime:
        while not self.calendar.is_workday(day):
            day += dt.timedelta(days=1)
        return _at(day, dt.time(9)) + dt.timedelta(minutes=self.rng.randint(0, 450))

    def take_in(self, s: _Service, matter: Matter) -> None:
        assert s.seat is not None and s.started is not None and s.finished is not None
        rng, seat = self.rng, s.seat
        received = s.started + (s.finished - s.started) * rng.uniform(0.5, 0.8)
        self.counters[(s.day, seat.window)] += 1
        number = case_number(s.day, seat.window, self.counters[(s.day, seat.window)], self.device_id)
        promised, provisional = self.promised(matter, received)
        clerk = (seat.clerk_id, seat.clerk_name)
        steps: list[tuple[str, str, str, dt.datetime, tuple[uuid.UUID, str], str]] = []
        decided: dt.datetime | None = None
        if matter.promised_limit.amount == 0:  # 即办件: completed during the service
            decided = s.finished - dt.timedelta(seconds=rng.randint(20, 60))
            steps.append(("complete_on_spot", "received", "approved", decided, clerk, ""))
            status = "approved"
        else:
            steps.append(("accept", "received", "accepted", received, clerk, ""))
            status = "accepted"
            review = self._working_moment(received.astimezone(CHINA).date() + dt.timedelta(days=1))
            if promised is not None and review > promised:
                review = received + dt.timedelta(minutes=rng.randint(10, 60))
            if review <= self.now:
                steps.append(("start_review", "accepted", "in_review", review, clerk, ""))
                status = "in_review"
                due = promised or review + dt.timedelta(days=3)
                if rng.random() < 0.07:  # decided after the promise
                    late = self.calendar.add_workdays(due.astimezone(CHINA).date(), rng.randint(1, 3))
                    decision = self._working_moment(late.value)
                else:
                    decision = review + (due - review) * rng.uniform(0.15, 0.95)
                if decision <= self.now:
                    decided = decision
                    if rng.random() < 0.05:
                        boss = (self.supervisor.id, self.supervisor.display_name)
                        steps.append(("refuse", "in_review", "refused", decision, boss, REFUSAL))
                        status = "refused"
                    else:
                        steps.append(("approve", "in_review", "approved", decision, clerk, ""))
                        status = "approved"
        if status == "approved" and decided is not None:
            handed = decided + dt.timedelta(hours=rng.randint(0, 50))
            if handed <= self.now:
                steps.append(("deliver", "approved", "delivered", handed, clerk, ""))
                status = "delivered"
        opening: dict[str, Any] = {"matters": [matter.implementation_code], "ticket": s.number,
                                   "ticket_id": str(s.id)}  # fmt: skip
        if promised is not None:
            opening |= {"promised_due": promised.isoformat(), "provisional": provisional}
        applicant = self.people.next()
        row = self.bulk.add(
            Case,
            case_number=number,
            applicant_id=applicant["id"],
            matter_codes=[matter.implementation_code],
            status=status,
            received_at=received,
            accepted_at=received,
            promised_due=promised,
            promised_date=promised.date() if promised else None,
            provisional=provisional,
            decided_at=decided,
            clerk_id=seat.clerk_id,
            clerk_name=seat.clerk_name,
            window_number=seat.window,
            ticket_number=s.number,
            reason=REFUSAL if status == "refused" else "",
        )
        for event, before, after, at, (actor_id, actor_name), reason in steps:
            self.bulk.add(
                CaseEventRecord,
                case_id=row["id"],
                event=event,
                from_state=before,
                to_state=after,
                at=at,
                actor_id=actor_id,
                actor_name=actor_name,
                window_number=seat.window,
                reason=reason,
                detail=opening if event in ("accept", "complete_on_spot") else {},
            )


# --- the whole history --------------------------------------------------------------------------


def _seats(clerks: Sequence[User], windows: int, categories: dict[int, tuple[str, ...]]) -> list[_Seat]:
    seats = []
    for index, clerk in enumerate(clerks):
        window = 1 + (index * 5) % windows
        served = categories.get(window) or demo_window_categories(window)
        seats.append(_Seat(window, clerk.id, clerk.display_name, served))
    return seats


def _window_categories(central: Store | None) -> dict[int, tuple[str, ...]]:
    if central is None:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    with central.unit_of_work(capture=False) as uow:
        for number, code in uow.session.execute(
            select(WindowCategory.window_number, WindowCategory.category_code)
            .where(~WindowCategory.deleted)
            .order_by(WindowCategory.window_number, WindowCategory.category_code)
        ):
            out[number].append(code)
    return {number: tuple(codes) for number, codes in out.items()}


def seed_supervision_history(
    store: Store,
    *,
    central: Store | None = None,
    now: dt.datetime | None = None,
    days: int = 30,
    rated_share: float = 0.55,
    complaints_per_day: float = 0.5,
    service_scale: float = 1.0,
    windows: int = 24,
    seed: int = 20261128,
    calendar: WorkCalendar | None = None,
    catalogue: Catalogue | None = None,
) -> int:
    """Generate the history unless it is there. Returns the number of ratings written.

    ``store`` is the workstation's local store; ``central`` the central store, which gets the
    tickets (without it the cases and ratings still name the generated tickets, which are not
    written). ``rated_share`` of the finished services are rated; ``service_scale`` shortens or
    lengthens every service (a busier hall for the benchmark)."""
    if has_demo_history(store):
        return 0
    rng = random.Random(seed)
    now = now or utcnow()
    calendar = calendar or shared_calendar()
    rules = IntakeRules(catalogue or load_demo_catalogue(), calendar)
    today = china_date(now)
    service_days = _service_days(calendar, today, days)
    try:
        served_categories = _window_categories(central)
    except OperationalError:  # central store unreachable: no tickets this time
        central, served_categories = None, {}
    with store.unit_of_work() as uow:  # read, and let go (one SQLite file may hold both stores)
        session = uow.session
        settings = load_settings(session)
        clerks: Sequence[User] = session.scalars(
            select(User).where(User.role == Role.CLERK.value, ~User.deleted).order_by(User.staff_no)
        ).all()
        supervisor = find_supervisor(session, settings)
        session.expunge_all()
    if not clerks or supervisor is None or not service_days:
        return 0
    ids = _Ids()
    local = _Bulk(store, capture=True, ids=ids)
    tickets = _Bulk(central, capture=False, ids=ids) if central is not None else None
    cases = _Cases(rng, local, rules, calendar, now, supervisor, store.device_id)
    seats = _seats(clerks, windows, served_categories)
    bad: list[dict[str, Any]] = []
    complaint_days: list[dt.date] = []
    for day_index, day in enumerate(service_days):
        services = _simulate_day(rng, day, seats, service_scale, ids)
        if tickets is not None:
            _ticket_rows(tickets, services)
        for s in services:
            if s.state != "done" or s.seat is None or s.finished is None:
                continue
            matter = cases.matter_for(s.category)
            if matter is not None and rng.random() < CASE_SHARE.get(s.category, 0):
                cases.take_in(s, matter)
            if rng.random() < rated_share:
                rating = _rate(local, rng, s, matter)
                if Level(rating["level"]).bad:
                    bad.append(rating)
        if rng.random() < complaints_per_day or day_index == 0:
            complaint_days.append(day)
    for rating in bad:
        _rectification(local, rng, calendar, rating, supervisor, settings.rectification_days, today)
    if tickets is not None:
        _write_tickets(tickets, service_days[0], service_days[-1])
    with store.unit_of_work() as uow:
        session = uow.session
        for day in complaint_days:
            _complaint(session, rng, calendar, rules.catalogue, day, supervisor, windows, today)
        local.write(session, (Applicant, Case, CaseEventRecord, Rating, Rectification, RectificationEvent))
        _open_complaints(session, rng, now, supervisor)
        session.add(
            Setting(
                key=MARKER_KEY,
                value={"seed": seed, "days": days, "through": service_days[-1].isoformat()},
            )
        )
        uow.commit()
    return len(local.rows[Rating])


def _write_tickets(tickets: _Bulk, first: dt.date, last: dt.date) -> None:
    """The tickets into the central store, unless an earlier start wrote them already."""
    try:
        if not _tickets_present(tickets.store, first, last):
            with tickets.store.unit_of_work(capture=False) as target:
                tickets.write(target.session, (Ticket, TicketEvent))
                target.commit()
    except OperationalError as exc:  # gone meanwhile: the cases and ratings still stand
        log.warning("demo tickets not written to the central store: %s", type(exc).__name__)


def _rate(bulk: _Bulk, rng: random.Random, s: _Service, matter: Matter | None) -> dict[str, Any]:
    """The applicant's rating of a finished service, given on leaving the window."""
    assert s.seat is not None and s.finished is not None
    level = _weighted_level(rng, long_wait=s.wait > dt.timedelta(minutes=30))
    return bulk.add(
        Rating,
        service_ref=f"{s.day:%Y%m%d}/{s.number}",
        level=level.value,
        overall=rng.choice([None, 5 - LEVELS.index(level)]),
        comment=rng.choice(BAD_COMMENTS) if level.bad else rng.choice(GOOD_COMMENTS),
        channel=rng.choice([Channel.PAD, Channel.PAD, Channel.PAD, Channel.QR, Channel.PHONE]).value,
        clerk_id=s.seat.clerk_id,
        clerk_name=s.seat.clerk_name,
        window_number=s.seat.window,
        matter_name=matter.name if matter is not None else "",
        applicant_phone=f"139{rng.randint(10_000_000, 99_999_999)}",
        rated_at=s.finished + dt.timedelta(seconds=rng.randint(5, 60)),
    )


def _rectification(
    bulk: _Bulk,
    rng: random.Random,
    calendar: WorkCalendar,
    rating: dict[str, Any],
    supervisor: User,
    days: int,
    today: dt.date,
) -> None:
    """The rectification of a bad rating as it stands today (written as one new row), with its
    steps: opened, then after a day the follow-up call, and for most the cause, action,
    re-rating and closing."""
    rated_at: dt.datetime = rating["rated_at"]
    due = calendar.add_workdays(china_date(rated_at), days)
    row = bulk.add(
        Rectification,
        rating_id=rating["id"],
        level=rating["level"],
        clerk_id=rating["clerk_id"],
        clerk_name=rating["clerk_name"],
        window_number=rating["window_number"],
        assignee_id=supervisor.id,
        assignee_name=supervisor.display_name,
        status=OPEN,
        opened_at=rated_at,
        due_date=due.value,
        due_provisional=due.provisional,
    )
    events: list[tuple[str, dt.datetime, bool | None, str]] = [("opened", rated_at, None, rating["comment"])]
    age = (today - china_date(rated_at)).days
    if age >= 2:
        call = rated_at + dt.timedelta(days=1, hours=rng.randint(0, 5))
        reached = rng.random() < 0.85
        row["follow_ups"], row["reached"] = 1, reached
        said = "已致歉并说明情况，申请人表示理解" if reached else "电话无人接听"
        events.append(("follow_up", call, reached, said))
        if reached and age >= 5 and rng.random() < 0.9:
            cause = rng.choice(list(Cause))
            action = "已对窗口人员进行提醒和业务培训"
            re_rating = rng.choice([Level.SATISFIED, Level.BASICALLY_SATISFIED, Level.VERY_SATISFIED]).value
            closed = call + dt.timedelta(days=rng.randint(1, 3))
            row.update(cause_category=cause.value, action_taken=action, re_rating=re_rating,
                       status=CLOSED, closed_at=closed, closed_by=supervisor.display_name)  # fmt: skip
            events += [
                ("rectified", call + dt.timedelta(hours=1), None, action),
                ("re_rated", closed - dt.timedelta(hours=1), None, re_rating),
                ("closed", closed, None, ""),
            ]
    for kind, at, reached_flag, text in events:
        bulk.add(
            RectificationEvent,
            rectification_id=row["id"],
            kind=kind,
            at=at,
            actor_name="" if kind == "opened" else supervisor.display_name,
            reached=reached_flag,
            text=text,
            detail={},
        )


def _complaint(
    session: Session,
    rng: random.Random,
    calendar: WorkCalendar,
    catalogue: Catalogue,
    day: dt.date,
    supervisor: User,
    windows: int,
    today: dt.date,
) -> None:
    request, category, department_code = rng.choice(REQUESTS)
    department = catalogue.department(department_code).name
    matters = catalogue.matters_of(department_code)
    registered = _moment(day, rng)
    source = rng.choice([Source.WINDOW, Source.WINDOW, Source.PAD, Source.HOTLINE])
    row = registered_case(
        number=f"BC{day:%Y%m%d}-{rng.getrandbits(32):08X}",
        source=source.value,
        hotline_ref=f"12345-{day:%Y%m%d}-{rng.randint(1, 999):04d}" if source is Source.HOTLINE else "",
        applicant_name=rng.choice(["刘芳", "张伟", "王磊", "李娜", "陈晨", "赵丽"]),
        applicant_phone=f"138{rng.randint(10_000_000, 99_999_999)}",
        request=request,
        window_number=rng.randint(1, windows),
        department=department,
        matter_name=rng.choice(matters).name if matters else "",
        category=category.value,
        registered_at=registered,
        registered_by=supervisor.display_name,
    )
    session.add(row)
    session.flush()
    steps: list[tuple[str, dt.datetime, str, str]] = [
        ("registered", registered, Status.REGISTERED.value, request)
    ]
    first = registered + dt.timedelta(minutes=rng.choice([6, 9, 12, 15, 18, 26]))
    row.first_action_at = first
    if rng.random() < 0.1:
        row.status, row.reported = Status.NEGATIVE.value, True
        row.negative_reason = "依据现行规定不能办理，已说明政策依据和其他办理途径"
        steps.append(("negative", first, row.status, row.negative_reason))
    else:
        complexity = rng.choice(
            [Complexity.SIMPLE, Complexity.SIMPLE, Complexity.COMPLEX, Complexity.SPECIAL]
        )
        days = {Complexity.COMPLEX: 5, Complexity.SPECIAL: 10}.get(complexity)
        row.complexity = complexity.value
        row.handover_department = department
        row.handed_over_at = first
        row.due_date = calendar.add_workdays(day, days).value if days else day
        row.status = Status.HANDED_OVER.value
        steps.append(("handed_over", first, row.status, row.handover_department))
        if row.due_date < today or rng.random() < 0.6:
            resolved = first + dt.timedelta(hours=rng.randint(1, 30))
            row.status, row.resolution, row.resolved_at = (
                Status.RESOLVED.value,
                "已协调承办部门办结",
                resolved,
            )
            steps.append(("resolved", resolved, row.status, row.resolution))
    if row.status != Status.HANDED_OVER.value and (today - day).days >= 2:
        told = first + dt.timedelta(days=1)
        row.feedback, row.feedback_at = "已电话告知申请人办理结果", told
        steps.append(("feedback", told, row.status, row.feedback))
        row.status, row.closed_at, row.closed_by = Status.CLOSED.value, told, supervisor.display_name
        steps.append(("closed", told, row.status, ""))
    for kind, at, status, text in steps:
        session.add(
            ComplaintEvent(
                case_id=row.id,
                kind=kind,
                at=at,
                actor_name=supervisor.display_name,
                status=status,
                text=text,
                detail={},
            )
        )


def _open_complaints(session: Session, rng: random.Random, now: dt.datetime, supervisor: User) -> None:
    """Two cases registered a little while ago and not yet acted on: their timers run."""
    for minutes, (request, category, _department) in ((8, REQUESTS[1]), (27, REQUESTS[4])):
        registered = now - dt.timedelta(minutes=minutes)
        row = registered_case(
            number=f"BC{china_date(registered):%Y%m%d}-{rng.getrandbits(32):08X}",
            source=Source.WINDOW.value,
            hotline_ref="",
            applicant_name=rng.choice(["周杰", "吴敏"]),
            applicant_phone=f"137{rng.randint(10_000_000, 99_999_999)}",
            request=request,
            window_number=rng.randint(1, 24),
            department="",
            category=category.value,
            registered_at=registered,
            registered_by=supervisor.display_name,
        )
        session.add(row)
        session.flush()
        session.add(
            ComplaintEvent(
                case_id=row.id,
                kind="registered",
                at=registered,
                actor_name=supervisor.display_name,
                status=row.status,
                text=request,
                detail={},
            )
        )
