"""The document archive: every generated PDF kept as a file, its SHA-256 and metadata in the store.

Files live under ``<data dir>/documents/<year>/<sha256>.pdf`` (content-addressed: writing the same
bytes twice is harmless, and a file written by a transaction that then rolled back is an orphan,
never a wrong record). The record holds the DTO as JSON so that a reprint can be rendered again
with the 副本 mark and its counter; the original file stays the record of what was issued.
Every issue, print and reprint is written to the audit chain with who did it (and why, for reprints).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from clerk_app.documents.codec import from_payload, to_payload
from clerk_app.documents.dto import DocType, Document
from clerk_app.documents.layout import Reprint
from clerk_app.documents.numbers import take_number
from clerk_app.documents.render import doc_type_of, number_of, render, title_of
from clerk_app.documents.templates import Templates
from clerk_app.documents.verification import Signer
from clerk_app.domain.numbering import NumberFormat
from clerk_app.i18n import _
from clerk_app.store.audit import append_audit
from clerk_app.store.models.documents import DocumentPrint, DocumentRecord
from clerk_app.store.uow import UnitOfWork


class ArchiveError(RuntimeError):
    """An archived file is missing or no longer matches its SHA-256."""


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """A document as archived (and, for a reprint, the bytes with the 副本 mark)."""

    id: uuid.UUID
    doc_type: str
    number: str
    title: str
    sha256: str
    path: Path
    pdf: bytes
    copy_no: int = 0


class Archive:
    """The folder of archived PDFs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, pdf: bytes, year: int) -> tuple[str, str]:
        """Store ``pdf``; returns its SHA-256 and its file name relative to the archive folder."""
        digest = hashlib.sha256(pdf).hexdigest()
        relative = f"{year}/{digest}.pdf"
        target = self.folder / relative
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
            return digest, relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
            tmp.write(pdf)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, target)
        return digest, relative

    def read(self, file_name: str, sha256: str) -> bytes:
        """The archived bytes, checked against the recorded SHA-256."""
        path = self.folder / file_name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ArchiveError(_("归档文件不存在：{path}").format(path=path)) from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArchiveError(_("归档文件已被改动（SHA-256 不符）：{path}").format(path=path))
        return data


def _party(document: Document) -> str:
    for name in ("applicant", "holder", "recipient"):
        value = getattr(document, name, None)
        if value is not None:
            return str(getattr(value, "name", value))
    return ""


def archive_document(
    uow: UnitOfWork,
    archive: Archive,
    templates: Templates,
    document: Document,
    *,
    device_id: str,
    actor_name: str,
    year: int | None = None,
    seq: int | None = None,
    signer: Signer | None = None,
) -> IssuedDocument:
    """Render ``document``, store the file and its record in ``uow`` (the caller commits)."""
    pdf = render(document, templates, signer=signer)
    created = dt.datetime.now(dt.UTC)
    digest, file_name = archive.write(pdf, year or created.year)
    doc_type = doc_type_of(document).value
    number = number_of(document)
    record = DocumentRecord(
        doc_type=doc_type,
        number=number,
        year=year,
        seq=seq,
        title=title_of(document, templates)[:200],
        party=_party(document)[:400],
        case_ref=str(getattr(document, "case_no", ""))[:64],
        sha256=digest,
        file_name=file_name,
        byte_size=len(pdf),
        payload=to_payload(document),
        created_at=created,
        created_by=actor_name,
    )
    uow.session.add(record)
    uow.session.flush()
    append_audit(
        uow.session,
        device_id,
        "document.issue",
        actor_name=actor_name,
        target=number,
        detail={"doc_type": doc_type, "sha256": digest, "document_id": str(record.id)},
    )
    return IssuedDocument(record.id, doc_type, number, record.title, digest, archive.folder / file_name, pdf)


def issue(
    uow: UnitOfWork,
    archive: Archive,
    templates: Templates,
    doc_type: DocType,
    build: Callable[[str], Document],
    *,
    device_id: str,
    actor_name: str,
    year: int,
    signer: Signer | None = None,
) -> IssuedDocument:
    """Take the next number of ``doc_type`` from this workstation's blocks, build the DTO with it
    (``build(number)``), render, archive and audit — all in ``uow``, one transaction.

    Raises :class:`~clerk_app.domain.numbering.BlocksExhausted` when no reserved number is left.
    """
    fmt = NumberFormat(doc_type.value, templates.wording(doc_type).number_format)
    seq = take_number(uow, doc_type.value, year)
    document = build(fmt.format(year, seq))
    if doc_type_of(document) is not doc_type:
        raise ValueError(f"build() made a {doc_type_of(document)}, not a {doc_type}")
    return archive_document(
        uow,
        archive,
        templates,
        document,
        device_id=device_id,
        actor_name=actor_name,
        year=year,
        seq=seq,
        signer=signer,
    )


