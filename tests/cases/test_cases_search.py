"""Searching cases on the local store (SQLite and PostgreSQL): by case number, name, ID number,
credit code and phone (whole, beginning or end), filters by status and deadline status, paging,
and ID numbers masked except for the case's own clerk and supervisors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from case_helpers import OTHER_ID, VALID_CREDIT, VALID_ID, World
from sqlalchemy import select

from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.cases import CaseQuery, mask_id, mask_phone
from clerk_app.services.errors import UserError
from clerk_app.store.models.case_search import CaseSearchKey
from clerk_app.store.models.cases import Applicant
from clerk_app.store.uow import Store


def _numbers(world: World, text: str, who: UserSession | None = None, **kw: object) -> list[str]:
    page = world.cases.search(who or world.clerk, CaseQuery(text=text, **kw))  # type: ignore[arg-type]
    return [r.case_number for r in page.rows]


@pytest.fixture
def three(world: World) -> tuple[str, str, str]:
    a = world.accepted(name="张三", id_number=VALID_ID, phone="13800138000")
    world.clock.set(2025, 9, 30, 10, 5)
    b = world.accepted(world.other_clerk, name="李晓燕", id_number=OTHER_ID, phone="13912345678")
    world.clock.set(2025, 9, 30, 10, 10)
    c = world.accepted(name="福州示范餐饮有限公司", organisation=True, phone="059187654321")
    return a.case_number, b.case_number, c.case_number


def test_search_by_every_kind_of_key(world: World, three: tuple[str, str, str]) -> None:
    a, b, c = three
    assert _numbers(world, "") == [c, b, a]  # newest first
    assert _numbers(world, a) == [a]
    assert _numbers(world, a[:8]) == [c, b, a]  # the service day
    assert _numbers(world, a[:11]) == [c, a]  # day and window 7
    assert _numbers(world, a.lower()) == [a]
    assert _numbers(world, VALID_ID) == [a]
    assert _numbers(world, VALID_ID.lower()) == [a]  # lower-case x
    assert _numbers(world, "110105") == [a]  # beginning of the ID
    assert _numbers(world, "002x") == [a]  # end of the ID
    assert _numbers(world, "0018") == [b]
    assert _numbers(world, "13800138000") == [a]
    assert _numbers(world, "+86 138-0013-8000") == [a]
    assert _numbers(world, "5678") == [b]  # 尾号
    assert _numbers(world, "139 1234") == [b]
    assert _numbers(world, VALID_CREDIT) == [c]
    assert _numbers(world, "0100Y43") == [c]  # end of the credit code
    assert _numbers(world, "19491231002X") == []  # longer than a 尾号: begins-with only
    assert _numbers(world, "晓燕") == [b]  # given name
    assert _numbers(world, "张") == [a]
    assert _numbers(world, "餐饮") == [c]
    assert _numbers(world, "王五") == []
    assert _numbers(world, "99999999") == []
    assert _numbers(world, "%") == []  # a LIKE wildcard is a plain character


def test_too_short_number_is_refused_in_plain_words(world: World, three: tuple[str, str, str]) -> None:
    with pytest.raises(UserError, match="至少输入 4 位"):
        world.cases.search(world.clerk, CaseQuery(text="13"))


def test_masked_except_for_own_clerk_and_supervisors(world: World, three: tuple[str, str, str]) -> None:
    a, b, c = three
    mine = {r.case_number: r for r in world.cases.search(world.clerk, CaseQuery()).rows}
    assert mine[a].id_number == VALID_ID and mine[a].phone == "13800138000" and not mine[a].masked
    assert mine[b].id_number == "320311********0018" and mine[b].phone == "139****5678" and mine[b].masked
    assert mine[c].id_number == VALID_CREDIT  # a credit code is public
    theirs = {r.case_number: r for r in world.cases.search(world.other_clerk, CaseQuery()).rows}
    assert theirs[a].id_number == "110105********002X" and theirs[a].masked
    assert theirs[b].id_number == OTHER_ID
    boss = world.cases.search(world.supervisor, CaseQuery()).rows
    assert all(not r.masked for r in boss) and {r.id_number for r in boss} >= {VALID_ID, OTHER_ID}
    detail = world.cases.detail(
        world.other_clerk, world.cases.search(world.clerk, CaseQuery(text=a)).rows[0].case_id
    )
    assert detail.row.id_number == "110105********002X"


def test_administrator_may_not_search_cases(
    world: World, three: tuple[str, str, str], new_session: Callable[..., UserSession]
) -> None:
    with pytest.raises(PermissionDenied):
        world.cases.search(new_session(Role.ADMIN, None, "系统管理员"), CaseQuery())


def test_mask_shapes() -> None:
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("320311770706001") == "320311*****6001"
    assert mask_id("E12345678") == "E1*****78"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("059187654321") == "********4321"


def test_status_filter_and_paging(world: World, three: tuple[str, str, str]) -> None:
    a, b, c = three
    world.clock.set(2025, 9, 30, 11, 0)
    d = world.correction(name="王五", id_number=OTHER_ID, phone="13700000000").case_number
    assert _numbers(world, "", statuses=("correction_requested",)) == [d]
    assert _numbers(world, "", statuses=("accepted", "correction_requested")) == [d, c, b, a]
    first = world.cases.search(world.clerk, CaseQuery(page=0, page_size=3))
    second = world.cases.search(world.clerk, CaseQuery(page=1, page_size=3))
    assert first.total == 4 and first.pages == 2 and not first.total_capped
    assert [r.case_number for r in first.rows + second.rows] == [d, c, b, a]


def test_deadline_status_filter_follows_the_working_day_calendar(
    world: World, three: tuple[str, str, str]
) -> None:
    a, b, c = three  # accepted 2025-09-30, promised 2025-10-14 17:30
    world.clock.set(2025, 10, 10, 9, 0)  # 10-11 is an adjusted working Saturday: 3 working days left
    rows = world.cases.search(world.clerk, CaseQuery()).rows
    assert {r.deadline_status for r in rows} == {"normal"} and rows[0].workdays_left == 3
    assert _numbers(world, "", deadline=("normal",)) == [c, b, a]
    assert _numbers(world, "", deadline=("warning", "overdue")) == []
    world.clock.set(2025, 10, 13, 9, 0)
    assert _numbers(world, "", deadline=("warning",)) == [c, b, a]
    assert world.cases.search(world.clerk, CaseQuery()).rows[0].deadline_label == "即将到期"
    world.clock.set(2025, 10, 14, 17, 0)
    assert _numbers(world, "", deadline=("warning",)) == [c, b, a]
    world.clock.set(2025, 10, 14, 17, 31)
    assert _numbers(world, "", deadline=("overdue",)) == [c, b, a]
    assert _numbers(world, "", deadline=("normal", "warning")) == []
    assert _numbers(world, VALID_ID, deadline=("overdue",)) == [a]


def test_cases_without_a_clock_have_no_deadline_status(world: World) -> None:
    d = world.correction()
    row = world.cases.search(world.clerk, CaseQuery()).rows[0]
    assert row.case_number == d.case_number and row.deadline_status is None and row.deadline_label == ""
    for wanted in ("normal", "warning", "overdue"):
        assert _numbers(world, "", deadline=(wanted,)) == []


def test_search_keys_follow_the_applicant(world: World, three: tuple[str, str, str]) -> None:
    """The triggers of 0012_case_search_tail keep the keys when a number, phone or name changes."""
    a = three[0]
    with world.store.unit_of_work() as uow:
        applicant = uow.session.scalars(select(Applicant).where(Applicant.id_number == VALID_ID)).one()
        applicant.phone = "13511112222"
        applicant.name = "张三丰"
        uow.commit()
    assert _numbers(world, "8000") == []
    assert _numbers(world, "2222") == [a]
    assert _numbers(world, "1112222") == [a]  # 尾号 of seven digits
    assert _numbers(world, "三丰") == [a]
    with world.store.unit_of_work() as uow:
        keys = uow.session.scalars(
            select(CaseSearchKey).where(CaseSearchKey.applicant_id == applicant.id)
        ).all()
        assert sorted((k.kind, k.key) for k in keys) == [
            ("i", "X2001321"),  # the last eight characters, last one first
            ("n", "三丰"),
            ("n", "丰"),
            ("n", "张三丰"),
            ("p", "22221111"),
        ]


def test_name_keys_find_any_part_of_a_name(world: World) -> None:
    a = world.accepted(name="阿卜杜热合曼·买买提", phone="13800000001").case_number
    b = world.accepted(name="John SMITH", id_number=OTHER_ID, phone="13800000002").case_number
    assert _numbers(world, "买买提") == [a]  # after the middle dot
    assert _numbers(world, "·买买提") == [a]
    assert _numbers(world, "热合曼·买") == [a]
    assert _numbers(world, "smith") == [b]  # Latin letters in any case
    assert _numbers(world, "JOHN S") == [b]
    assert _numbers(world, "ohn") == [b]  # inside a word
    assert _numbers(world, "Smyth") == []


def test_migration_matches_the_models_for_the_search_indexes(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from clerk_app.store.base import Base

    mine = {
        "case_search_keys",
        "ix_case_search_keys_applicant_id",
        "ix_case_applicants_id_number",
        "ix_case_applicants_phone",
        "ix_case_applicants_name",
        "ix_cases_received_at",
        "ix_cases_status_received",
    }
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    names = {
        getattr(part, "name", None) for diff in diffs for part in (diff if isinstance(diff, tuple) else ())
    }
    assert not names & mine, diffs


@pytest.mark.parametrize(
    "text",
    ["' OR 1=1 --", "张三'; DROP TABLE cases; --", "\u202e三张", "\x00\x07", "😀", "_", "\\", "1234%", "   "],
)
def test_hostile_search_text_finds_nothing_and_breaks_nothing(
    world: World, three: tuple[str, str, str], text: str
) -> None:
    expected = 3 if text in ("   ", "\x00\x07") else 0  # nothing left to look for: every case
    assert len(world.cases.search(world.clerk, CaseQuery(text=text)).rows) == expected


def test_overlong_search_text_is_refused(world: World) -> None:
    with pytest.raises(UserError, match="过长"):
        world.cases.search(world.clerk, CaseQuery(text="张" * 101))
