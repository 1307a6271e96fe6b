"""The demo hall: seeded on first start of the embedded default, idempotently.

The central store gets the hall, its departments, 24 comprehensive windows and the demo users;
the workstation's local store gets a copy of that reference data (same ids and versions, no
outbox entries: it is central data, not a local change).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.security.passwords import hash_password
from clerk_app.security.roles import Role
from clerk_app.services.queue import seed_demo_queue
from clerk_app.store.base import Base
from clerk_app.store.models import Department, Hall, User, Window
from clerk_app.store.uow import Store, row_payload
from clerk_app.sync import client

HALL_CODE = "DEMO-150100"
HALL_NAME = "呼和浩特市政务服务大厅（演示）"
AUTHORITY = "呼和浩特市行政审批和政务服务局"
WINDOW_COUNT = 24

DEPARTMENTS = [
    ("SCJG", "市场监督管理局"),
    ("GA", "公安局"),
    ("SW", "税务局"),
    ("RS", "人力资源和社会保障局"),
    ("BDC", "不动产登记中心"),
    ("ZJ", "住房和城乡建设局"),
    ("WJ", "卫生健康委员会"),
    ("MZ", "民政局"),
    ("YB", "医疗保障局"),
    ("JT", "交通运输局"),
]


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    password: str
    staff_no: str


DEMO_USERS = [
    DemoUser("wangxy", "王晓燕", Role.CLERK, "Window#2026", "C001"),
    DemoUser("lijg", "李建国", Role.CLERK, "Window#2026", "C002"),
    DemoUser("zhangli", "张丽", Role.CLERK, "Window#2026", "C003"),
    DemoUser("zhaomin", "赵敏", Role.CLERK, "Window#2026", "C004"),
    DemoUser("liuqiang", "刘强", Role.CLERK, "Window#2026", "C005"),
    DemoUser("chenjing", "陈静", Role.SUPERVISOR, "Duty#2026", "S001"),
    DemoUser("admin", "系统管理员", Role.ADMIN, "Admin#2026", "A001"),
]

REFERENCE_MODELS: tuple[type[Base], ...] = (Hall, Department, Window, User)


def seed_central(store: Store) -> bool:
    """Create the demo hall in ``store`` unless it is there. Returns True if it seeded."""
    with store.unit_of_work() as uow:
        session = uow.session
        if session.scalar(select(Hall).where(Hall.code == HALL_CODE)) is not None:
            return False
        hall = Hall(
            code=HALL_CODE,
            name=HALL_NAME,
            authority=AUTHORITY,
            address="呼和浩特市新城区（演示地址）",
            contact_phone="0471-12345",
        )
        session.add(hall)
        session.flush()
        _seed_departments(session, hall)
        _seed_windows(session, hall)
        _seed_users(session)
        uow.commit()
        return True


def _seed_departments(session: Session, hall: Hall) -> None:
    for code, name in DEPARTMENTS:
        session.add(Department(hall_id=hall.id, code=code, name=name))


def _seed_windows(session: Session, hall: Hall) -> None:
    for number in range(1, WINDOW_COUNT + 1):
        session.add(Window(hall_id=hall.id, number=number, name=f"{number}号综合窗口"))


def _seed_users(session: Session) -> None:
    for user in DEMO_USERS:
        session.add(
            User(
                username=user.username,
                display_name=user.display_name,
                role=user.role.value,
                password_hash=hash_password(user.password),
                staff_no=user.staff_no,
            )
        )


def copy_reference(central: Store, local: Store) -> int:
    """Copy hall, departments, windows and users from central into the local store as they are
    (same ids, versions and stamps); rows already present at the same or a newer version stay.
    (``ensure_demo`` uses the first pull instead; kept for tests that set up stores by hand.)"""
    copied = 0
    with central.unit_of_work(capture=False) as source, local.unit_of_work(capture=False) as target:
        for model in REFERENCE_MODELS:
            for row in source.session.scalars(select(model)):
                copied += _upsert(target.session, model, row_payload(row), row)
            target.session.flush()
        target.commit()
    return copied


def _upsert(session: Session, model: type[Base], payload: dict[str, object], row: Base) -> int:
    existing = session.get(model, getattr(row, "id"))  # noqa: B009
    if existing is not None and existing.version >= payload["version"]:  # type: ignore[attr-defined]
        return 0
    values = {key: getattr(row, key) for key in payload}
    if existing is None:
        session.add(model(**values))
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    return 1


def ensure_demo(central: Store, local: Store) -> None:
    seed_central(central)
    seed_demo_queue(central)
    # the workstation's copy of the hall, windows and users (for offline sign-in) comes the way
    # every central change does: its first pull (a snapshot), later pulls bring the rest
    client.first_pull(local, central)
