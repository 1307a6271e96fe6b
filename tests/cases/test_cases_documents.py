"""The documents of the later steps, each in the step's own unit of work: the decision issues its
决定书 (or 办结通知书), the delivery its 送达回证, an approved licence matter its 证照. A step whose
document cannot be issued (no number left, no signing key) leaves nothing behind: no status
change, no event, no document, no number drawn."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from case_helpers import _CALENDAR, _CATALOGUE, ACCEPTED_AT, Clock, World, make_session
from pypdf import PdfReader
from sqlalchemy import func, select

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, refill, remaining
from clerk_app.documents.verification import Signer
from clerk_app.security.roles import Role
from clerk_app.services.case_documents import APPROVAL_BASIS, StepDocuments
from clerk_app.services.cases import CaseQuery, CaseService
from clerk_app.services.documents import CaseDocuments
from clerk_app.services.errors import UserError
from clerk_app.services.intake import IntakeService
from clerk_app.services.runtime import open_store
from clerk_app.store.models import AuditEntry
from clerk_app.store.models.cases import Case, CaseEventRecord
from clerk_app.store.models.documents import DocumentRecord
from clerk_app.store.uow import Store

YEAR = 2025
ISSUER = "11150100MB0000000X"


@dataclass
class Desk:
    world: World
    central: Store
    signer: Signer | None

    def refill(self, *kinds: DocType, size: int = 5) -> None:
        for kind in kinds:
            refill(self.world.store, self.central, kind.value, YEAR, NumberingSettings(size, 0))


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'local.sqlite'}")
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    clock = Clock(ACCEPTED_AT)
    signer = Signer.generate()
    documents = CaseDocuments(
        Archive(tmp_path / "archive"),
        local.device_id,
        catalogue=_CATALOGUE,
        calendar=_CALENDAR,
        signer=signer,
    )
    steps = StepDocuments(documents, issuer_code=ISSUER)
    world = World(
        local,
        clock,
        IntakeService(local, _CATALOGUE, _CALENDAR, clock=clock),
        CaseService(local, _CATALOGUE, _CALENDAR, clock=clock, documents=steps),
        make_session(),
        make_session(window=8, name="李建国"),
        make_session(Role.SUPERVISOR, None, "陈静"),
    )
    yield Desk(world, central, signer)
    local.dispose()
    central.dispose()


@dataclass(frozen=True)
class Snapshot:
    id: uuid.UUID
    case_number: str
    status: str


def _in_review(world: World, **kw: object) -> Snapshot:
    result = world.accepted(**kw)
    case_id = world.cases.search(world.clerk, CaseQuery(text=result.case_number)).rows[0].case_id
    world.clock.set(2025, 10, 9, 9, 0)
    detail = world.cases.start_review(world.clerk, case_id)
    return Snapshot(case_id, detail.row.case_number, detail.row.status)


def _count(store: Store, model: type) -> int:
    with store.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_decision_delivery_and_licence_each_print_their_document(desk: Desk) -> None:
    world = desk.world
    desk.refill(DocType.APPROVAL, DocType.DELIVERY, DocType.LICENCE)
    case = _in_review(world, name="福州示范餐饮有限公司", organisation=True)
    decided = world.cases.decide(world.clerk, case.id, "approve")
    (notice,) = decided.issued
    assert notice.doc_type == "approval" and notice.title == "准予行政许可决定书"
    text = _text(notice.pdf)
    assert case.case_number in text and "福州示范餐饮有限公司" in text and "食品经营许可证" in text
    assert APPROVAL_BASIS in text  # no basis typed: 行政许可法 art. 38(1)
    assert [d.doc_type for d in decided.documents] == ["approval"]
    assert decided.events[-1].detail[-1][1] == f"准予行政许可决定书 {notice.number}"
    assert decided.licence_title == "食品经营许可证" and decided.licence_due

    world.clock.set(2025, 10, 9, 10, 0)
    licensed = world.cases.issue_licence(world.clerk, case.id)
    (licence,) = licensed.issued
    assert licence.doc_type == "licence" and licence.title == "食品经营许可证"
    text = _text(licence.pdf)
    assert "91350100M000100Y43" in text and "2030年10月8日" in text  # five years, to the day before
    assert not licensed.licence_due and licensed.row.status == "approved"  # no state change
    with pytest.raises(UserError, match="不能重复发证"):
        world.cases.issue_licence(world.clerk, case.id)

    world.clock.set(2025, 10, 9, 15, 7)
    delivered = world.cases.deliver(
        world.clerk, case.id, "mail", tracking_number="sf 1234 5678 90", address="福州市鼓楼区五四路 1 号"
    )
    (receipt,) = delivered.issued
    assert receipt.doc_type == "delivery" and receipt.title == "送达回证"
    text = _text(receipt.pdf)
    for part in (notice.number, licence.number, "邮寄送达", "SF1234567890", "福州市鼓楼区五四路", "15时07分"):
        assert part in text, part
    assert [d.doc_type for d in delivered.documents] == ["approval", "licence", "delivery"]
    opened = world.cases.open_document(world.clerk, case.id, licence.id)
    assert opened.sha256 == licence.sha256 and opened.pdf == licence.pdf
    assert world.cases.open_document(world.supervisor, case.id, notice.id).sha256 == notice.sha256
    with pytest.raises(UserError, match="只有本件经办人和值班负责人"):  # the whole ID number is printed
        world.cases.open_document(world.other_clerk, case.id, notice.id)


def test_refusal_prints_the_denial_with_reason_and_remedies(desk: Desk) -> None:
    world = desk.world
    desk.refill(DocType.DENIAL, DocType.DELIVERY)
    case = _in_review(world)
    refused = world.cases.decide(
        world.supervisor, case.id, "refuse", "经营场所与许可范围不符", "《食品经营许可管理办法》第十二条"
    )
    (notice,) = refused.issued
    text = _text(notice.pdf)
    assert notice.title == "不予行政许可决定书"
    assert "经营场所与许可范围不符" in text and "第十二条" in text and "行政复议" in text
    assert not refused.licence_due  # refused: no licence
    with pytest.raises(UserError, match="不能发放证照"):
        world.cases.issue_licence(world.clerk, case.id)
    picked = world.cases.deliver(world.clerk, case.id, "pickup", signature_note="申请人本人签收")
    text = _text(picked.issued[0].pdf)
    assert "直接送达" in text and "申请人本人签收" in text and notice.number in text


def _nothing_written(desk: Desk, case: Snapshot, events: int, documents: int) -> None:
    world = desk.world
    with world.store.unit_of_work() as uow:
        again = uow.session.get(Case, case.id)
        assert again is not None and again.status == case.status and again.decided_at is None
        assert uow.session.scalar(select(func.count()).where(CaseEventRecord.case_id == case.id)) == events
    assert _count(world.store, DocumentRecord) == documents


def test_a_decision_without_a_number_leaves_no_half_done_step(desk: Desk) -> None:
    world = desk.world
    case = _in_review(world)
    with pytest.raises(UserError, match="没有可用的准予行政许可决定书编号"):
        world.cases.decide(world.clerk, case.id, "approve")
    _nothing_written(desk, case, 2, 0)
    desk.refill(DocType.APPROVAL)
    world.cases.decide(world.clerk, case.id, "approve")  # the numbers came: it goes through
    assert remaining(world.store, DocType.APPROVAL.value, YEAR) == 4


def test_a_delivery_without_a_number_is_not_recorded(desk: Desk) -> None:
    world = desk.world
    desk.refill(DocType.APPROVAL)
    case = _in_review(world)
    world.cases.decide(world.clerk, case.id, "approve")
    with pytest.raises(UserError, match="没有可用的送达回证编号"):
        world.cases.deliver(world.clerk, case.id, "mail", tracking_number="SF1234567890", address="福州市")
    with world.store.unit_of_work() as uow:
        again = uow.session.get(Case, case.id)
        assert again is not None and again.status == "approved" and again.delivery_address == ""
        events = uow.session.scalars(select(CaseEventRecord.event).where(CaseEventRecord.case_id == case.id))
        assert list(events) == ["accept", "start_review", "approve"]
    assert _count(world.store, DocumentRecord) == 1


def test_a_licence_that_cannot_be_signed_takes_no_number(desk: Desk, tmp_path: Path) -> None:
    world = desk.world
    desk.refill(DocType.APPROVAL, DocType.LICENCE)
    case = _in_review(world)
    world.cases.decide(world.clerk, case.id, "approve")
    assert world.cases.documents is not None
    unsigned = StepDocuments(
        CaseDocuments(Archive(tmp_path / "archive"), world.store.device_id, catalogue=_CATALOGUE),
        issuer_code=ISSUER,
    )
    service = CaseService(world.store, _CATALOGUE, _CALENDAR, clock=world.clock, documents=unsigned)
    detail = service.detail(world.clerk, case.id)
    assert detail.licence_title == "食品经营许可证" and not detail.licence_due and detail.licence_unsigned
    with pytest.raises(UserError, match="签名密钥"):
        service.issue_licence(world.clerk, case.id)
    assert remaining(world.store, DocType.LICENCE.value, YEAR) == 5
    with world.store.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEntry.action == "case.licence")) == 0


def test_a_broken_template_stops_the_decision_before_anything_is_kept(desk: Desk) -> None:
    """A failure after the number is drawn (rendering) rolls the number and the step back too."""
    world = desk.world
    desk.refill(DocType.APPROVAL)
    case = _in_review(world)
    documents = world.cases.documents
    assert documents is not None
    real = documents.desk.templates
    broken = dict(real.documents)
    broken["approval"] = {**broken["approval"], "body": ["根据{no_such_field}的规定"]}
    documents.desk.templates = type(real)(hall=real.hall, documents=broken, matters=real.matters)
    try:
        with pytest.raises(Exception, match="no_such_field"):
            world.cases.decide(world.clerk, case.id, "approve")
    finally:
        documents.desk.templates = real
    _nothing_written(desk, case, 2, 0)
    assert remaining(world.store, DocType.APPROVAL.value, YEAR) == 5


def test_approving_a_matter_that_is_not_a_licence_needs_its_basis(desk: Desk) -> None:
    """办结通知书 for other matters: the basis cannot be assumed."""
    world = desk.world
    desk.refill(DocType.COMPLETION)
    case = _in_review(world)
    steps = world.cases.documents
    assert steps is not None
    with world.store.unit_of_work() as uow:
        row = uow.session.get(Case, case.id)
        assert row is not None
        row.matter_codes = ["1135010003001004XM000109006000006"]  # 社会保障卡申领 (public service)
        uow.commit()
    with pytest.raises(UserError, match="请填写法律依据"):
        world.cases.decide(world.clerk, case.id, "approve")
    done = world.cases.decide(world.clerk, case.id, "approve", legal_basis="《社会保障卡管理办法》第十条")
    assert done.issued[0].title == "办结通知书" and done.licence_title == ""
