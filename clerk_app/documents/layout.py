"""Page geometry, styles and flowables shared by all A4 documents (official-document look).

Left and right margins follow GB/T 9704-2012 §5.2.1 (党政机关公文格式: left 28 mm, right 26 mm);
top and bottom are 30 mm and 28 mm instead of 37/35 so that a notice with its tear-off receipt fits
one page. The page number sits in the bottom margin (§7.5), the reprint mark in the top margin.
Nothing is drawn outside ``INK_BOX`` — tests check the rendered pages against it.
Every text from data goes through :func:`clerk_app.documents.fonts.markup` (escaping and font
fallback), tables are ``LongTable`` with a repeated header so they split across pages, and
paragraphs wrap with ``wordWrap="CJK"`` so that long names never run off the page.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfdoc import PDFImageXObject, PDFObjectReference
from reportlab.pdfgen.canvas import Canvas, _digester
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    LongTable,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)

from clerk_app.documents.fonts import BODY, draw_string, markup, register_fonts, writing_pdf

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_TOP = 30 * mm
MARGIN_BOTTOM = 28 * mm
MARGIN_LEFT = 28 * mm
MARGIN_RIGHT = 26 * mm
FRAME_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
#: (left, top, right, bottom) distances from the page edges that no ink may cross, in points.
INK_BOX = (MARGIN_LEFT, 15 * mm, MARGIN_RIGHT, 15 * mm)


@dataclass(frozen=True, slots=True)
class Reprint:
    """A reprint: the page carries 副本 and the copy counter (the original has none)."""

    copy_no: int


@dataclass(frozen=True, slots=True)
class Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    number: ParagraphStyle
    body: ParagraphStyle
    plain: ParagraphStyle
    cell: ParagraphStyle
    head: ParagraphStyle
    right: ParagraphStyle
    small: ParagraphStyle


def _style(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=BODY, fontSize=size, leading=leading, wordWrap="CJK", **kw)


def make_styles(scale: float = 1.0) -> Styles:
    """Title 二号 (22 pt), body 小四 12 pt, table 五号 10.5 pt, scaled for the receipt slip."""
    return Styles(
        title=_style("title", 22 * scale, 30 * scale, alignment=TA_CENTER, spaceAfter=4 * mm * scale),
        subtitle=_style("subtitle", 16 * scale, 22 * scale, alignment=TA_CENTER, spaceAfter=3 * mm),
        number=_style("number", 13 * scale, 18 * scale, alignment=TA_CENTER, spaceAfter=6 * mm * scale),
        body=_style("body", 12 * scale, 20 * scale, alignment=TA_JUSTIFY, firstLineIndent=24 * scale),
        plain=_style("plain", 12 * scale, 20 * scale, alignment=TA_LEFT),
        cell=_style("cell", 10.5 * scale, 14 * scale, alignment=TA_LEFT),
        head=_style("head", 10.5 * scale, 14 * scale, alignment=TA_CENTER),
        right=_style("right", 12 * scale, 20 * scale, alignment=TA_RIGHT),
        small=_style("small", 9 * scale, 12 * scale, alignment=TA_LEFT),
    )


def cn_date(day: dt.date | None) -> str:
    """2026年11月28日 (GB/T 9704 §7.3.5.2 writes dates in Arabic numerals, no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else "____年__月__日"


def cn_minute(moment: dt.datetime) -> str:
    """A time to the minute, as 送达回证 requires: 2026年11月28日9时05分."""
    return f"{cn_date(moment.date())}{moment.hour}时{moment.minute:02d}分"


def blank(value: str, width: int = 12) -> str:
    """``value``, or an underscore line to be filled in by hand when it is empty."""
    return value if value.strip() else "_" * width


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped, with font fallback)."""
    return Paragraph(markup(text), style)


def title_block(title: str, number: str, styles: Styles) -> list[Flowable]:
    """Centred title and the document number line below it."""
    out: list[Flowable] = [para(title, styles.title)]
    if number:
        out.append(para(number, styles.number))
    else:
        out.append(Spacer(1, 4 * mm))
    return out


def _grid(header_rows: int) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), BODY),  # the default is Helvetica, which is never embedded
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header_rows:
        commands.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.Color(0.93, 0.93, 0.93)))
    return TableStyle(commands)


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], styles: Styles
) -> LongTable:
    """A ruled table that splits across pages and repeats its header; widths are fractions."""
    total = sum(widths)
    col_widths = [FRAME_WIDTH * w / total for w in widths]
    data: list[list[Flowable]] = []
    if header:
        data.append([para(h, styles.head) for h in header])
    data.extend([para(cell, styles.cell) for cell in row] for row in rows)
    out = LongTable(data, colWidths=col_widths, repeatRows=1 if header else 0, splitByRow=1)
    out.setStyle(_grid(1 if header else 0))
    return out


def field_table(rows: Sequence[tuple[str, str]], styles: Styles, label_share: float = 0.26) -> LongTable:
    """Label/value rows (申请人, 证件号码 …) as a two-column ruled table."""
    data = [[para(label, styles.head), para(blank(value), styles.cell)] for label, value in rows]
    out = LongTable(
        data, colWidths=[FRAME_WIDTH * label_share, FRAME_WIDTH * (1 - label_share)], splitByRow=1
    )
    out.setStyle(_grid(0))
    return out


SHORT_VALUE = 18  # characters that fit half a row at 10.5 pt


def field_grid(rows: Sequence[tuple[str, str]], styles: Styles) -> LongTable:
    """Label/value rows two to a line where both values are short; long values get a whole line."""
    widths = [0.15, 0.35, 0.15, 0.35]
    data: list[list[Flowable | str]] = []
    spans: list[tuple[Any, ...]] = []
    pending: tuple[str, str] | None = None

    def cells(label: str, value: str) -> list[Flowable | str]:
        return [para(label, styles.head), para(blank(value, 8), styles.cell)]

    def flush_pending() -> None:
        nonlocal pending
        if pending is not None:
            data.append([*cells(*pending), "", ""])
            spans.append(("SPAN", (1, len(data) - 1), (3, len(data) - 1)))
            pending = None

    for label, value in rows:
        if len(value) > SHORT_VALUE:
            flush_pending()
            data.append([*cells(label, value), "", ""])
            spans.append(("SPAN", (1, len(data) - 1), (3, len(data) - 1)))
        elif pending is None:
            pending = (label, value)
        else:
            data.append([*cells(*pending), *cells(label, value)])
            pending = None
    flush_pending()
    out = LongTable(data, colWidths=[FRAME_WIDTH * w for w in widths], splitByRow=1)
    out.setStyle(_grid(0))
    out.setStyle(TableStyle(spans))
    return out


SEAL_PIXELS = 360  # 40 mm at about 230 dpi: sharp on paper, cheap to embed


@lru_cache(maxsize=8)
def _seal_png(path: Path, mtime: float) -> bytes:
    with PILImage.open(path) as source:
        image = source.convert("RGBA")
    image.thumbnail((SEAL_PIXELS, SEAL_PIXELS))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@lru_cache(maxsize=8)
def _seal_reader(path: Path, mtime: float) -> ImageReader:
    return ImageReader(io.BytesIO(_seal_png(path, mtime)))


def seal_image(path: Path) -> ImageReader:
    """The seal scaled to print resolution, decoded once per file version (kept in memory)."""
    return _seal_reader(path, path.stat().st_mtime)


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An image XObject compressed once and reused by every PDF (reportlab compresses the pixels
    of ``drawImage`` again for each canvas, which for the seal was a sixth of a notice's time)."""

    name: str
    image: PDFImageXObject
    smask: PDFImageXObject | None


