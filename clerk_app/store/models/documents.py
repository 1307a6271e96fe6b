"""Document tables: the archive of generated PDFs, their prints, number blocks and voided numbers.

- ``documents`` (synced, insert-only): one row per generated PDF — type, number, SHA-256 of the
  bytes, the file's name under the data directory's archive folder, and the DTO as JSON so a
  reprint can be rendered again. The unique index on (doc_type, number) is the last line of
  defence against a number given twice.
- ``document_prints`` (synced, insert-only): every print and reprint with its copy counter, who
  printed it and why.
- ``number_blocks`` (synced, insert-only): each block of sequence numbers the central store handed
  to a workstation; travels to every store so that any of them can audit the series.
- ``number_series`` (central only, not synced): the highest sequence number handed out per
  (doc_type, year), advanced by one conditional ``UPDATE`` so two reservations never overlap.
- ``number_block_cursors`` (local only, not synced): how far this workstation has drawn from each
  of its blocks; advanced in the same transaction as the ``documents`` row that uses the number.
- ``voided_numbers`` (synced, insert-only): numbers drawn and not used, with the reason.
- ``issuer_keys`` (synced reference data): public keys that verification QR codes are checked against.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow


class DocumentRecord(SyncedMixin, Base):
    __tablename__ = "documents"
    __insert_only__ = True

    doc_type: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(120))
    year: Mapped[int | None] = mapped_column(Integer, default=None)
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    title: Mapped[str] = mapped_column(String(200))
    party: Mapped[str] = mapped_column(String(400), default="")
    case_ref: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    byte_size: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("uq_documents_type_number", "doc_type", "number", unique=True),)


class DocumentPrint(SyncedMixin, Base):
    __tablename__ = "document_prints"
    __insert_only__ = True

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    copy_no: Mapped[int] = mapped_column(Integer)  # 0 = the original, 1.. = reprints
    printer: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64))  # of the bytes sent (reprints differ: 副本 mark)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("uq_document_prints_copy", "document_id", "copy_no", unique=True),)


class NumberBlockRecord(SyncedMixin, Base):
    __tablename__ = "number_blocks"
    __insert_only__ = True

    doc_type: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    workstation: Mapped[str] = mapped_column(String(64))
    reserved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("uq_number_blocks_start", "doc_type", "year", "start", unique=True),)


class NumberSeries(Base):
    __tablename__ = "number_series"

    doc_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_end: Mapped[int] = mapped_column(Integer, default=0)


class NumberBlockCursor(Base):
    __tablename__ = "number_block_cursors"

    block_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    next_seq: Mapped[int] = mapped_column(Integer)


class VoidedNumber(SyncedMixin, Base):
    __tablename__ = "voided_numbers"
    __insert_only__ = True

    doc_type: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("uq_voided_numbers_seq", "doc_type", "year", "seq", unique=True),)


class IssuerKeyRecord(SyncedMixin, Base):
    """A public verification key of an issuing authority (reference data, kept by the central store)."""

    __tablename__ = "issuer_keys"

    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    issuer_code: Mapped[str] = mapped_column(String(64))
    issuer_name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 key, hex
    active: Mapped[bool] = mapped_column(default=True)
