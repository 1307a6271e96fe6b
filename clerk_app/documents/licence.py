"""Licences and certificates: holder, codes, number, issuer, dates, GB/T 36901 identifier, signed QR.

The QR code (ISO/IEC 18004, error correction level M) carries the signed payload of
:mod:`clerk_app.documents.verification`; it is drawn as vector squares, so it scans at any print
resolution. The identifier is printed in full under the code (1.2.156.3005.2.… with its MOD 37,36
check character), as GB/T 36901 asks for a human-readable identifier beside the machine one.
"""

from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.base
import qrcode.constants
import qrcode.LUT
import qrcode.util
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Spacer, Table, TableStyle

from clerk_app.documents.dto import DocType, Licence
from clerk_app.documents.fonts import BODY
from clerk_app.documents.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SealBlock,
    Styles,
    cn_date,
    field_table,
    para,
    title_block,
)
from clerk_app.documents.templates import Templates
from clerk_app.documents.verification import Signer, licence_fields

#: The certificate border sits 6 mm outside the text block: (left, top, right, bottom) in points.
LICENCE_INK_BOX = (MARGIN_LEFT - 7 * mm, 15 * mm, MARGIN_RIGHT - 7 * mm, 15 * mm)

HOLDER_CODE_TYPES = {"111": "居民身份证", "001": "统一社会信用代码"}


QR_LEVEL = qrcode.constants.ERROR_CORRECT_M
# A fixed mask pattern (ISO/IEC 18004 §7.8.2 allows any of the eight): choosing the best one tries
# all eight and costs most of the time of a whole notice; decoders do not care.
QR_MASK = 2
_EXP = qrcode.base.EXP_TABLE
_LOG = qrcode.base.LOG_TABLE


def _byte_mode_version(length: int, level: int) -> int:
    """The smallest QR version whose capacity at ``level`` holds ``length`` bytes in byte mode."""
    for version in range(1, 41):
        count_bits = 8 if version < 10 else 16
        if 4 + count_bits + 8 * length <= qrcode.util.BIT_LIMIT_TABLE[level][version]:
            return version
    raise qrcode.exceptions.DataOverflowError(f"{length} bytes do not fit a QR code")


@lru_cache(maxsize=32)
def _rs_table(count: int) -> tuple[int, ...]:
    """For each feedback byte, the generator polynomial times that byte, as one big integer."""
    generator = [_LOG[c] for c in qrcode.LUT.rsPoly_LUT[count][1:]]
    table = [0]
    for factor in range(1, 256):
        shift = _LOG[factor]
        product = bytes(_EXP[(shift + exponent) % 255] for exponent in generator)
        table.append(int.from_bytes(product, "big"))
    return tuple(table)


def _ec_codewords(data: list[int], count: int) -> list[int]:
    """Reed–Solomon remainder of ``data``: the division as a shift register held in one integer
    (``qrcode`` does it with polynomial objects, many times slower)."""
    table = _rs_table(count)
    top = 8 * (count - 1)
    mask = (1 << 8 * count) - 1
    remainder = 0
    for value in data:
        factor = value ^ (remainder >> top)
        remainder = ((remainder << 8) & mask) ^ table[factor]
    return list(remainder.to_bytes(count, "big"))