@lru_cache(maxsize=8)
def _prepared_seal(path: Path, mtime: float) -> PreparedImage:
    reader = _seal_reader(path, mtime)
    pixels = reader.getRGBData()  # decodes the image and splits off its alpha channel (_dataA)
    alpha = reader._dataA.getRGBData() if reader._dataA else b"auto"
    # The same name reportlab's drawImage gives it, so the output is byte for byte the same.
    name = _digest(pixels + alpha)
    image = PDFImageXObject(name, reader, mask="auto")
    smask = image.__dict__.pop("_smask", None)
    return PreparedImage(name, image, smask)


def _digest(data: bytes) -> str:
    return str(_digester(data))


def prepared_seal(path: Path) -> PreparedImage:
    """The seal as a ready image XObject, prepared once per file version."""
    return _prepared_seal(path, path.stat().st_mtime)


def draw_prepared(canvas: Canvas, prepared: PreparedImage, x: float, y: float, w: float, h: float) -> None:
    """``canvas.drawImage`` for a :class:`PreparedImage`: registers shallow copies of the shared
    XObjects with this canvas's document (the compressed bytes are shared, never changed)."""
    doc = canvas._doc
    canvas._currentPageHasImages = 1
    reg_name = doc.getXObjectName(prepared.name)
    if doc.idToObject.get(reg_name) is None:
        image = copy.copy(prepared.image)
        image.name = prepared.name
        canvas._setXObjects(image)
        doc.Reference(image, reg_name)
        doc.addForm(prepared.name, image)
        if prepared.smask is not None:
            mask_name = doc.getXObjectName(prepared.smask.name)
            if doc.idToObject.get(mask_name) is None:
                smask = copy.copy(prepared.smask)
                canvas._setXObjects(smask)
                image.smask = doc.Reference(smask, mask_name)
            else:
                image.smask = PDFObjectReference(mask_name)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(w, h)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(prepared.name)


