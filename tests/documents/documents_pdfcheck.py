"""Reading PDFs back for the document tests: text, expected field texts, rendered pages, ink boxes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
from enum import Enum
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from clerk_app.documents.dto import Document, Licence, QueueSlip
from clerk_app.documents.layout import cn_date, cn_minute

POINTS_PER_INCH = 72.0
#: DTO fields that select wording and are not printed themselves.
NOT_PRINTED = frozenset({"matter_code"})


def text_of(pdf: bytes) -> str:
    """All page text, whitespace removed, page numbers (— n —) removed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    raw = "".join(page.extract_text() for page in reader.pages)
    squeezed = re.sub(r"\s+", "", raw)
    return re.sub(r"—\d+—", "", squeezed)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _values(value: object, document: Document) -> list[str]:
    if isinstance(value, Enum) or value is None or isinstance(value, bool):
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, dt.datetime):
        if isinstance(document, QueueSlip):
            return [cn_date(value.date()), value.strftime("%H:%M:%S")]
        return [cn_minute(value)]
    if isinstance(value, dt.date):
        return [cn_date(value)]
    if isinstance(value, tuple):
        return [v for item in value for v in _values(item, document)]
    if dataclasses.is_dataclass(value):
        fields = [f for f in dataclasses.fields(value) if f.name not in NOT_PRINTED]
        return [v for f in fields for v in _values(getattr(value, f.name), document)]
    raise TypeError(type(value))


def expected_texts(document: Document) -> list[str]:
    """Every field value of the DTO as it must appear on paper (dates in Chinese form)."""
    out = [squeeze(v) for v in _values(document, document)]
    if isinstance(document, Licence) and document.valid_until is None:
        out.append("长期")
    return out


def render_pages(pdf: bytes, tmp: Path, dpi: int = 50, gray: bool = True) -> list[Path]:
    """Pages as PNG files through poppler's pdftoppm."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils): pages cannot be rendered")
    source = tmp / "doc.pdf"
    source.write_bytes(pdf)
    args = [exe, "-r", str(dpi), "-png"] + (["-gray"] if gray else []) + [str(source), str(tmp / "page")]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return sorted(tmp.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def ink_box(png: Path, threshold: int = 235) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) distances of the ink from the page edges, in points."""
    with Image.open(png) as image:
        gray = image.convert("L")
        mask = gray.point(lambda v: 255 if v < threshold else 0)
        box = mask.getbbox()
        width, height = gray.size
    if box is None:
        return None
    return box[0], box[1], width - box[2], height - box[3]


def to_points(distances: tuple[float, float, float, float], dpi: int) -> tuple[float, ...]:
    return tuple(d * POINTS_PER_INCH / dpi for d in distances)


def pdffonts(pdf: bytes, tmp: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) rows from poppler's pdffonts."""
    exe = shutil.which("pdffonts")
    if exe is None:
        pytest.skip("pdffonts not installed (apt-get install poppler-utils): font table cannot be read")
    source = tmp / "fonts.pdf"
    source.write_bytes(pdf)
    lines = subprocess.run([exe, str(source)], check=True, capture_output=True, text=True).stdout.splitlines()
    header = lines[0]
    emb_at = header.index("emb")
    return [(line.split()[0], line[emb_at : emb_at + 3].strip()) for line in lines[2:] if line.strip()]


def zbar(png: Path) -> list[str]:
    """QR payloads decoded by zbarimg (raw, one per symbol)."""
    exe = shutil.which("zbarimg")
    if exe is None:
        pytest.skip("zbarimg not installed (apt-get install zbar-tools): QR codes cannot be decoded")
    result = subprocess.run(
        [exe, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(png)],
        check=False,  # zbarimg exits 4 when it finds no symbol: the test then sees no payload
        capture_output=True,
        text=True,
        timeout=120,
    )
    return [line for line in result.stdout.splitlines() if line.strip()]
