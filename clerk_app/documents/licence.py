"""Licences and certificates: holder, codes, number, issuer, dates, GB/T 36901 identifier, signed QR.

The QR code (ISO/IEC 18004, error correction level M) carries the signed payload of
:mod:`clerk_app.documents.verification`; it is drawn as vector squares, so it scans at any print
resolution. The identifier is printed in full under the code (1.2.156.3005.2.… with its MOD 37,36
check character), as GB/T 36901 asks for a human-readable identifier beside the machine one.
"""

from __future__ import annotations

import segno
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


QR_LEVEL = "m"
# A fixed mask pattern (ISO/IEC 18004 §7.8.2 allows any of the eight): choosing the best one
# evaluates all eight and costs most of the time of the whole code; decoders do not care.
QR_MASK = 2


def qr_matrix(payload: bytes, border: int = 4) -> list[list[bool]]:
    """The module matrix (with its quiet zone) of ``payload`` as one byte-mode segment at level M,
    encoded by segno."""
    code = segno.make_qr(payload, error=QR_LEVEL, mask=QR_MASK, boost_error=False, mode="byte")
    return [[bool(module) for module in row] for row in code.matrix_iter(scale=1, border=border)]


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
