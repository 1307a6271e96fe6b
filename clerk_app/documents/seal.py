"""A demonstration seal image (样章 / DEMO) for halls that have not yet supplied their own.

Shape after the usual round official seal of a state organ (国务院关于国家行政机关和企业事业单位
社会团体印章管理的规定: round, red, five-pointed star in the centre, the organ's name along the
upper rim). It is stamped 样章 and DEMO across the middle so that no printout can pass for a sealed
original. The real seal image replaces ``seal-demo.png`` through the hall's templates folder.
"""

from __future__ import annotations

import io
import math
from importlib.resources import as_file

from PIL import Image, ImageDraw, ImageFont

from clerk_app.paths import resource

_RED = (212, 27, 27, 235)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=_RED)


def _rim_text(image: Image.Image, text: str, font: ImageFont.FreeTypeFont, radius: float) -> None:
    """Characters along the upper arc, upright towards the centre, from about 7 to 5 o'clock."""
    size = image.width
    span = math.radians(min(250.0, 22.0 * len(text)))
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - span / 2 + span * (i + 0.5) / len(text)
        glyph = Image.new("RGBA", (int(font.size * 1.4),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=_RED, anchor="mm")
        rotated = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = size / 2 + radius * math.cos(angle) - rotated.width / 2
        y = size / 2 + radius * math.sin(angle) - rotated.height / 2
        image.alpha_composite(rotated, (int(x), int(y)))


def demo_seal_png(authority: str, size: int = 600) -> bytes:
    """A red round DEMO seal bearing ``authority``, as PNG bytes with a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    edge = size * 0.03
    draw.ellipse((edge, edge, size - edge, size - edge), outline=_RED, width=int(size * 0.035))
    _star(draw, size / 2, size / 2, size * 0.15)
    with as_file(resource("fonts", "DroidSansFallbackFull.ttf")) as cjk:
        rim = ImageFont.truetype(str(cjk), int(size * 0.1))
        label = ImageFont.truetype(str(cjk), int(size * 0.085))
        _rim_text(image, authority, rim, size * 0.36)
        draw.text((size / 2, size * 0.74), "样章", font=label, fill=_RED, anchor="mm")
    with as_file(resource("fonts", "DejaVuSans.ttf")) as latin:
        demo = ImageFont.truetype(str(latin), int(size * 0.07))
        draw.text((size / 2, size * 0.84), "DEMO", font=demo, fill=_RED, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
