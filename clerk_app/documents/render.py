"""DTO → PDF bytes: the one entry point of the document pipeline.

``render(document, templates)`` picks the template by the DTO's type, lays it out and returns the
PDF bytes, fonts embedded as subsets. Equal input gives equal bytes (reportlab's invariant mode),
so the archive's SHA-256 identifies a document's content. Reprints add the 副本 mark and counter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether

from clerk_app.documents.dto import (
    AcceptanceNotice,
    CommitmentLetter,
    CorrectionNotice,
    DecisionNotice,
    DeliveryReceipt,
    DocType,
    Document,
    Licence,
    QueueSlip,
    RefusalNotice,
    ToleranceNotice,
)
from clerk_app.documents.layout import Reprint, SealBlock, build_a4, make_styles
from clerk_app.documents.licence import QrFlowable, border, licence_story
from clerk_app.documents.notices import (
    Story,
    acceptance_story,
    commitment_story,
    correction_story,
    decision_story,
    delivery_story,
    refusal_story,
    tolerance_story,
)
from clerk_app.documents.slip import build_slip, slip_story
from clerk_app.documents.templates import Templates
from clerk_app.documents.verification import Signer, notice_fields
from clerk_app.i18n import _

_TYPES: dict[type, DocType] = {
    AcceptanceNotice: DocType.ACCEPTANCE,
    RefusalNotice: DocType.REFUSAL,
    ToleranceNotice: DocType.TOLERANCE,
    CommitmentLetter: DocType.COMMITMENT,
    DeliveryReceipt: DocType.DELIVERY,
    Licence: DocType.LICENCE,
    QueueSlip: DocType.QUEUE_SLIP,
}


NOTICE_QR_SIZE = 28 * mm


class SignerRequired(ValueError):
    """A licence cannot be rendered without the issuer's signing key."""


def doc_type_of(document: Document) -> DocType:
    """The document type of a DTO (correction/one-time and the three decisions by their flag)."""
    if isinstance(document, CorrectionNotice | DecisionNotice):
        return document.doc_type
    return _TYPES[type(document)]


def number_of(document: Document) -> str:
    if isinstance(document, Licence):
        return document.licence_number
    if isinstance(document, QueueSlip):
        return document.ticket_number
    return document.number


def title_of(document: Document, templates: Templates) -> str:
    """The printed title (the licence's own title for licences)."""
    if isinstance(document, Licence):
        return document.title
    return templates.wording(doc_type_of(document)).title


def _party_and_day(document: Document) -> tuple[str, dt.date]:
    match document:
        case DeliveryReceipt():
            return document.recipient, document.served_at.date()
        case DecisionNotice():
            return document.applicant.name, document.decision_date
        case Licence():
            return document.holder, document.issue_date
        case QueueSlip():
            return "", document.issued_at.date()
    return document.applicant.name, document.issue_date


def notice_payload(document: Document, templates: Templates, signer: Signer) -> str:
    """The signed verification payload printed as a QR code beside a notice's seal."""
    party, day = _party_and_day(document)
    fields = notice_fields(
        kind=doc_type_of(document).value,
        title=title_of(document, templates),
        number=number_of(document),
        party=party,
        case_no=str(getattr(document, "case_no", "")),
        day=day,
        authority=templates.hall.authority,
    )
    return signer.sign(fields)


def _seal_blocks(flowables: list[Flowable]) -> Iterator[SealBlock]:
    for flowable in flowables:
        if isinstance(flowable, SealBlock):
            yield flowable
        elif isinstance(flowable, KeepTogether):
            yield from _seal_blocks(list(flowable._content))


def _attach_qr(story: Story, payload: str) -> None:
    """Put the verification code into the first seal block (bottom left of the sealing area)."""
    block = next(_seal_blocks(story), None)
    if block is None:
        raise ValueError("this document has no seal block to carry its verification code")
    block.qr = QrFlowable(payload, NOTICE_QR_SIZE)


def _story(document: Document, templates: Templates) -> Story:
    styles = make_styles()
    match document:
        case AcceptanceNotice():
            return acceptance_story(document, templates, styles)
        case RefusalNotice():
            return refusal_story(document, templates, styles)
        case CorrectionNotice():
            return correction_story(document, templates, styles)
        case ToleranceNotice():
            return tolerance_story(document, templates, styles)
        case CommitmentLetter():
            return commitment_story(document, templates, styles)
        case DecisionNotice():
            return decision_story(document, templates, styles)
        case DeliveryReceipt():
            return delivery_story(document, templates, styles)
    raise TypeError(f"not an A4 notice: {type(document).__name__}")


def render(
    document: Document,
    templates: Templates,
    *,
    reprint: Reprint | None = None,
    signer: Signer | None = None,
) -> bytes:
    """The PDF bytes of ``document``.

    Licences need the issuer's ``signer`` for their QR payload; notices carry a verification QR
    beside the seal when a ``signer`` is given (the queue slip never does).
    """
    title = title_of(document, templates)
    number = number_of(document)
    if isinstance(document, QueueSlip):
        return build_slip(slip_story(document, templates), title=title)
    if isinstance(document, Licence):
        if signer is None:
            raise SignerRequired(_("打印证照需要签发机构的签名密钥"))
        story = licence_story(document, templates, make_styles(), signer)
        return build_a4(
            story, title=title, subject=number, author=document.issuer, reprint=reprint, extra_hook=border
        )
    story = _story(document, templates)
    if signer is not None:
        _attach_qr(story, notice_payload(document, templates, signer))
    return build_a4(
        story,
        title=title,
        subject=number,
        author=templates.hall.authority,
        reprint=reprint,
    )
