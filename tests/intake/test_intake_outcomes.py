"""Intake outcomes through the service on the local store (SQLite and PostgreSQL): accept,
correction, refusal, on the spot; blockers told at once; nothing written when refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from intake_helpers import (
    BAD_CHECK_ID,
    FOOD_LICENCE,
    RESTAURANT_BUNDLE,
    SOLE_TRADER,
    VALID_CREDIT,
    VALID_ID,
    Clock,
    all_received,
    make_session,
    person,
    sample_extras,
)
from sqlalchemy import func, select

from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.intake import (
    AgentIn,
    ApplicantIn,
    IntakeError,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
    case_number,
)
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store

Form = Callable[..., IntakeForm]


def _count(store: Store, model: type) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _fields(exc: pytest.ExceptionInfo[IntakeError]) -> list[str]:
    return [p.field for p in exc.value.problems]


def _nothing_written(store: Store) -> None:
    for model in (Applicant, Case, CaseMaterial, CaseEventRecord, OutboxEntry):
        assert _count(store, model) == 0, model


def test_accept_records_case_event_materials_deadline_and_outbox(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    result = service.accept(clerk, complete_form(ticket_number="A012"))
    assert result.status == "accepted" and result.status_label == "受理"
    assert re.fullmatch(r"20250930007\d{4}-[0-9A-F]{6}", result.case_number)
    assert result.case_number.endswith(store.device_id.replace("-", "")[-6:].upper())
    # DOMAIN.md: accepted 2025-09-30, 5 working days → 2025-10-14 (close of office)
    assert result.promised_date == dt.date(2025, 10, 14)
    assert result.promised_due is not None and result.promised_due.hour == 17
    assert result.provisional is False
    assert result.notice == "受理通知书"
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.case_number == result.case_number and case.status == "accepted"
        assert case.matter_codes == [FOOD_LICENCE] and case.window_number == 7
        assert case.accepted_at is not None and case.promised_date == dt.date(2025, 10, 14)
        assert case.ticket_number == "A012"
        events = uow.session.scalars(select(CaseEventRecord)).all()
        assert [(e.event, e.from_state, e.to_state) for e in events] == [("accept", "received", "accepted")]
        assert events[0].actor_id == clerk.user_id and events[0].window_number == 7
        assert events[0].at == dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC)
        materials = uow.session.scalars(select(CaseMaterial)).all()
        assert len(materials) == 6 and {m.state for m in materials} == {"received"}
        tables = {t for (t,) in uow.session.execute(select(OutboxEntry.table_name))}
        assert {"case_applicants", "cases", "case_materials", "case_events"} <= tables


def test_bundle_with_deferral_and_commitment(
    service: IntakeService, store: Store, clerk: UserSession
) -> None:
    marks = {m.key: MaterialIn(m.key) for m in service.materials_for((), RESTAURANT_BUNDLE)}
    marks["经营场所平面布局图"] = MaterialIn(
        "经营场所平面布局图", MaterialState.DEFERRED, due=dt.date(2025, 10, 10)
    )
    marks["食品安全管理制度文本"] = MaterialIn("食品安全管理制度文本", MaterialState.COMMITMENT)
    marks["营业执照"] = MaterialIn("营业执照", MaterialState.RECEIVED, form="copy", count=2)
    form = IntakeForm(
        applicant=person(),
        bundle_code=RESTAURANT_BUNDLE,
        materials=tuple(marks.values()),
        extra=sample_extras((), RESTAURANT_BUNDLE),
    )
    result = service.accept(clerk, form)
    assert len(result.matter_codes) == 3 and len(result.materials) == 11  # union, no duplicates
    assert result.promised_date == dt.date(2025, 10, 14)  # the longest limit of the three
    with store.unit_of_work() as uow:
        rows = {m.material_key: m for m in uow.session.scalars(select(CaseMaterial))}
        assert rows["经营场所平面布局图"].state == "deferred"
        assert rows["经营场所平面布局图"].due_date == dt.date(2025, 10, 10)
        assert rows["食品安全管理制度文本"].state == "commitment"
        assert (rows["营业执照"].form, rows["营业执照"].count) == ("copy", 2)
        assert uow.session.scalars(select(Case)).one().bundle_code == RESTAURANT_BUNDLE


def test_provisional_flag_where_the_calendar_is_provisional(
    service: IntakeService, clock: Clock, clerk: UserSession, complete_form: Form
) -> None:
    clock.at = dt.datetime(2028, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    result = service.accept(clerk, complete_form())
    assert result.provisional is True
    assert result.case_number.startswith("20280601007")


def test_every_blocker_is_told_at_once_and_nothing_is_written(
    service: IntakeService, store: Store, clerk: UserSession
) -> None:
    materials = all_received(service, (FOOD_LICENCE,))[1:]  # the application form is missing
    form = IntakeForm(
        applicant=person(id_number=BAD_CHECK_ID, phone="", name=""),
        matter_codes=(FOOD_LICENCE, "999-no-such-matter"),
        materials=materials,
        delivery="mail",
    )
    with pytest.raises(IntakeError) as exc:
        service.accept(clerk, form)
    fields = _fields(exc)
    for expected in (
        "applicant.id_number",
        "applicant.phone",
        "applicant.name",
        "matters",
        "delivery_address",
    ):
        assert expected in fields, (expected, fields)
    text = exc.value.message
    assert "校验" in text or "校验码" in text or "第 18 位" in text
    assert "食品经营许可申请书" in text and "999-no-such-matter" in text
    assert service.validate(form) == exc.value.problems
    _nothing_written(store)


def test_deferral_rules(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    marks = list(all_received(service, (FOOD_LICENCE,)))
    late = dt.date(2025, 10, 20)  # after the promised 2025-10-14
    marks[3] = MaterialIn(marks[3].key, MaterialState.DEFERRED, due=late)  # 经营场所平面布局图: deferrable
    marks[0] = MaterialIn(marks[0].key, MaterialState.DEFERRED, due=dt.date(2025, 10, 9))  # not deferrable
    marks[1] = MaterialIn(marks[1].key, MaterialState.COMMITMENT)  # no commitment allowed
    marks[4] = MaterialIn(marks[4].key, MaterialState.DEFERRED)  # no due date
    with pytest.raises(IntakeError) as exc:
        service.accept(clerk, complete_form(materials=tuple(marks)))
    text = exc.value.message
    assert "晚于承诺办结日期 2025-10-14" in text
    assert "“食品经营许可申请书”不可容缺受理" in text
    assert "“营业执照”不适用告知承诺" in text
    assert "须填写补交日期" in text
    _nothing_written(store)


def test_request_correction_lists_everything_missing(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    marks = list(all_received(service, (FOOD_LICENCE,)))
    marks[2] = MaterialIn(marks[2].key, MaterialState.MISSING, note="缺少签字")
    form = complete_form(materials=tuple(marks[:1] + marks[2:5]))  # 营业执照 and 法定代表人身份证件 absent
    result = service.request_correction(clerk, form, note="请于十日内补正")
    assert result.status == "correction_requested" and result.accepted_at is None
    assert [m.name for m in result.missing] == [
        "营业执照",
        "食品安全管理制度文本",
        "法定代表人身份证件复印件",
    ]
    assert result.notice == "一次性告知书" and result.promised_date is None
    with store.unit_of_work() as uow:
        event = uow.session.scalars(select(CaseEventRecord)).one()
        assert event.event == "request_correction" and event.to_state == "correction_requested"
        assert "营业执照" in event.reason and "法定代表人身份证件" in event.reason
        assert "请于十日内补正" in event.reason
        assert len(event.detail["missing"]) == 3


def test_correction_needs_something_missing(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    with pytest.raises(IntakeError, match="无需补正"):
        service.request_correction(clerk, complete_form())
    _nothing_written(store)


def test_refusal_needs_reason_and_legal_basis(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    form = complete_form()
    with pytest.raises(IntakeError) as exc:
        service.refuse(clerk, form, reason="  ", legal_basis="")
    assert set(_fields(exc)) == {"reason", "legal_basis"}
    _nothing_written(store)
    result = service.refuse(
        clerk, form, reason="不属于本机关职权范围", legal_basis="《行政许可法》第三十二条"
    )
    assert result.status == "not_accepted" and result.notice == "不予受理通知书"
    assert len(result.returned) == 6
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.legal_basis == "《行政许可法》第三十二条" and case.decided_at is not None
        event = uow.session.scalars(select(CaseEventRecord)).one()
        assert (event.event, event.reason) == ("reject", "不属于本机关职权范围")
        assert len(event.detail["returned"]) == 6


def test_done_on_the_spot(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    with pytest.raises(IntakeError, match="不是即办件"):
        service.done_on_the_spot(clerk, complete_form())
    _nothing_written(store)
    result = service.done_on_the_spot(clerk, complete_form((SOLE_TRADER,)))
    assert result.status == "approved" and result.notice == "办结通知书"
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.accepted_at is not None and case.decided_at is not None
        assert uow.session.scalars(select(CaseEventRecord.event)).all() == ["complete_on_spot"]


def test_organisation_agent_mail_and_cross_region(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    org = ApplicantIn(
        kind="organisation",
        id_number=VALID_CREDIT.lower(),
        name="福州示例餐饮有限公司",
        phone="0591-87654321",
    )
    with pytest.raises(IntakeError) as exc:
        service.accept(
            clerk,
            complete_form(
                applicant=org, agent=AgentIn("李四", "111", BAD_CHECK_ID, "123"), cross_region=True
            ),
        )
    assert set(_fields(exc)) == {
        "applicant.legal_representative",
        "agent.id_number",
        "agent.phone",
        "other_region",
    }
    org = ApplicantIn(
        **{**{k: getattr(org, k) for k in ApplicantIn.__dataclass_fields__}, "legal_representative": "王五"}
    )
    form = complete_form(
        applicant=org,
        agent=AgentIn("李四", "111", "320311770706001", "+86 139-0000-1111"),
        cross_region=True,
        other_region="浙江省杭州市",
        delivery="mail",
        delivery_address="福州市台江区某路 1 号",
    )
    service.accept(clerk, form)
    with store.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.agent_id_number == "320311197707060018"  # the legacy 15-digit number upgraded
        assert case.agent_phone == "13900001111" and case.other_region == "浙江省杭州市"
        assert case.delivery == "mail"
        applicant = uow.session.scalars(select(Applicant)).one()
        assert (applicant.kind, applicant.id_type, applicant.id_number) == (
            "organisation",
            "001",
            VALID_CREDIT,
        )
        assert applicant.phone == "059187654321"


def test_returning_applicant_is_reused_and_numbers_follow(
    service: IntakeService, store: Store, clerk: UserSession, complete_form: Form
) -> None:
    first = service.accept(clerk, complete_form())
    second = service.accept(
        clerk, complete_form(applicant=person(id_number=VALID_ID.lower(), phone="13900001111"))
    )
    assert first.case_number[:15] == "202509300070001" and second.case_number[:15] == "202509300070002"
    with store.unit_of_work() as uow:
        applicant = uow.session.scalars(select(Applicant)).one()
        assert applicant.id_number == VALID_ID and applicant.phone == "13900001111"
        assert {c.applicant_id for c in uow.session.scalars(select(Case))} == {applicant.id}


def test_case_numbers_of_two_workstations_never_meet() -> None:
    day = dt.date(2026, 11, 28)
    a = case_number(day, 7, 1, "019abc12-0000-7000-8000-00000000a1b2")
    b = case_number(day, 7, 1, "019abc12-0000-7000-8000-00000000c3d4")
    assert a == "202611280070001-00A1B2" and a != b


def test_permission_and_state_machine(service: IntakeService, store: Store, complete_form: Form) -> None:
    with pytest.raises(PermissionDenied):
        service.accept(make_session(Role.ADMIN), complete_form())
    with pytest.raises(PermissionDenied):
        service.save_draft(make_session(Role.ADMIN), complete_form())
    result = service.accept(make_session(Role.SUPERVISOR, window=None), complete_form())
    assert result.case_number.startswith("20250930000")
    assert _count(store, Case) == 1
