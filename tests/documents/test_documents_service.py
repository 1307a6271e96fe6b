"""The documents service: hall numbering settings, automatic refill (online and offline), and the
notices of a case issued in the caller's unit of work."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from documents_pdfcheck import text_of
from sqlalchemy import func, select

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, remaining
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import (
    NUMBERING_KEY,
    CaseDocuments,
    NoticeExtras,
    NumberingPolicy,
    load_numbering,
    refill_due,
    save_numbering,
)
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import open_central, open_store
from clerk_app.store.models import Setting
from clerk_app.store.models.cases import Applicant, Case, CaseMaterial
from clerk_app.store.models.documents import DocumentRecord
from clerk_app.store.uow import Store, UnitOfWork

CHINA = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 3, 2, 10, 30, tzinfo=CHINA)
CATALOGUE = load_demo_catalogue()
MATTER = CATALOGUE.matters[0]

_OPEN: list[Store] = []


@pytest.fixture(autouse=True)
def _dispose_stores() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().dispose()


def _store(tmp_path: Path, name: str, kind: str = "workstation") -> Store:
    store = open_store(f"sqlite+pysqlite:///{tmp_path / name}.sqlite", kind=kind)
    _OPEN.append(store)
    return store


def _who(role: Role = Role.CLERK) -> UserSession:
    return UserSession(uuid.uuid4(), "wangxy", "王晓燕", role, 3, "示例大厅")


def _add_case(uow: UnitOfWork, number: str, states: dict[str, str], **case: object) -> None:
    applicant = Applicant(
        kind="organisation",
        id_type="001",
        id_number="91350100M000100Y43",
        name="示例市青城餐饮管理有限公司",
        phone="13912345678",
        address="示例市新城区成吉思汗大街88号",
    )
    uow.session.add(applicant)
    uow.session.flush()
    row = Case(
        case_number=number,
        applicant_id=applicant.id,
        matter_codes=[MATTER.code],
        status="accepted",
        received_at=AT,
        accepted_at=AT,
        promised_date=dt.date(2026, 3, 9),
        clerk_id=uuid.uuid4(),
        clerk_name="王晓燕",
        window_number=3,
        agent_name="王丽",
        **case,
    )
    uow.session.add(row)
    uow.session.flush()
    for index, (name, state) in enumerate(states.items()):
        uow.session.add(
            CaseMaterial(
                case_id=row.id,
                material_key=f"m{index}",
                name=name,
                state=state,
                form="copy",
                count=1,
                due_date=dt.date(2026, 3, 20) if state == "deferred" else None,
                note="缺少公章" if state == "missing" else "",
            )
        )


def _desk(tmp_path: Path, local: Store) -> CaseDocuments:
    return CaseDocuments(Archive(tmp_path / "archive"), local.device_id, catalogue=CATALOGUE)


def test_numbering_settings_default_save_and_reject_bad_values(tmp_path: Path) -> None:
    local = _store(tmp_path, "ws")
    with local.unit_of_work() as uow:
        assert load_numbering(uow.session) == NumberingPolicy()
    policy = NumberingPolicy(NumberingSettings(20, 5), {"acceptance": NumberingSettings(100, 30)})
    with pytest.raises(PermissionDenied):
        save_numbering(local, _who(Role.CLERK), policy)
    save_numbering(local, _who(Role.SUPERVISOR), policy)
    with local.unit_of_work() as uow:
        loaded = load_numbering(uow.session)
        row = uow.session.scalar(select(Setting).where(Setting.key == NUMBERING_KEY))
        assert row is not None and row.value["per_type"]["acceptance"]["block_size"] == 100
    assert loaded.for_type("acceptance") == NumberingSettings(100, 30)
    assert loaded.for_type("refusal") == NumberingSettings(20, 5)
    with pytest.raises(UserError):
        save_numbering(local, _who(Role.ADMIN), NumberingPolicy(NumberingSettings(10, 10)))
    # a bad value arriving from elsewhere falls back to the default instead of stopping numbering
    assert NumberingPolicy.from_dict({"block_size": "x", "refill_threshold": -1}) == NumberingPolicy()


def test_refill_due_uses_hall_settings_and_skips_full_series(tmp_path: Path) -> None:
    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    save_numbering(local, _who(Role.SUPERVISOR), NumberingPolicy(NumberingSettings(8, 3)))
    first = refill_due(local, central, year=2026, doc_types=[DocType.ACCEPTANCE, DocType.REFUSAL])
    assert not first.offline and set(first.refilled) == {"acceptance", "refusal"}
    assert first.remaining == {"acceptance": 8, "refusal": 8}
    again = refill_due(local, central, year=2026, doc_types=[DocType.ACCEPTANCE])
    assert again.refilled == () and again.remaining == {"acceptance": 8}


def test_refill_due_offline_reports_instead_of_raising(tmp_path: Path) -> None:
    local = _store(tmp_path, "ws")
    central = open_central("postgresql+psycopg://nobody:x@127.0.0.1:1/none", local)
    _OPEN.append(central)
    report = refill_due(local, central, year=2026, doc_types=[DocType.ACCEPTANCE, DocType.REFUSAL])
    assert report.offline and report.refilled == ()
    assert report.low() == ("acceptance", "refusal")


def test_accept_issues_acceptance_and_tolerance_in_the_callers_unit_of_work(tmp_path: Path) -> None:
    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    refill_due(local, central, year=2026)
    desk = _desk(tmp_path, local)
    materials = {
        "营业执照复印件": "received",
        "法定代表人身份证明": "received",
        "食品安全管理制度": "deferred",
    }
    with local.unit_of_work() as uow:
        _add_case(uow, "SL202603020301", materials)  # not flushed by the caller: the desk flushes
        issued = desk.issue_outcome(uow, _who(), "SL202603020301", "accept", at=AT)
        uow.commit()
    assert [n.doc_type for n in issued] == ["acceptance", "tolerance"]
    assert issued[0].number == "呼政受〔2026〕00001号"
    acceptance, tolerance = (text_of(n.pdf) for n in issued)
    for text in ("SL202603020301", "示例市青城餐饮管理有限公司", "91350100M000100Y43", "营业执照复印件"):
        assert text in acceptance
    assert MATTER.name.replace(" ", "") in acceptance and "2026年3月9日" in acceptance
    assert "食品安全管理制度" in tolerance and "2026年3月20日" in tolerance
    with local.unit_of_work() as uow:
        records = uow.session.scalars(select(DocumentRecord).order_by(DocumentRecord.doc_type)).all()
        assert [(r.doc_type, r.case_ref, r.created_by) for r in records] == [
            ("acceptance", "SL202603020301", "wangxy"),
            ("tolerance", "SL202603020301", "wangxy"),
        ]


def test_correction_refusal_and_decisions(tmp_path: Path) -> None:
    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    refill_due(local, central, year=2026)
    desk = _desk(tmp_path, local)
    with local.unit_of_work() as uow:
        _add_case(uow, "C1", {"营业执照复印件": "received", "场所平面图": "missing"})
        _add_case(
            uow,
            "C2",
            {"营业执照复印件": "received"},
            reason="不属于本机关职权范围",
            legal_basis="行政许可法第三十二条",
        )
        correction = desk.issue_outcome(uow, _who(), "C1", "correction", at=AT)[0]
        refusal = desk.issue_outcome(
            uow,
            _who(),
            "C2",
            "refuse",
            at=AT,
            extras=NoticeExtras(competent_authority="示例市市场监督管理局"),
        )[0]
        denial = desk.issue(
            uow, _who(), "C2", DocType.DENIAL, at=AT, extras=NoticeExtras(decision_content="不予许可")
        )
        uow.commit()
    text = text_of(correction.pdf)
    assert correction.doc_type == "one_time" and "场所平面图" in text and "缺少公章" in text
    assert "2026年3月9日" in text  # five working days after Monday 2 March
    text = text_of(refusal.pdf)
    assert "不属于本机关职权范围" in text and "示例市市场监督管理局" in text and "营业执照复印件" in text
    assert denial.doc_type == "denial" and "不属于本机关职权范围" in text_of(denial.pdf)


def test_exhausted_numbers_refuse_the_outcome_and_nothing_is_kept(tmp_path: Path) -> None:
    local = _store(tmp_path, "ws")
    desk = _desk(tmp_path, local)
    with local.unit_of_work() as uow:
        _add_case(uow, "C9", {"营业执照复印件": "received"})
        with pytest.raises(UserError, match="没有可用的受理通知书编号"):
            desk.issue_outcome(uow, _who(), "C9", "accept", at=AT)
        # the caller does not commit after an error: the case goes with the notice
    with local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == 0
    assert remaining(local, "acceptance", 2026) == 0


def test_unknown_case_and_missing_permission(tmp_path: Path) -> None:
    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    refill_due(local, central, year=2026, doc_types=[DocType.ACCEPTANCE])
    desk = _desk(tmp_path, local)
    with local.unit_of_work() as uow:
        with pytest.raises(UserError):
            desk.issue_outcome(uow, _who(), "NOPE", "accept", at=AT)
        _add_case(uow, "C3", {})
        with pytest.raises(PermissionDenied):
            desk.issue_outcome(uow, _who(Role.ADMIN), "C3", "accept", at=AT)


def test_intake_top_up_uses_the_hall_settings(tmp_path: Path) -> None:
    from clerk_app.services.intake_notices import NoticeIssuer

    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    save_numbering(local, _who(Role.SUPERVISOR), NumberingPolicy(NumberingSettings(7, 2)))
    NoticeIssuer.top_up(local, central, [DocType.ACCEPTANCE], 2026)
    assert remaining(local, "acceptance", 2026) == 7
    offline = open_central("postgresql+psycopg://nobody:x@127.0.0.1:1/none", local)
    _OPEN.append(offline)
    NoticeIssuer.top_up(local, offline, [DocType.REFUSAL], 2026)  # offline: no error
    assert remaining(local, "refusal", 2026) == 0


def test_the_coming_years_series_are_reserved_in_december(tmp_path: Path) -> None:
    local, central = _store(tmp_path, "ws"), _store(tmp_path, "central", "central")
    policy = NumberingPolicy(NumberingSettings(6, 2))
    early = refill_due(
        local, central, doc_types=[DocType.ACCEPTANCE], policy=policy, today=lambda: dt.date(2026, 11, 20)
    )
    assert early.year == 2026 and early.next_year == {}
    late = refill_due(
        local, central, doc_types=[DocType.ACCEPTANCE], policy=policy, today=lambda: dt.date(2026, 12, 15)
    )
    assert late.remaining == {"acceptance": 6} and late.next_year == {"acceptance": 6}
    assert remaining(local, "acceptance", 2027) == 6


def test_notices_are_signed_when_the_hall_names_an_issuer_with_a_key_here(tmp_path: Path) -> None:
    from clerk_app.documents.signing import create_signer
    from clerk_app.services.documents import SIGNING_KEY, notice_signer

    local = _store(tmp_path, "ws")
    assert notice_signer(local) is None
    with local.unit_of_work() as uow:
        uow.session.add(Setting(key=SIGNING_KEY, value={"issuer_code": "11150100MB0000000X"}))
        uow.commit()
    assert notice_signer(local) is None  # no key on this machine yet
    signer = create_signer("11150100MB0000000X")
    found = notice_signer(local)
    assert found is not None and found.key_id == signer.key_id
