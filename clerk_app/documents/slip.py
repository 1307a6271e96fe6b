"""The queue slip on 80 mm thermal receipt paper (72 mm printable, the usual ESC/POS head width).

The page is as long as its content: the story is measured first and the page height set from it,
so a long category name wraps and lengthens the slip instead of being cut.
"""

from __future__ import annotations

import io

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Spacer

from clerk_app.documents.dto import DocType, QueueSlip
from clerk_app.documents.fonts import BODY, register_fonts, writing_pdf
from clerk_app.documents.layout import cn_date, make_styles, para
from clerk_app.documents.templates import Templates

SLIP_WIDTH = 80 * mm
SLIP_MARGIN = 4 * mm
SLIP_TOP = 6 * mm


def slip_story(slip: QueueSlip, templates: Templates) -> list[Flowable]:
    styles = make_styles(scale=0.8)
    centred = ParagraphStyle("slip", parent=styles.plain, alignment=TA_CENTER)
    ticket = ParagraphStyle("ticket", parent=centred, fontSize=40, leading=46)
    wording = templates.wording(DocType.QUEUE_SLIP)
    hall_name = slip.hall_name or templates.hall.hall_name
    issued = f"{cn_date(slip.issued_at.date())} {slip.issued_at:%H:%M:%S}"
    story: list[Flowable] = [
        para(hall_name, centred),
        para(wording.title, centred),
        Spacer(1, 2 * mm),
        para(slip.ticket_number, ticket),
        Spacer(1, 2 * mm),
        para(f"业务类别：{slip.category}", styles.plain),
        para(f"您前面还有 {slip.people_ahead} 人等候", styles.plain),
        para(f"取号时间：{issued}", styles.plain),
    ]
    if slip.note:
        story.append(para(slip.note, styles.plain))
    if templates.hall.slip_footer:
        story.append(Spacer(1, 2 * mm))
        story.append(para(templates.hall.slip_footer, styles.small))
    return story


def build_slip(story: list[Flowable], *, title: str) -> bytes:
    """Lay the slip out on one 80 mm page exactly as tall as the story."""
    register_fonts()
    with writing_pdf():
        return _build_slip(story, title=title)


def _build_slip(story: list[Flowable], *, title: str) -> bytes:
    width = SLIP_WIDTH - 2 * SLIP_MARGIN
    height = sum(f.wrap(width, 10_000)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in story)
    page_height = height + 2 * SLIP_TOP + 2 * mm  # rounding slack
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=(SLIP_WIDTH, page_height),
        leftMargin=SLIP_MARGIN,
        rightMargin=SLIP_MARGIN,
        topMargin=SLIP_TOP,
        bottomMargin=SLIP_TOP,
        title=title,
        creator="clerk-app",
        invariant=1,
        initialFontName=BODY,
    )
    frame = Frame(
        SLIP_MARGIN,
        SLIP_TOP,
        width,
        page_height - 2 * SLIP_TOP,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="slip",
    )
    doc.addPageTemplates([PageTemplate(id="slip", frames=[frame])])
    doc.build(story)
    return out.getvalue()
