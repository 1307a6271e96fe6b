"""The intake form's service side: matter-specific fields from the catalogue checked and saved
with the case, the returning applicant (回头件) with their open cases, and the notice of each
outcome issued through the document archive in the outcome's own unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from intake_helpers import (
    _CALENDAR,
    _CATALOGUE,
    BAD_CHECK_ID,
    FOOD_LICENCE,
    VALID_CREDIT,
    VALID_ID,
    Clock,
    all_received,
    make_session,
    person,
)
from sqlalchemy import func, select

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, refill
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import CaseDocuments
from clerk_app.services.intake import (
    ApplicantIn,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
    Outcome,
    form_from_dict,
    form_to_dict,
)
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.services.runtime import open_store
from clerk_app.store.models.cases import Case, CaseEventRecord
from clerk_app.store.models.documents import DocumentRecord
from clerk_app.store.uow import Store

Form = Callable[..., IntakeForm]
COMPANY = "113501000300100158000105001000001"  # 企业设立登记: four extra fields
YEAR = 2025


def test_extra_fields_are_checked_by_type_and_required_for_acceptance(
    service: IntakeService, clerk: UserSession, complete_form: Form
) -> None:
    form = complete_form(
        (COMPANY,),
        applicant=ApplicantIn(
            kind="organisation",
            id_number=VALID_CREDIT,
            name="示例科技有限公司",
            phone="13800138000",
            legal_representative="李四",
        ),
        extra=(),
    )
    problems = {p.field for p in service.validate(form)}
    assert {"extra.enterprise_kind", "extra.registered_capital", "extra.business_scope"} <= problems
    assert "extra.staff_count" not in problems  # optional
    bad = IntakeForm(
        **{
            **_fields(form),
            "extra": (
                ("enterprise_kind", "无限公司"),
                ("registered_capital", "一百"),
                ("business_scope", "软件\u202e开发"),
            ),
        }
    )
    messages = {p.field: p.message for p in service.validate(bad)}
    assert "有限责任公司" in messages["extra.enterprise_kind"]
    assert "数字" in messages["extra.registered_capital"]
    assert "控制字符" in messages["extra.business_scope"]
    # a correction does not need them: the case is not accepted yet
    assert not [p for p in service.validate(form, outcome=Outcome.CORRECTION) if p.field.startswith("extra.")]


def test_extra_fields_are_saved_with_the_case_and_kept_in_drafts(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    form = complete_form(
        (FOOD_LICENCE,),
        extra=(("food_category", "热食类食品制售"), ("not_asked", "dropped")),
    )
    assert form_from_dict(form_to_dict(form)) == form
    result = service.accept(clerk, form)
    assert result.extra == (("food_category", "热食类食品制售"),)
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.extra == {"food_category": "热食类食品制售"}
        event = uow.session.scalars(select(CaseEventRecord)).one()
        assert event.detail["extra"] == {"food_category": "热食类食品制售"}


def test_returning_applicant_is_found_with_open_cases(
    service: IntakeService, clerk: UserSession, complete_form: Form
) -> None:
    assert service.find_returning(clerk, "person", "111", VALID_ID) is None
    service.accept(clerk, complete_form(extra=(("food_category", "预包装食品销售"),)))
    found = service.find_returning(clerk, "person", "111", VALID_ID.lower())  # lower-case x
    assert found is not None and found.name == "张三" and found.address == "福州市鼓楼区"
    assert [c.matter_names for c in found.open_cases] == [("食品经营许可",)]
    assert found.open_cases[0].status == "accepted"
    assert service.find_returning(clerk, "person", "111", BAD_CHECK_ID) is None
    assert service.find_returning(clerk, "organisation", "001", VALID_CREDIT) is None


# ---- notices in the outcome's unit of work ------------------------------------------------------


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'local.sqlite'}")
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    yield local, central
    local.dispose()
    central.dispose()


def _issuing(tmp_path: Path, local: Store, clock: Clock) -> IntakeService:
    desk = CaseDocuments(
        Archive(tmp_path / "archive"), local.device_id, catalogue=_CATALOGUE, calendar=_CALENDAR
    )
    issuer = NoticeIssuer(desk)
    return IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock, notices=issuer)


def _documents(store: Store) -> list[tuple[str, str]]:
    with store.unit_of_work() as uow:
        return [(r.doc_type, r.case_ref) for r in uow.session.scalars(select(DocumentRecord))]


def test_each_outcome_issues_its_notice_with_the_case(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock
) -> None:
    local, central = stores
    service = _issuing(tmp_path, local, clock)
    kinds = (DocType.ACCEPTANCE, DocType.TOLERANCE, DocType.ONE_TIME, DocType.REFUSAL, DocType.COMPLETION)
    for kind in kinds:
        refill(local, central, kind.value, YEAR, NumberingSettings(5, 1))
    clerk = make_session()
    codes = (FOOD_LICENCE,)
    marks = list(all_received(service, codes))
    plan = next(i for i, m in enumerate(service.materials_for(codes)) if m.deferrable)
    marks[plan] = MaterialIn(marks[plan].key, MaterialState.DEFERRED, due=dt.date(2025, 10, 9))
    base = IntakeForm(
        applicant=person(),
        matter_codes=codes,
        materials=tuple(marks),
        extra=(("food_category", "预包装食品销售"),),
    )
    accepted = service.accept(clerk, base)
    assert [d.doc_type for d in accepted.documents] == ["acceptance", "tolerance"]
    assert all(d.pdf.startswith(b"%PDF") for d in accepted.documents)

    lacking = IntakeForm(applicant=person(), matter_codes=codes, materials=())
    corrected = service.request_correction(clerk, lacking)
    assert [d.doc_type for d in corrected.documents] == ["one_time"]
    refused = service.refuse(
        clerk, lacking, "不属于本机关职权范围", "《行政许可法》第三十二条", authority="示例市卫生健康委员会"
    )
    assert [d.doc_type for d in refused.documents] == ["refusal"]
    assert ("acceptance", accepted.case_number) in _documents(local)
    assert ("refusal", refused.case_number) in _documents(local)


def test_no_number_left_refuses_the_whole_outcome(
    tmp_path: Path, stores: tuple[Store, Store], clock: Clock, complete_form: Form
) -> None:
    local, _central = stores
    service = _issuing(tmp_path, local, clock)
    form = complete_form(extra=(("food_category", "预包装食品销售"),))
    with pytest.raises(Exception) as failure:
        service.accept(make_session(), form)
    assert "编号" in str(failure.value)
    with local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == 0
        assert uow.session.scalar(select(func.count()).select_from(DocumentRecord)) == 0


def _fields(form: IntakeForm) -> dict[str, Any]:
    return {f: getattr(form, f) for f in IntakeForm.__dataclass_fields__}


def test_returning_organisation_is_found_by_credit_code(
    service: IntakeService, clerk: UserSession, complete_form: Form
) -> None:
    org = ApplicantIn(
        kind="organisation",
        id_number=VALID_CREDIT,
        name="福州示例餐饮有限公司",
        phone="0591-87654321",
        legal_representative="王五",
    )
    service.request_correction(clerk, complete_form(applicant=org, materials=()))
    found = service.find_returning(clerk, "organisation", "", VALID_CREDIT.lower())
    assert found is not None and found.legal_representative == "王五" and found.id_type == "001"
    assert [c.status for c in found.open_cases] == ["correction_requested"]