def qr_codewords(payload: bytes, version: int, level: int = QR_LEVEL) -> list[int]:
    """The final codeword sequence of a one-segment byte-mode QR code (ISO/IEC 18004 §7.4–7.6):
    mode, count, data, terminator, padding, then the data and error-correction codewords of the
    blocks interleaved — what ``qrcode.util.create_data`` returns for the same input."""
    blocks = qrcode.base.rs_blocks(version, level)
    capacity = sum(block.data_count for block in blocks)
    count_bits = 8 if version < 10 else 16
    bits = (((0b0100 << count_bits) | len(payload)) << 8 * len(payload)) | int.from_bytes(payload, "big")
    length = 4 + count_bits + 8 * len(payload)
    if length > capacity * 8:
        raise qrcode.exceptions.DataOverflowError(f"{len(payload)} bytes do not fit version {version}")
    terminator = min(capacity * 8 - length, 4)
    length += terminator
    pad = -length % 8
    bits <<= terminator + pad
    length += pad
    data = list(bits.to_bytes(length // 8, "big"))
    data.extend((qrcode.util.PAD0, qrcode.util.PAD1)[i % 2] for i in range(capacity - len(data)))
    offset = 0
    dc_blocks: list[list[int]] = []
    ec_blocks: list[list[int]] = []
    for block in blocks:
        dc = data[offset : offset + block.data_count]
        offset += block.data_count
        dc_blocks.append(dc)
        ec_blocks.append(_ec_codewords(dc, block.total_count - block.data_count))
    out: list[int] = []
    for group in (dc_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


@lru_cache(maxsize=16)
def _layout(
    version: int, level: int, mask: int
) -> tuple[list[list[bool | None]], list[tuple[int, int, bool]]]:
    """The function patterns and format/version information of a version (data modules None),
    and the data modules in placement order (ISO/IEC 18004 §7.7.3) with their mask bit — computed
    once per version instead of walking the matrix and calling the mask function per document."""
    code = qrcode.QRCode(version=version, error_correction=level, mask_pattern=mask, border=0)
    code.data_cache = []  # not None: no data to encode for the skeleton
    code.map_data = lambda data, mask_pattern: None
    code.makeImpl(False, mask)
    blank: list[list[bool | None]] = code.modules
    flips = qrcode.util.mask_func(mask)
    count = len(blank)
    positions: list[tuple[int, int, bool]] = []
    row, step = count - 1, -1
    for right in range(count - 1, 0, -2):
        col = right - 1 if right <= 6 else right  # the vertical timing pattern is skipped
        while True:
            for c in (col, col - 1):
                if blank[row][c] is None:
                    positions.append((row, c, bool(flips(row, c))))
            row += step
            if row < 0 or row >= count:
                row -= step
                step = -step
                break
    return blank, positions


def qr_matrix(payload: bytes, border: int = 4) -> list[list[bool]]:
    """The module matrix (with its quiet zone) of ``payload`` as one byte-mode segment at level M."""
    version = _byte_mode_version(len(payload), QR_LEVEL)
    blank, positions = _layout(version, QR_LEVEL, QR_MASK)
    bits = "".join(f"{value:08b}" for value in qr_codewords(payload, version))
    modules = [list(row) for row in blank]
    for index, (row, col, flip) in enumerate(positions):
        dark = index < len(bits) and bits[index] == "1"
        modules[row][col] = dark != flip
    width = len(modules) + 2 * border
    quiet = [[False] * width for _ in range(border)]
    side = [False] * border
    return [*quiet, *([*side, *(bool(m) for m in row), *side] for row in modules), *[list(r) for r in quiet]]


class QrFlowable(Flowable):  # type: ignore[misc]
    """A QR code of ``payload``, ``size`` points square, with a 4-module quiet zone inside it."""

    def __init__(self, payload: str, size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(payload.encode("ascii"))
        self.size = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        """One ``re`` operator per horizontal run of dark modules, in module units, one fill."""
        canvas: Canvas = self.canv
        count = len(self.matrix)
        ops: list[str] = []
        for row_index, row in enumerate(self.matrix):
            col = 0
            while col < count:
                if row[col]:
                    start = col
                    while col < count and row[col]:
                        col += 1
                    ops.append(f"{start} {row_index} {col - start} 1 re")
                else:
                    col += 1
        canvas.saveState()
        canvas.setFillColor(colors.black)
        canvas.translate(0, self.size)
        canvas.scale(self.size / count, -self.size / count)
        canvas.addLiteral("\n".join([*ops, "f"]))
        canvas.restoreState()


def validity_text(licence: Licence, permanent: str) -> str:
    """``2026年11月28日至2031年11月27日`` or ``2026年11月28日至长期``."""
    until = cn_date(licence.valid_until) if licence.valid_until else permanent
    return f"{cn_date(licence.valid_from)}至{until}"


def licence_story(licence: Licence, templates: Templates, styles: Styles, signer: Signer) -> list[Flowable]:
    """The certificate page: title, number, holder block, items, QR with identifier, seal."""
    wording = templates.wording(DocType.LICENCE)
    permanent = wording.text("validity_permanent", "长期")
    story = title_block(licence.title, f"编号：{licence.licence_number}", styles)
    code_type = HOLDER_CODE_TYPES.get(licence.holder_code_type, licence.holder_code_type)
    rows = [
        ("持证主体", licence.holder),
        ("持证主体代码", licence.holder_code),
        ("代码类型", f"{code_type}（{licence.holder_code_type}）"),
        *((item.label, item.value) for item in licence.items),
        ("有效期限", validity_text(licence, permanent)),
        ("颁发机构", licence.issuer),
        ("颁发机构代码", licence.issuer_code),
        ("颁发日期", cn_date(licence.issue_date)),
    ]
    story.append(field_table(rows, styles))
    story.append(Spacer(1, 6 * mm))
    payload = signer.sign(licence_fields(licence))
    qr_size = 44 * mm
    caption = [
        para(wording.text("verify_hint"), styles.small),
        para("证照标识：", styles.small),
        para(licence.identifier, styles.small),
    ]
    seal = SealBlock(licence.issuer, cn_date(licence.issue_date), templates.hall.seal_image, styles)
    bottom = Table(
        [[QrFlowable(payload, qr_size), caption, seal]],
        colWidths=[qr_size + 4 * mm, FRAME_WIDTH * 0.32, None],
    )
    bottom.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), BODY),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story.append(bottom)
    return story


def border(canvas: Canvas, doc: BaseDocTemplate) -> None:
    """A double rule around the text block, as on printed certificates (inside the ink box)."""
    canvas.saveState()
    canvas.setStrokeColor(colors.Color(0.55, 0.1, 0.1))
    outer = 6 * mm
    for inset, width in ((0.0, 1.6), (2.2 * mm, 0.5)):
        canvas.setLineWidth(width)
        canvas.rect(
            MARGIN_LEFT - outer + inset,
            MARGIN_BOTTOM - outer + inset,
            PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT + 2 * (outer - inset),
            PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM + 2 * (outer - inset),
        )
    canvas.restoreState()
