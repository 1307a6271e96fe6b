"""告知承诺书: accepting a case where a proof was replaced by the applicant's commitment issues the
commitment letter in the acceptance's unit of work — case number, matter, applicant, each
committed proof, verification and its deadline, liability for a false promise."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from intake_helpers import (
    _CALENDAR,
    _CATALOGUE,
    FOOD_LICENCE,
    SOLE_TRADER,
    Clock,
    all_received,
    make_session,
    person,
)
from sqlalchemy import func, select

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, refill
from clerk_app.services.documents import CaseDocuments
from clerk_app.services.intake import IntakeForm, IntakeService, MaterialIn, MaterialState
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.services.runtime import open_store
from clerk_app.store.models.cases import Case
from clerk_app.store.models.documents import DocumentRecord
from clerk_app.store.uow import Store

YEAR = 2025
PLAN = "食品安全管理制度文本"  # commitment allowed for the food licence


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'local.sqlite'}")
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    yield local, central
    local.dispose()
    central.dispose()


def _service(tmp_path: Path, local: Store, clock: Clock) -> IntakeService:
    desk = CaseDocuments(
        Archive(tmp_path / "archive"), local.device_id, catalogue=_CATALOGUE, calendar=_CALENDAR
    )
    return IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock, notices=NoticeIssuer(desk))


def _committed_form(service: IntakeService) -> IntakeForm:
    codes = (FOOD_LICENCE,)
    marks = [
        MaterialIn(m.key, MaterialState.COMMITMENT) if m.name == PLAN else MaterialIn(m.key, "received")
        for m in service.materials_for(codes)
    ]
    return IntakeForm(
        applicant=person(),
        matter_codes=codes,
        materials=tuple(marks),
        extra=(("food_category", "预包装食品销售"),),
    )


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def test_accepting_with_a_commitment_issues_the_commitment_letter(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    for kind in NoticeIssuer.doc_types("accept"):
        refill(local, central, kind.value, YEAR, NumberingSettings(5, 1))
    service = _service(tmp_path, local, clock)
    result = service.accept(make_session(), _committed_form(service))
    assert [d.doc_type for d in result.documents] == ["acceptance", "commitment"]
    letter = result.documents[1]
    assert letter.title == "告知承诺书" and letter.number.startswith("呼政诺〔2025〕")
    text = _text(letter.pdf)
    for expected in (
        result.case_number,
        "食品经营许可",
        "张三",
        "11010519491231002X",
        PLAN,
        "国办发〔2020〕42号",
        "核查期限：2025年10月14日",  # the promised completion date (5 working days, DOMAIN.md)
        "不实承诺的责任",
        "申请人（签名/盖章）",
    ):
        assert expected in text, expected
    with local.unit_of_work() as uow:
        kinds = sorted(
            uow.session.scalars(
                select(DocumentRecord.doc_type).where(DocumentRecord.case_ref == result.case_number)
            )
        )
    assert kinds == ["acceptance", "commitment"]


def test_no_commitment_number_left_refuses_the_acceptance_as_a_whole(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    refill(local, central, DocType.ACCEPTANCE.value, YEAR, NumberingSettings(5, 1))  # none for 告知承诺书
    service = _service(tmp_path, local, clock)
    with pytest.raises(Exception) as failure:
        service.accept(make_session(), _committed_form(service))
    assert "告知承诺书编号" in str(failure.value)
    with local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == 0
        assert uow.session.scalar(select(func.count()).select_from(DocumentRecord)) == 0


def test_no_letter_when_nothing_was_committed(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    for kind in NoticeIssuer.doc_types("accept"):
        refill(local, central, kind.value, YEAR, NumberingSettings(5, 1))
    service = _service(tmp_path, local, clock)
    form = _committed_form(service)
    plain = IntakeForm(
        applicant=form.applicant,
        matter_codes=form.matter_codes,
        materials=all_received(service, form.matter_codes),
        extra=form.extra,
    )
    result = service.accept(make_session(), plain)
    assert [d.doc_type for d in result.documents] == ["acceptance"]


def test_on_the_spot_case_is_verified_within_the_template_working_days(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    for kind in NoticeIssuer.doc_types("on_the_spot"):
        refill(local, central, kind.value, YEAR, NumberingSettings(5, 1))
    service = _service(tmp_path, local, clock)
    codes = (SOLE_TRADER,)
    marks = tuple(
        MaterialIn(m.key, MaterialState.COMMITMENT if m.commitment_allowed else MaterialState.RECEIVED)
        for m in service.materials_for(codes)
    )
    form = IntakeForm(
        applicant=person(), matter_codes=codes, materials=marks, extra=(("business_scope", "小吃"),)
    )
    result = service.done_on_the_spot(make_session(), form)
    assert [d.doc_type for d in result.documents] == ["completion", "commitment"]
    text = _text(result.documents[1].pdf)
    # 2025-09-30 + 20 working days (National Day week off, 2025-10-11 an adjusted working Saturday)
    expected = _CALENDAR.add_workdays(dt.date(2025, 9, 30), 20).value
    assert f"核查期限：{expected.year}年{expected.month}月{expected.day}日" in text
    assert "经营场所使用证明" in text
