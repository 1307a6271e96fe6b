"""Every document type, with realistic and with hostile data: fields on paper, margins, fonts."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pypdf
import pytest
from documents_pdfcheck import expected_texts, ink_box, pdffonts, render_pages, text_of, to_points

from clerk_app.documents import samples
from clerk_app.documents.dto import Document, Licence, QueueSlip
from clerk_app.documents.layout import INK_BOX, Reprint
from clerk_app.documents.licence import LICENCE_INK_BOX
from clerk_app.documents.render import doc_type_of, render
from clerk_app.documents.slip import SLIP_MARGIN
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import Signer

DPI = 50
SIGNER = Signer.from_private_bytes(bytes(range(32)))
CASES: list[tuple[str, Document]] = [
    *((f"realistic-{doc_type_of(d)}", d) for d in samples.realistic()),
    *((f"hostile-{doc_type_of(d)}", d) for d in samples.hostile()),
]


@cache
def pdf_of(case_id: str) -> bytes:
    document = dict(CASES)[case_id]
    return render(document, load_templates(), signer=SIGNER)


@pytest.mark.parametrize("case_id", [c for c, _ in CASES])
def test_every_field_is_on_the_page(case_id: str) -> None:
    document = dict(CASES)[case_id]
    text = text_of(pdf_of(case_id))
    missing = [value for value in expected_texts(document) if value not in text]
    assert not missing, f"not found in the PDF text: {missing[:5]}"


@pytest.mark.parametrize("case_id", [c for c, _ in CASES])
def test_nothing_outside_the_margins(case_id: str, tmp_path: Path) -> None:
    document = dict(CASES)[case_id]
    pages = render_pages(pdf_of(case_id), tmp_path, dpi=DPI)
    assert pages
    if isinstance(document, QueueSlip):
        limits: tuple[float, ...] = (SLIP_MARGIN - 1, 2.0, SLIP_MARGIN - 1, 2.0)
    elif isinstance(document, Licence):
        limits = LICENCE_INK_BOX
    else:
        limits = INK_BOX
    tolerance = 72 / DPI  # one pixel of rounding
    for page in pages:
        box = ink_box(page)
        assert box is not None, f"{page.name} is blank"
        distances = to_points(box, DPI)
        for side, distance, limit in zip(("left", "top", "right", "bottom"), distances, limits, strict=True):
            assert distance >= limit - tolerance, f"{page.name}: ink {distance:.1f}pt from the {side} edge"


@pytest.mark.parametrize("case_id", [c for c, _ in CASES])
def test_fonts_are_embedded(case_id: str, tmp_path: Path) -> None:
    fonts = pdffonts(pdf_of(case_id), tmp_path)
    assert fonts
    assert all(embedded == "yes" for _, embedded in fonts), fonts
    assert not any("Helvetica" in name for name, _ in fonts)


def test_hostile_lists_continue_on_further_pages() -> None:
    correction = next(d for c, d in CASES if c == "hostile-correction")
    reader = pypdf.PdfReader(io.BytesIO(pdf_of("hostile-correction")))
    assert len(reader.pages) > 2
    # the table header repeats on every page the table runs over
    headers = sum("需补正材料" in page.extract_text() for page in reader.pages)
    assert headers >= 2
    assert len(correction.missing) == 60  # type: ignore[union-attr]


def test_ext_b_characters_come_back_as_themselves() -> None:
    text = text_of(pdf_of("realistic-refusal"))
    assert "张𠮷䶮" in text


def test_same_input_same_bytes() -> None:
    document = samples.realistic()[0]
    templates = load_templates()
    assert render(document, templates) == render(document, templates)


def test_reprint_is_marked_with_its_counter() -> None:
    document = samples.realistic()[0]
    templates = load_templates()
    original = text_of(render(document, templates))
    copy = text_of(render(document, templates, reprint=Reprint(copy_no=3)))
    assert "副本" not in original
    assert "副本（第3次打印）" in copy


def test_licence_needs_a_signer() -> None:
    licence = next(d for d in samples.realistic() if isinstance(d, Licence))
    with pytest.raises(ValueError, match="签名密钥"):
        render(licence, load_templates())


def test_slip_is_80mm_wide_and_grows_with_its_text() -> None:
    realistic = pypdf.PdfReader(io.BytesIO(pdf_of("realistic-queue_slip"))).pages
    hostile = pypdf.PdfReader(io.BytesIO(pdf_of("hostile-queue_slip"))).pages
    assert len(realistic) == len(hostile) == 1
    assert float(realistic[0].mediabox.width) == pytest.approx(80 * 72 / 25.4, abs=0.1)
    assert float(hostile[0].mediabox.height) > float(realistic[0].mediabox.height)


def test_a4_pages() -> None:
    page = pypdf.PdfReader(io.BytesIO(pdf_of("realistic-acceptance"))).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
        (595.28, 841.89), abs=0.1
    )


def test_documents_rendered_in_several_threads_at_once_come_out_whole() -> None:
    """reportlab's TrueType subsetting keeps state in one face object per font, shared by every
    document: several threads writing PDFs at once (workstations' worker threads, a report while
    a notice prints) broke each other's subsets (KeyError in ``makeSubset``) until PDF writing
    was serialised. Every document rendered at once equals the one rendered alone."""
    import threading

    templates = load_templates()
    documents = [d for _, d in CASES]
    alone = [render(d, templates, signer=SIGNER) for d in documents]
    results: dict[tuple[int, int], bytes] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for round_ in range(2):
                for index, document in enumerate(documents):
                    if (index + worker + round_) % 2 == 0:
                        results[(worker, index)] = render(document, templates, signer=SIGNER)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert results and all(pdf == alone[index] for (_w, index), pdf in results.items())
