"""The supervision report as a PDF: title and period, the key figures, two charts drawn with
reportlab's graphics (the rating levels as a pie with its legend, the 办不成事 categories as
horizontal bars) and the report's tables, on A4 pages with the bundled fonts embedded as subsets
(the same chain and per-character fallback as every other document, so Chinese, Latin and digits
all have glyphs).

The content comes in as plain text and numbers (:class:`ReportContent`); what the figures mean
is the supervision service's business (``clerk_app.services.supervision_reports``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, Group, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, KeepTogether, Spacer

from clerk_app.documents.fonts import LATIN, register_fonts
from clerk_app.documents.layout import FRAME_WIDTH, build_a4, make_styles, para, table

CHART_HEIGHT = 62 * mm
BAR_COLOUR = "#0f3d6e"
TEXT = "#222222"


@dataclass(frozen=True, slots=True)
class Slice:
    label: str
    value: int
    colour: str  # "#rrggbb"


@dataclass(frozen=True, slots=True)
class ReportContent:
    title: str
    period: str
    #: the key figures, (label, value) in the order shown
    summary: Sequence[tuple[str, str]]
    pie_title: str
    pie: Sequence[Slice]
    bars_title: str
    bars: Sequence[tuple[str, int]]
    #: (title, rows) with the header as the first row
    tables: Sequence[tuple[str, Sequence[Sequence[str]]]]
    footer: str = ""
    no_data: str = "—"


def _text(
    x: float, y: float, text: str, size: float, anchor: str = "start", colour: str = "#222222"
) -> Group:
    """One line as chart text: each run in the first font of the chain with its glyphs."""
    fonts = register_fonts()
    runs: list[tuple[str, str]] = []
    for ch in text:
        name = fonts.font_for(ord(ch)) if not ch.isspace() else (runs[-1][0] if runs else LATIN)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + ch)
        else:
            runs.append((name, ch))
    width = sum(pdfmetrics.stringWidth(run, name, size) for name, run in runs)
    start = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
    group = Group()
    for name, run in runs:
        group.add(String(start, y, run, fontName=name, fontSize=size, fillColor=colors.HexColor(colour)))
        start += pdfmetrics.stringWidth(run, name, size)
    return group


def _pie(drawing: Drawing, x: float, width: float, content: ReportContent) -> None:
    drawing.add(_text(x + width / 2, CHART_HEIGHT - 12, content.pie_title, 11, "middle"))
    slices = [s for s in content.pie if s.value > 0]
    total = sum(s.value for s in slices)
    size = min(width * 0.45, CHART_HEIGHT - 30)
    if not slices:
        drawing.add(_text(x + width / 2, CHART_HEIGHT / 2, content.no_data, 10, "middle"))
        return
    pie = Pie()
    pie.x, pie.y = x + 4, (CHART_HEIGHT - 20 - size) / 2
    pie.width = pie.height = size
    pie.data = [s.value for s in slices]
    pie.labels = None
    pie.sideLabels = False
    pie.slices.strokeColor = colors.white
    pie.slices.strokeWidth = 0.8
    for index, s in enumerate(slices):
        pie.slices[index].fillColor = colors.HexColor(s.colour)
    drawing.add(pie)
    legend_x = x + size + 14
    top = CHART_HEIGHT - 30
    for index, s in enumerate(content.pie):  # every level in the legend, empty ones too
        y = top - index * 14
        drawing.add(Rect(legend_x, y - 1, 8, 8, fillColor=colors.HexColor(s.colour), strokeColor=None))
        share = f"{s.value * 100 / total:.1f}%" if total else ""
        drawing.add(_text(legend_x + 12, y, f"{s.label}  {s.value}  {share}", 8.5))


def _bars(drawing: Drawing, x: float, width: float, content: ReportContent) -> None:
    drawing.add(_text(x + width / 2, CHART_HEIGHT - 12, content.bars_title, 11, "middle"))
    if not content.bars:
        drawing.add(_text(x + width / 2, CHART_HEIGHT / 2, content.no_data, 10, "middle"))
        return
    bars = list(reversed(content.bars))  # the first category at the top
    label_width = max(pdfmetrics.stringWidth(label, register_fonts().names[0], 8.5) for label, _n in bars) + 6
    chart = HorizontalBarChart()
    chart.x, chart.y = x + label_width, 16
    chart.width, chart.height = width - label_width - 10, CHART_HEIGHT - 40
    chart.data = [[value for _label, value in bars]]
    chart.bars[0].fillColor = colors.HexColor(BAR_COLOUR)
    chart.bars.strokeColor = None
    chart.barSpacing = 2
    chart.categoryAxis.categoryNames = ["" for _ in bars]  # named below, in the fallback fonts
    chart.categoryAxis.labels.fontName = LATIN
    chart.categoryAxis.strokeColor = colors.HexColor("#888888")
    top = max([1, *(value for _label, value in bars)])
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = top
    chart.valueAxis.valueStep = max(1, -(-top // 5))
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.labelTextFormat = "%d"
    chart.valueAxis.strokeColor = colors.HexColor("#888888")
    drawing.add(chart)
    step = chart.height / len(bars)
    for index, (label, value) in enumerate(bars):
        middle = chart.y + step * (index + 0.5) - 3
        drawing.add(_text(chart.x - 4, middle, label, 8.5, "end"))
        if value:
            end = chart.x + chart.width * value / top
            drawing.add(_text(end + 3, middle, str(value), 7.5))


def charts(content: ReportContent) -> Drawing:
    """Both charts side by side, one frame wide."""
    register_fonts()
    # the drawing's initial font would otherwise be Helvetica, which is never embedded
    drawing = Drawing(FRAME_WIDTH, CHART_HEIGHT, initialFontName=LATIN, initialFontSize=10)
    half = FRAME_WIDTH / 2
    _pie(drawing, 0, half - 6, content)
    _bars(drawing, half + 6, half - 6, content)
    return drawing


def render_report(content: ReportContent) -> bytes:
    """The report's PDF bytes (deterministic for equal content)."""
    styles = make_styles()
    story: list[Flowable] = [para(content.title, styles.subtitle), para(content.period, styles.plain)]
    story.append(Spacer(1, 3 * mm))
    pairs = list(content.summary)
    half = (len(pairs) + 1) // 2
    rows = [
        [a, b, *(pairs[i + half] if i + half < len(pairs) else ("", ""))]
        for i, (a, b) in enumerate(pairs[:half])
    ]
    story.append(table([], rows, [0.3, 0.2, 0.3, 0.2], styles))
    story += [Spacer(1, 4 * mm), charts(content), Spacer(1, 4 * mm)]
    for title, data in content.tables:
        if not data:
            continue
        columns = max(len(row) for row in data)
        header, *body = [[str(c) for c in row] + [""] * (columns - len(row)) for row in data]
        widths = [1.6, *([1.0] * (columns - 1))]
        story.append(KeepTogether([para(title, styles.plain), table(header, body, widths, styles)]))
        story.append(Spacer(1, 3 * mm))
    if content.footer:
        story.append(para(content.footer, styles.small))
    return build_a4(story, title=content.title, subject=content.period, author="clerk-app")
