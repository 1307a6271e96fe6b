"""Signed verification payloads: sign, print, scan back from the page image, verify offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents_pdfcheck import render_pages, zbar

from clerk_app.documents import samples
from clerk_app.documents.dto import Document, Licence, QueueSlip
from clerk_app.documents.render import doc_type_of, notice_payload, render
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import (
    F_HOLDER,
    F_IDENTIFIER,
    IssuerKey,
    Signer,
    Status,
    licence_fields,
    verify_payload,
)
from clerk_app.domain.identifiers import parse_licence_identifier

SIGNER = Signer.from_private_bytes(bytes(range(1, 33)))
KEYS = {SIGNER.key_id: IssuerKey("11150100MB0000000X", "示例市行政审批和政务服务局", SIGNER.public_raw)}


def _licence(kind: str) -> Licence:
    docs = samples.realistic() if kind == "realistic" else samples.hostile()
    return next(d for d in docs if isinstance(d, Licence))


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("kind", ["realistic", "hostile"])
def test_qr_round_trip_from_the_rendered_page(kind: str, tmp_path: Path) -> None:
    licence = _licence(kind)
    pdf = render(licence, load_templates(), signer=SIGNER)
    pages = render_pages(pdf, tmp_path, dpi=200, gray=True)
    payloads = [p for page in pages for p in zbar(page)]
    assert len(payloads) == 1, payloads
    verdict = verify_payload(payloads[0], KEYS)
    assert verdict.status is Status.GENUINE
    assert verdict.fields[F_HOLDER] == licence.holder
    assert verdict.fields[F_IDENTIFIER] == licence.identifier
    assert dict(verdict.fields) == licence_fields(licence)
    altered = _flip(payloads[0], len(payloads[0]) // 3)  # inside the signed fields
    assert verify_payload(altered, KEYS).status is Status.ALTERED


def test_notice_qr_round_trip(tmp_path: Path) -> None:
    notice = samples.realistic()[0]
    templates = load_templates()
    pages = render_pages(render(notice, templates, signer=SIGNER), tmp_path, dpi=200)
    payloads = [p for page in pages for p in zbar(page)]
    assert payloads == [notice_payload(notice, templates, SIGNER)]
    assert verify_payload(payloads[0], KEYS).genuine


@pytest.mark.parametrize(
    "notice", [d for d in samples.realistic() if not isinstance(d, Licence | QueueSlip)], ids=doc_type_of
)
def test_every_notice_carries_one_readable_code(notice: Document, tmp_path: Path) -> None:
    templates = load_templates()
    pages = render_pages(render(notice, templates, signer=SIGNER), tmp_path, dpi=200)
    payloads = [p for page in pages for p in zbar(page)]
    assert payloads == [notice_payload(notice, templates, SIGNER)]


def test_every_single_byte_flip_is_caught() -> None:
    payload = SIGNER.sign(licence_fields(_licence("realistic")))
    for index in range(len(payload)):
        if payload[index] == ".":
            continue
        verdict = verify_payload(_flip(payload, index), KEYS)
        assert verdict.status is not Status.GENUINE, index


def test_unknown_issuer() -> None:
    other = Signer.generate()
    payload = other.sign(licence_fields(_licence("realistic")))
    verdict = verify_payload(payload, KEYS)
    assert verdict.status is Status.UNKNOWN_ISSUER
    assert verdict.key_id == other.key_id
    assert verdict.fields[F_HOLDER] == _licence("realistic").holder  # readable, but not vouched for


def test_a_key_swapped_in_the_payload_does_not_pass() -> None:
    other = Signer.generate()
    payload = other.sign(licence_fields(_licence("realistic")))
    prefix, fields, _, signature = payload.split(".")
    forged = ".".join([prefix, fields, SIGNER.key_id, signature])
    assert verify_payload(forged, KEYS).status is Status.ALTERED


@pytest.mark.parametrize("text", ["", "CLK1", "CLK1.a.b.c.d", "hello.world.x.y", "CLK1.!!!.00.00"])
def test_garbage_is_altered(text: str) -> None:
    assert verify_payload(text, KEYS).status in {Status.ALTERED, Status.UNKNOWN_ISSUER}
    assert not verify_payload(text, KEYS).genuine


def test_payload_is_ascii_and_private_key_round_trips() -> None:
    payload = SIGNER.sign(licence_fields(_licence("hostile")))
    assert payload.isascii()
    again = Signer.from_private_bytes(SIGNER.private_bytes())
    assert again.key_id == SIGNER.key_id


def test_sample_identifier_has_a_valid_check_character() -> None:
    parsed = parse_licence_identifier(_licence("realistic").identifier)
    assert parsed.check_ok
