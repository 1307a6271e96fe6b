"""Archive, numbering blocks and reprints against real stores (SQLite; PostgreSQL when marked)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from documents_pdfcheck import text_of
from sqlalchemy import func, select

from clerk_app.documents import samples
from clerk_app.documents.archive import Archive, ArchiveError, issue, load, record_print, reprint
from clerk_app.documents.codec import from_payload, to_payload
from clerk_app.documents.dto import DeliveryReceipt, DocType
from clerk_app.documents.numbers import (
    NumberingSettings,
    refill,
    remaining,
    take_number,
    void_number,
    void_unused,
)
from clerk_app.documents.templates import load_templates
from clerk_app.domain.numbering import BlocksExhausted, unexplained_gaps
from clerk_app.services.runtime import open_store
from clerk_app.store.models import AuditEntry
from clerk_app.store.models.documents import (
    DocumentPrint,
    DocumentRecord,
    NumberBlockCursor,
    NumberBlockRecord,
    VoidedNumber,
)
from clerk_app.store.uow import Store

YEAR = 2026
DELIVERY = next(d for d in samples.realistic() if isinstance(d, DeliveryReceipt))


def delivery(number: str) -> DeliveryReceipt:
    return dataclasses.replace(DELIVERY, number=number)


_OPEN: list[Store] = []


@pytest.fixture(autouse=True)
def _dispose_stores() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().dispose()


@pytest.fixture
def central(db_url: str) -> Store:
    store = open_store(db_url, kind="central")
    _OPEN.append(store)
    return store


def _local(tmp_path: Path, name: str) -> Store:
    store = open_store(f"sqlite+pysqlite:///{tmp_path / name}.sqlite")
    _OPEN.append(store)
    return store


def test_every_document_dto_round_trips_through_json() -> None:
    for document in samples.realistic() + samples.hostile():
        assert from_payload(to_payload(document)) == document


def test_issue_archives_file_record_and_audit(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    archive = Archive(tmp_path / "archive")
    templates = load_templates()
    assert refill(local, central, DocType.DELIVERY.value, YEAR, NumberingSettings(5, 2)) == 5
    with local.unit_of_work() as uow:
        issued = issue(
            uow,
            archive,
            templates,
            DocType.DELIVERY,
            delivery,
            device_id=local.device_id,
            actor_name="李娜",
            year=YEAR,
        )
        uow.commit()
    assert issued.number == "呼政送〔2026〕00001号"
    assert issued.path.read_bytes() == issued.pdf
    assert hashlib.sha256(issued.pdf).hexdigest() == issued.sha256
    assert issued.number in text_of(issued.pdf)
    with local.unit_of_work() as uow:
        record = uow.session.get(DocumentRecord, issued.id)
        assert record is not None and record.seq == 1 and record.sha256 == issued.sha256
        assert from_payload(dict(record.payload)) == delivery(issued.number)
        actions = uow.session.scalars(select(AuditEntry.action)).all()
        assert "document.issue" in actions
        assert load(uow, archive, issued.id).pdf == issued.pdf


def test_reprint_is_marked_counted_and_audited(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    archive = Archive(tmp_path / "archive")
    templates = load_templates()
    refill(local, central, DocType.DELIVERY.value, YEAR)
    with local.unit_of_work() as uow:
        issued = issue(
            uow,
            archive,
            templates,
            DocType.DELIVERY,
            delivery,
            device_id=local.device_id,
            actor_name="李娜",
            year=YEAR,
        )
        assert (
            record_print(uow, issued.id, device_id=local.device_id, actor_name="李娜", sha256=issued.sha256)
            == 0
        )
        uow.commit()
    with local.unit_of_work() as uow:
        with pytest.raises(ValueError, match="原因"):
            reprint(
                uow, archive, templates, issued.id, device_id=local.device_id, actor_name="李娜", reason=" "
            )
        first = reprint(
            uow,
            archive,
            templates,
            issued.id,
            device_id=local.device_id,
            actor_name="王芳",
            reason="申请人遗失",
        )
        second = reprint(
            uow,
            archive,
            templates,
            issued.id,
            device_id=local.device_id,
            actor_name="王芳",
            reason="打印机卡纸",
        )
        uow.commit()
    assert (first.copy_no, second.copy_no) == (1, 2)
    assert "副本（第1次打印）" in text_of(first.pdf)
    assert "副本（第2次打印）" in text_of(second.pdf)
    assert issued.path.read_bytes() == issued.pdf  # the original file is untouched
    with local.unit_of_work() as uow:
        prints = uow.session.scalars(select(DocumentPrint).order_by(DocumentPrint.copy_no)).all()
        assert [(p.copy_no, p.actor_name, p.reason) for p in prints] == [
            (0, "李娜", ""),
            (1, "王芳", "申请人遗失"),
            (2, "王芳", "打印机卡纸"),
        ]
        assert (
            uow.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "document.reprint")
            )
            == 2
        )


def test_tampered_archive_file_is_detected(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    archive = Archive(tmp_path / "archive")
    refill(local, central, DocType.DELIVERY.value, YEAR)
    with local.unit_of_work() as uow:
        issued = issue(
            uow,
            archive,
            load_templates(),
            DocType.DELIVERY,
            delivery,
            device_id=local.device_id,
            actor_name="李娜",
            year=YEAR,
        )
        uow.commit()
    data = bytearray(issued.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    issued.path.write_bytes(bytes(data))
    with local.unit_of_work() as uow, pytest.raises(ArchiveError, match="SHA-256"):
        load(uow, archive, issued.id)


def test_exhausted_offline_refuses_and_leaves_nothing(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    archive = Archive(tmp_path / "archive")
    refill(local, central, DocType.DELIVERY.value, YEAR, NumberingSettings(block_size=2, refill_threshold=0))
    templates = load_templates()
    for _ in range(2):
        with local.unit_of_work() as uow:
            issue(
                uow,
                archive,
                templates,
                DocType.DELIVERY,
                delivery,
                device_id=local.device_id,
                actor_name="李娜",
                year=YEAR,
            )
            uow.commit()
    with local.unit_of_work() as uow, pytest.raises(BlocksExhausted):
        issue(
            uow,
            archive,
            templates,
            DocType.DELIVERY,
            delivery,
            device_id=local.device_id,
            actor_name="李娜",
            year=YEAR,
        )
    with local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DocumentRecord)) == 2


def test_number_taken_with_a_failed_document_is_not_consumed(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    refill(local, central, DocType.DELIVERY.value, YEAR)

    def broken(number: str) -> DeliveryReceipt:
        raise RuntimeError("printer on fire")

    with local.unit_of_work() as uow, pytest.raises(RuntimeError):
        issue(
            uow,
            Archive(tmp_path / "a"),
            load_templates(),
            DocType.DELIVERY,
            broken,
            device_id=local.device_id,
            actor_name="x",
            year=YEAR,
        )
    with local.unit_of_work() as uow:
        assert take_number(uow, DocType.DELIVERY.value, YEAR) == 1  # the rolled-back draw is free again


def test_adopts_a_block_reserved_but_lost_locally(tmp_path: Path, central: Store) -> None:
    local = _local(tmp_path, "ws1")
    refill(local, central, "delivery", YEAR, NumberingSettings(5, 1))
    with local.unit_of_work() as uow:  # the local store lost its cursor (restored from backup …)
        for cursor in uow.session.scalars(select(NumberBlockCursor)).all():
            uow.session.delete(cursor)
        uow.commit()
    assert remaining(local, "delivery", YEAR) == 0
    assert refill(local, central, "delivery", YEAR, NumberingSettings(5, 1)) == 5


def test_workstations_concurrently_online_and_offline_then_synced(tmp_path: Path, central: Store) -> None:
    client = pytest.importorskip("clerk_app.sync.client", reason="the sync client is not in this tree yet")
    workstations = [_local(tmp_path, f"ws{i}") for i in range(3)]
    templates = load_templates()
    settings = NumberingSettings(block_size=4, refill_threshold=1)
    errors: list[BaseException] = []

    def work(index: int, local: Store) -> None:
        rng = random.Random(index)
        archive = Archive(tmp_path / f"archive{index}")
        online = True
        try:
            for _ in range(14):
                if rng.random() < 0.25:
                    online = not online
                if online:
                    refill(local, central, "delivery", YEAR, settings)
                with local.unit_of_work() as uow:
                    try:
                        if rng.random() < 0.15:  # a spoiled form: the number is voided
                            seq = take_number(uow, "delivery", YEAR)
                            void_number(uow, "delivery", YEAR, seq, "", "打印错误", "tester")
                        else:
                            issue(
                                uow,
                                archive,
                                templates,
                                DocType.DELIVERY,
                                delivery,
                                device_id=local.device_id,
                                actor_name=f"clerk{index}",
                                year=YEAR,
                            )
                    except BlocksExhausted:
                        assert not online or settings.refill_threshold < 0
                        continue
                    uow.commit()
            with local.unit_of_work() as uow:
                void_unused(uow, "delivery", YEAR, "日终作废", "tester")
                uow.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, ws)) for i, ws in enumerate(workstations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for local in workstations:
        report = client.push(local, central)
        assert report.rejected == 0
    with central.unit_of_work() as uow:
        numbers = uow.session.scalars(select(DocumentRecord.number)).all()
        used = uow.session.scalars(select(DocumentRecord.seq)).all()
        voided = uow.session.scalars(select(VoidedNumber.seq)).all()
        blocks = [(b.start, b.end) for b in uow.session.scalars(select(NumberBlockRecord)).all()]
    assert numbers and len(numbers) == len(set(numbers))
    assert not set(used) & set(voided)
    top = max(end for _, end in blocks)
    assert sum(end - start + 1 for start, end in blocks) == top  # blocks tile the series without overlap
    assert unexplained_gaps([u for u in used if u is not None], voided, top) == []


DOCUMENT_TABLES = {
    "documents",
    "document_prints",
    "number_blocks",
    "number_series",
    "number_block_cursors",
    "voided_numbers",
    "issuer_keys",
}


def test_migration_matches_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from clerk_app.store.base import Base

    store = open_store(db_url)
    _OPEN.append(store)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def mine(diff: object) -> bool:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:] if isinstance(item, tuple) else ():
            table = getattr(part, "table", None)
            if (
                getattr(part, "name", None) in DOCUMENT_TABLES
                or getattr(table, "name", None) in DOCUMENT_TABLES
            ):
                return True
            if isinstance(part, str) and part in DOCUMENT_TABLES:
                return True
        return False

    assert [d for d in diffs if mine(d)] == []
