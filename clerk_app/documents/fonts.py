"""Bundled TrueType fonts, registered once, and per-character font fallback for reportlab.

Every PDF embeds its fonts as subsets (reportlab's ``TTFont`` subsetting), so a printout renders the
same on a machine without any CJK font. No single freely licensed TrueType font covers everything
that appears in a hall's data, so text is split into runs and each run is set in the first font of
the chain that has a glyph for it:

1. ``DroidSansFallbackFull.ttf`` — CJK Unified Ideographs incl. Extension A (e.g. 䶮), CJK punctuation;
2. ``DejaVuSans.ttf`` — Latin letters, digits, ASCII punctuation, the space, “”, □, √ (the CJK font has none);
3. ``HanaMinB.ttf`` — CJK Extension B and later planes (e.g. 𠮷 U+20BB7), as found in personal names.

reportlab writes the ToUnicode map of a subset with one ``<%04X>`` per code point, which is an
odd-length, invalid hex string for a code point above U+FFFF; text extraction and copy-paste of
such a character then fail. :func:`_to_unicode_cmap` writes the UTF-16BE surrogate pair instead
(PDF 32000-1 §9.10.3: the destination string of a bfchar is UTF-16BE) and replaces reportlab's
function at registration time.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.resources import as_file
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
from reportlab.pdfgen.canvas import Canvas

from clerk_app.paths import resource

#: reportlab font names, in fallback order.
BODY = "ClerkCJK"
LATIN = "ClerkLatin"
EXT_B = "ClerkCJKExtB"

_FILES: tuple[tuple[str, str], ...] = (
    (BODY, "DroidSansFallbackFull.ttf"),
    (LATIN, "DejaVuSans.ttf"),
    (EXT_B, "HanaMinB.ttf"),
)

_lock = threading.Lock()
#: held while a PDF is laid out and written (``writing_pdf``)
_pdf_lock = threading.RLock()
_registered: FontSet | None = None
_files = ExitStack()  # keeps as_file() paths alive for the life of the process


def writing_pdf() -> threading.RLock:
    """Held while a document is laid out and written: reportlab keeps the subset state of each
    TrueType font in one face object shared by every document, and two documents written at
    once in different threads broke each other's subsets (``KeyError`` in ``makeSubset``). A
    document takes tens of milliseconds; documents are written one at a time."""
    return _pdf_lock


@dataclass(frozen=True, slots=True)
class FontSet:
    """The registered chain and what registering it cost (reported by the benchmark)."""

    names: tuple[str, ...]
    coverage: tuple[frozenset[int], ...]
    registration_seconds: float

    def font_for(self, codepoint: int) -> str:
        """The first font of the chain with a glyph for ``codepoint`` (the body font if none has)."""
        for name, cover in zip(self.names, self.coverage, strict=True):
            if codepoint in cover:
                return name
        return self.names[0]

    def covers(self, text: str) -> bool:
        """True if every character of ``text`` has a glyph in some font of the chain."""
        return all(any(ord(ch) in cover for cover in self.coverage) for ch in text if not ch.isspace())


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """ToUnicode CMap for a one-byte-coded subset, UTF-16BE destinations (surrogates above U+FFFF)."""

    def utf16(codepoint: int) -> str:
        return chr(codepoint).encode("utf-16-be", "surrogatepass").hex().upper()

    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{utf16(v)}>" for i, v in enumerate(subset)),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


#: zlib level of every Flate stream (page content, font subsets, ToUnicode maps). reportlab uses
#: zlib's default (6); level 3 makes a one-page notice with QR about 8 % faster to produce for about
#: 3 % more bytes (94 → 97 kB), since the page content (QR code rectangles) and the font subsets are
#: compressed anew for every PDF.
FLATE_LEVEL = 3


def _flate(self: object, text: str | bytes) -> bytes:
    return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, FLATE_LEVEL)


def register_fonts() -> FontSet:
    """Register the bundled chain with reportlab once per process and return it (thread-safe)."""
    global _registered
    with _lock:
        if _registered is not None:
            return _registered
        started = time.perf_counter()
        rl_config.useA85 = 0  # images as binary Flate streams: ASCII85 in pure Python is slow
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap
        pdfdoc.PDFStreamFilterZCompress.encode = _flate
        coverage = []
        for name, filename in _FILES:
            path = _files.enter_context(as_file(resource("fonts", filename)))
            font = ttfonts.TTFont(name, str(path))
            pdfmetrics.registerFont(font)
            coverage.append(frozenset(font.face.charToGlyph))
        _registered = FontSet(
            names=tuple(name for name, _ in _FILES),
            coverage=tuple(coverage),
            registration_seconds=time.perf_counter() - started,
        )
        return _registered


def _runs(text: str, fonts: FontSet) -> Iterator[tuple[str, str]]:
    """Split ``text`` into (font name, run) pairs; a line break stays in the run it ends."""
    current = ""
    buffer: list[str] = []
    for ch in text:
        name = (current or fonts.names[0]) if ch == "\n" else fonts.font_for(ord(ch))
        if name != current and buffer:
            yield current, "".join(buffer)
            buffer = []
        current = name
        buffer.append(ch)
    if buffer:
        yield current, "".join(buffer)


def markup(text: str, fonts: FontSet | None = None) -> str:
    """Paragraph markup for plain ``text``: XML-escaped, each run in a font that has its glyphs.

    Runs in the body font carry no tag (the paragraph style already names it); line breaks become
    ``<br/>``. Use this for every value that comes from data or from an administrator's template.
    """
    chain = fonts or register_fonts()
    out: list[str] = []
    for name, run in _runs(text, chain):
        escaped = escape(run).replace("\n", "<br/>")
        if name == chain.names[0]:
            out.append(escaped)
        else:
            out.append(f'<font name="{name}">{escaped}</font>')
    return "".join(out)


def draw_string(canvas: Canvas, x: float, y: float, text: str, size: float, align: str = "left") -> None:
    """Draw one line on a canvas with the same per-character fallback as :func:`markup`.

    ``align`` is ``left``, ``right`` or ``centre`` relative to ``x`` (page numbers, reprint marks).
    """
    chain = register_fonts()
    runs = list(_runs(text, chain))
    width = sum(pdfmetrics.stringWidth(run, name, size) for name, run in runs)
    start = {"left": x, "right": x - width, "centre": x - width / 2}[align]
    for name, run in runs:
        canvas.setFont(name, size)
        canvas.drawString(start, y, run)
        start += pdfmetrics.stringWidth(run, name, size)


def has_glyphs(text: str) -> bool:
    """True if the bundled chain can draw every non-space character of ``text``."""
    return register_fonts().covers(text)
