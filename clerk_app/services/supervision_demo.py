"""Generated supervision history for the demo hall: 30 days of ratings (bad ones included, with
their rectifications, most of them followed up and closed) and a few 办不成事 cases in every state,
so that the monitor and the reports show something real on first start.

Written in one unit of work as this workstation's own changes (they travel to the central store
like any other), with the same rules as the services: levels by name, one rating per service,
rectifications due on working days, events for every step. Deterministic for a given seed.
Ticket history is the queue's and is not generated here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import Role
from clerk_app.services.complaints import Category, Complexity, Source, Status, registered_case
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
from clerk_app.store.base import utcnow
from clerk_app.store.models import User
from clerk_app.store.models.supervision import (
    ComplaintEvent,
    Rating,
    Rectification,
    RectificationEvent,
)
from clerk_app.store.uow import Store

DEMO_PREFIX = "DEMO-"
LEVEL_WEIGHTS = (
    (Level.VERY_SATISFIED, 70),
    (Level.SATISFIED, 19),
    (Level.BASICALLY_SATISFIED, 7),
    (Level.DISSATISFIED, 3),
    (Level.VERY_DISSATISFIED, 1),
)
MATTERS = (
    "居民身份证换领",
    "营业执照变更登记",
    "社会保障卡补办",
    "不动产登记资料查询",
    "个体工商户设立登记",
    "城乡居民医保参保登记",
    "道路运输从业资格证换证",
    "食品经营许可证新办",
)
BAD_COMMENTS = (
    "排队时间太长",
    "材料要求没有一次说清楚",
    "工作人员态度不耐烦",
    "系统故障，跑了两次",
    "窗口说明不清楚",
)
GOOD_COMMENTS = ("", "", "", "服务热情", "办理很快", "讲解清楚，一次办好")
REQUESTS = (
    ("公司注销需要的清税证明迟迟开不出来", Category.CROSS_DEPARTMENT),
    ("房屋证明要求回原籍开具，无法提供", Category.MATERIALS),
    ("网上申报系统一直提示数据不一致", Category.SYSTEM),
    ("政策文件没有明确规定，窗口说办不了", Category.POLICY),
    ("在窗口等了很久没人处理", Category.SERVICE),
    ("异地社保关系转移一直没有结果", Category.CROSS_DEPARTMENT),
)
DEPARTMENTS = ("市场监督管理局", "税务局", "不动产登记中心", "人力资源和社会保障局", "公安局")


def _weighted_level(rng: random.Random) -> Level:
    levels = [level for level, _weight in LEVEL_WEIGHTS]
    return rng.choices(levels, weights=[weight for _level, weight in LEVEL_WEIGHTS])[0]


def _service_days(calendar: WorkCalendar, today: dt.date, days: int) -> list[dt.date]:
    return [d for d in (today - dt.timedelta(days=n) for n in range(days, 0, -1)) if calendar.is_workday(d)]


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    minutes = rng.choice([rng.randint(0, 179), rng.randint(270, 509)])  # 09:00–12:00, 13:30–17:30
    return dt.datetime.combine(day, dt.time(9), CHINA) + dt.timedelta(
        minutes=minutes, seconds=rng.randint(0, 59)
    )


def has_demo_history(store: Store) -> bool:
    with store.unit_of_work() as uow:
        found = uow.session.scalar(
            select(Rating.id).where(Rating.service_ref.like(f"{DEMO_PREFIX}%")).limit(1)
        )
        return found is not None


def seed_supervision_history(
    store: Store,
    *,
    now: dt.datetime | None = None,
    days: int = 30,
    ratings_per_day: int = 90,
    complaints_per_day: float = 0.5,
    windows: int = 24,
    seed: int = 20261128,
    calendar: WorkCalendar | None = None,
) -> int:
    """Generate the history unless it is there. Returns the number of ratings written."""
    if has_demo_history(store):
        return 0
    rng = random.Random(seed)
    now = now or utcnow()
    calendar = calendar or shared_calendar()
    today = china_date(now)
    with store.unit_of_work() as uow:
        session = uow.session
        settings = load_settings(session)
        clerks: Sequence[User] = session.scalars(
            select(User).where(User.role == Role.CLERK.value, ~User.deleted).order_by(User.staff_no)
        ).all()
        supervisor = find_supervisor(session, settings)
        if not clerks or supervisor is None:
            return 0
        seat = {clerk.id: 1 + (index * 5) % windows for index, clerk in enumerate(clerks)}
        written = 0
        for day_index, day in enumerate(_service_days(calendar, today, days)):
            for n in range(rng.randint(ratings_per_day * 3 // 4, ratings_per_day * 5 // 4)):
                clerk = clerks[rng.randrange(len(clerks))]
                level = _weighted_level(rng)
                at = _moment(day, rng)
                rating = Rating(
                    service_ref=f"{DEMO_PREFIX}{day:%Y%m%d}-{n + 1:04d}",
                    level=level.value,
                    overall=rng.choice([None, 5 - LEVELS.index(level)]),
                    comment=rng.choice(BAD_COMMENTS) if level.bad else rng.choice(GOOD_COMMENTS),
                    channel=rng.choice(
                        [Channel.PAD, Channel.PAD, Channel.PAD, Channel.QR, Channel.PHONE]
                    ).value,
                    clerk_id=clerk.id,
                    clerk_name=clerk.display_name,
                    window_number=seat[clerk.id],
                    matter_name=rng.choice(MATTERS),
                    applicant_phone=f"139{rng.randint(10_000_000, 99_999_999)}",
                    rated_at=at,
                )
                session.add(rating)
                written += 1
                if level.bad:
                    session.flush()
                    _rectification(
                        session, rng, calendar, rating, supervisor, settings.rectification_days, today
                    )
            if rng.random() < complaints_per_day or day_index == 0:
                _complaint(session, rng, calendar, day, supervisor, windows, today)
        _open_complaints(session, rng, now, supervisor)
        uow.commit()
        return written


def _rectification(
    session: Session,
    rng: random.Random,
    calendar: WorkCalendar,
    rating: Rating,
    supervisor: User,
    days: int,
    today: dt.date,
) -> None:
    due = calendar.add_workdays(china_date(rating.rated_at), days)
    row = Rectification(
        rating_id=rating.id,
        level=rating.level,
        clerk_id=rating.clerk_id,
        clerk_name=rating.clerk_name,
        window_number=rating.window_number,
        assignee_id=supervisor.id,
        assignee_name=supervisor.display_name,
        status=OPEN,
        opened_at=rating.rated_at,
        due_date=due.value,
        due_provisional=due.provisional,
        follow_ups=0,
        reached=False,
        cause_category="",
        action_taken="",
        re_rating="",
        closed_by="",
    )
    session.add(row)
    session.flush()
    events: list[tuple[str, dt.datetime, bool | None, str]] = [
        ("opened", rating.rated_at, None, rating.comment)
    ]
    age = (today - china_date(rating.rated_at)).days
    if age >= 2:
        call = rating.rated_at + dt.timedelta(days=1, hours=rng.randint(0, 5))
        reached = rng.random() < 0.85
        row.follow_ups, row.reached = 1, reached
        said = "已致歉并说明情况，申请人表示理解" if reached else "电话无人接听"
        events.append(("follow_up", call, reached, said))
        if reached and age >= 5 and rng.random() < 0.9:
            cause = rng.choice(list(Cause))
            row.cause_category, row.action_taken = cause.value, "已对窗口人员进行提醒和业务培训"
            row.re_rating = rng.choice(
                [Level.SATISFIED, Level.BASICALLY_SATISFIED, Level.VERY_SATISFIED]
            ).value
            closed = call + dt.timedelta(days=rng.randint(1, 3))
            row.status, row.closed_at, row.closed_by = CLOSED, closed, supervisor.display_name
            events += [
                ("rectified", call + dt.timedelta(hours=1), None, row.action_taken),
                ("re_rated", closed - dt.timedelta(hours=1), None, row.re_rating),
                ("closed", closed, None, ""),
            ]
    for kind, at, reached_flag, text in events:
        session.add(
            RectificationEvent(
                rectification_id=row.id,
                kind=kind,
                at=at,
                actor_name="" if kind == "opened" else supervisor.display_name,
                reached=reached_flag,
                text=text,
                detail={},
            )
        )


def _complaint(
    session: Session,
    rng: random.Random,
    calendar: WorkCalendar,
    day: dt.date,
    supervisor: User,
    windows: int,
    today: dt.date,
) -> None:
    request, category = rng.choice(REQUESTS)
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
        department=rng.choice(DEPARTMENTS),
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
        row.handover_department = rng.choice(DEPARTMENTS)
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
    for minutes, (request, category) in ((8, REQUESTS[1]), (27, REQUESTS[4])):
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