def _next_copy(uow: UnitOfWork, document_id: uuid.UUID) -> int:
    last = uow.session.scalar(
        select(func.max(DocumentPrint.copy_no)).where(DocumentPrint.document_id == document_id)
    )
    return 0 if last is None else last + 1


def record_print(
    uow: UnitOfWork,
    document_id: uuid.UUID,
    *,
    device_id: str,
    actor_name: str,
    printer: str = "",
    sha256: str,
    reason: str = "",
    copy_no: int | None = None,
) -> int:
    """Record one print of an archived document; returns its copy number (0 = the original)."""
    copy_no = _next_copy(uow, document_id) if copy_no is None else copy_no
    uow.session.add(
        DocumentPrint(
            document_id=document_id,
            copy_no=copy_no,
            printer=printer[:200],
            reason=reason,
            actor_name=actor_name,
            sha256=sha256,
            at=dt.datetime.now(dt.UTC),
        )
    )
    uow.session.flush()
    append_audit(
        uow.session,
        device_id,
        "document.print" if copy_no == 0 else "document.reprint",
        actor_name=actor_name,
        target=str(document_id),
        detail={"copy_no": copy_no, "printer": printer, "reason": reason, "sha256": sha256},
    )
    return copy_no


def load(uow: UnitOfWork, archive: Archive, document_id: uuid.UUID) -> IssuedDocument:
    """An archived document with its original bytes (checked against the SHA-256)."""
    record = uow.session.get(DocumentRecord, document_id)
    if record is None:
        raise ArchiveError(_("找不到归档文书：{id}").format(id=document_id))
    pdf = archive.read(record.file_name, record.sha256)
    return IssuedDocument(
        record.id,
        record.doc_type,
        record.number,
        record.title,
        record.sha256,
        archive.folder / record.file_name,
        pdf,
    )


def reprint(
    uow: UnitOfWork,
    archive: Archive,
    templates: Templates,
    document_id: uuid.UUID,
    *,
    device_id: str,
    actor_name: str,
    reason: str,
    printer: str = "",
    signer: Signer | None = None,
) -> IssuedDocument:
    """A reprint: rendered again from the archived DTO with 副本 and the copy counter, recorded and
    audited with who and why. The original must have been printed first (copy 0)."""
    if not reason.strip():
        raise ValueError(_("补打文书必须填写原因"))
    original = load(uow, archive, document_id)  # also proves the original is intact
    record = uow.session.get(DocumentRecord, document_id)
    assert record is not None
    copy_no = max(_next_copy(uow, document_id), 1)
    document = from_payload(dict(record.payload))
    pdf = render(document, templates, reprint=Reprint(copy_no), signer=signer)
    digest = hashlib.sha256(pdf).hexdigest()
    record_print(
        uow,
        document_id,
        device_id=device_id,
        actor_name=actor_name,
        printer=printer,
        sha256=digest,
        reason=reason,
        copy_no=copy_no,
    )
    return IssuedDocument(
        original.id, original.doc_type, original.number, original.title, digest, original.path, pdf, copy_no
    )


@dataclass(frozen=True, slots=True)
class ArchivedSummary:
    """One line of the archive list (no bytes)."""

    id: uuid.UUID
    doc_type: str
    number: str
    title: str
    party: str
    created_at: dt.datetime
    created_by: str
    prints: int


def recent(uow: UnitOfWork, limit: int = 200, text: str = "") -> list[ArchivedSummary]:
    """The newest archived documents, optionally those whose number, title or party contain ``text``."""
    prints = (
        select(DocumentPrint.document_id, func.count().label("n"))
        .group_by(DocumentPrint.document_id)
        .subquery()
    )
    stmt = (
        select(DocumentRecord, func.coalesce(prints.c.n, 0))
        .outerjoin(prints, prints.c.document_id == DocumentRecord.id)
        .order_by(DocumentRecord.created_at.desc())
        .limit(limit)
    )
    if text.strip():
        like = f"%{text.strip()}%"
        stmt = stmt.where(
            DocumentRecord.number.like(like)
            | DocumentRecord.title.like(like)
            | DocumentRecord.party.like(like)
        )
    return [
        ArchivedSummary(r.id, r.doc_type, r.number, r.title, r.party, r.created_at, r.created_by, int(n))
        for r, n in uow.session.execute(stmt).all()
    ]