class SealBlock(Flowable):  # type: ignore[misc]
    """Authority name and date at the bottom right, with the seal image stamped over them.

    GB/T 9704 §7.3.5.1: the seal sits over the authority name and date, centred on them; the block
    never splits, so it moves to the next page whole when the current one is full.
    """

    def __init__(self, authority: str, date_text: str, seal: Path | None, styles: Styles) -> None:
        super().__init__()
        self._seal = seal
        self._block_width = 80 * mm
        self._lines = [para(authority, styles.head), para(date_text, styles.head)]
        for line in self._lines:
            line.style = ParagraphStyle("seal", parent=styles.plain, alignment=TA_CENTER)
        self._hint = None if seal else para("（盖章）", styles.head)
        self._seal_size = 40 * mm
        self._text_heights: list[float] = []
        self.qr: Flowable | None = None  # a verification code drawn at the left, if attached

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self._block_width = min(80 * mm, avail_width)
        self._seal_size = min(40 * mm, self._block_width)
        self._text_heights = [line.wrap(self._block_width, avail_height)[1] for line in self._lines]
        text = sum(self._text_heights)
        self.width = avail_width
        # The seal may reach a few millimetres above the block, over the closing text, as a
        # stamp does on paper; the block itself only reserves room for the text and the QR code.
        self.height = max(self._seal_size - 8 * mm, text + 12 * mm)
        if self.qr is not None:
            self.height = max(self.height, self.qr.wrap(avail_width, avail_height)[1])
        return self.width, self.height

    def draw(self) -> None:
        canvas: Canvas = self.canv
        left = self.width - self._block_width
        y = self.height / 2 + sum(self._text_heights) / 2
        for line, height in zip(self._lines, self._text_heights, strict=True):
            y -= height
            line.drawOn(canvas, left, y)
        if self._seal is not None:
            size = self._seal_size
            draw_prepared(
                canvas,
                prepared_seal(self._seal),
                left + (self._block_width - size) / 2,
                (self.height - size) / 2,
                size,
                size,
            )
        elif self._hint is not None:
            _, h = self._hint.wrap(self._block_width, self.height)
            self._hint.drawOn(canvas, left, self.height - h)
        if self.qr is not None:
            self.qr.drawOn(canvas, 0, 0)


def signature_line(labels: Sequence[str], styles: Styles) -> Paragraph:
    """``申请人（签名）：________    日期：____年__月__日`` on one line (wrapping if it must)."""
    parts = [f"{label}：{'_' * 10}" for label in labels]
    parts.append("日期：____年__月__日")
    return para("    ".join(parts), styles.plain)


def receipt_section(title: str, text: str, styles: Styles) -> KeepTogether:
    """The applicant's receipt (回执) below a cut line, kept on one page."""
    cut = para("- - - - - - - - - - - - - - 沿此线裁开 - - - - - - - - - - - - - -", styles.head)
    return KeepTogether(
        [
            Spacer(1, 6 * mm),
            cut,
            Spacer(1, 3 * mm),
            para(f"回  执（{title}）", styles.subtitle),
            para(text, styles.body),
            Spacer(1, 4 * mm),
            signature_line(["申请人（签名）"], styles),
        ]
    )


PageHook = Callable[[Canvas, BaseDocTemplate], None]


def _decorate(reprint: Reprint | None) -> PageHook:
    def on_page(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        draw_string(canvas, PAGE_WIDTH / 2, 18 * mm, f"— {doc.page} —", 10.5, "centre")
        if reprint is not None:
            mark = f"副本（第{reprint.copy_no}次打印）"
            draw_string(canvas, PAGE_WIDTH - MARGIN_RIGHT, PAGE_HEIGHT - 20 * mm, mark, 12, "right")
            canvas.setFillColor(colors.Color(0.6, 0.6, 0.6, alpha=0.25))
            canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
            canvas.rotate(35)
            draw_string(canvas, 0, -40, "副 本", 110, "centre")
        canvas.restoreState()

    return on_page


def build_a4(
    story: Sequence[Flowable],
    *,
    title: str,
    subject: str,
    author: str,
    reprint: Reprint | None = None,
    extra_hook: PageHook | None = None,
) -> bytes:
    """Lay ``story`` out on A4 pages and return the PDF bytes (deterministic for equal input)."""
    register_fonts()
    with writing_pdf():
        return _build_a4(
            story, title=title, subject=subject, author=author, reprint=reprint, extra_hook=extra_hook
        )


def _build_a4(
    story: Sequence[Flowable],
    *,
    title: str,
    subject: str,
    author: str,
    reprint: Reprint | None,
    extra_hook: PageHook | None,
) -> bytes:
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_LEFT,
        rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        subject=subject,
        author=author,
        creator="clerk-app",
        invariant=1,
        initialFontName=BODY,
    )
    frame = Frame(
        MARGIN_LEFT, MARGIN_BOTTOM, FRAME_WIDTH, PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM, id="body"
    )
    decorate = _decorate(reprint)

    def on_page(canvas: Canvas, document: BaseDocTemplate) -> None:
        decorate(canvas, document)
        if extra_hook is not None:
            extra_hook(canvas, document)

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    doc.build(list(story))
    return out.getvalue()
