"""Administrator-adjustable templates, font fallback markup and the demo seal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from documents_pdfcheck import text_of
from PIL import Image

from clerk_app.documents import samples
from clerk_app.documents.dto import DocType
from clerk_app.documents.fonts import BODY, EXT_B, LATIN, has_glyphs, markup, register_fonts
from clerk_app.documents.render import render
from clerk_app.documents.seal import demo_seal_png
from clerk_app.documents.templates import TemplateError, fill, load_templates
from clerk_app.domain.numbering import NumberFormat


def test_every_bundled_number_format_is_valid() -> None:
    templates = load_templates()
    for doc_type in DocType:
        NumberFormat(doc_type.value, templates.wording(doc_type).number_format)


def test_hall_override_changes_the_printout(tmp_path: Path) -> None:
    (tmp_path / "hall.toml").write_text('hall_name = "测试大厅"\nauthority = "测试审批局"\nseal_image = ""\n')
    (tmp_path / "documents.toml").write_text('[acceptance]\nclosing = ["请携带本通知书<领取>&结果。"]\n')
    templates = load_templates(tmp_path)
    assert templates.hall.seal_image is None
    assert templates.hall.court  # keys not overridden keep the bundled value
    assert templates.wording(DocType.ACCEPTANCE).title == "受理通知书"
    text = text_of(render(samples.realistic()[0], templates))
    assert "测试审批局" in text
    assert "（盖章）" in text
    assert "请携带本通知书<领取>&结果。" in text


def test_matter_wording_applies_to_that_matter_only() -> None:
    notice = samples.realistic()[0]
    templates = load_templates()
    assert "远程勘验" in text_of(render(notice, templates))
    other = type(notice)(**{**{f: getattr(notice, f) for f in notice.__slots__}, "matter_code": ""})
    assert "远程勘验" not in text_of(render(other, templates))


def test_unknown_placeholder_is_reported() -> None:
    with pytest.raises(TemplateError, match="nickname"):
        fill("{nickname}您好", {"applicant": "张三"})


def test_broken_override_is_reported(tmp_path: Path) -> None:
    (tmp_path / "documents.toml").write_text("[acceptance\n")
    with pytest.raises(TemplateError, match=r"documents\.toml"):
        load_templates(tmp_path)


def test_missing_seal_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "hall.toml").write_text('seal_image = "nowhere.png"\n')
    with pytest.raises(TemplateError):
        load_templates(tmp_path)


def test_markup_escapes_and_picks_fonts() -> None:
    fonts = register_fonts()
    assert fonts.names == (BODY, LATIN, EXT_B)
    out = markup("张<b>&1 𠮷")
    assert "&lt;b&gt;&amp;" in out
    assert f'<font name="{EXT_B}">𠮷</font>' in out
    assert f'<font name="{LATIN}">' in out
    assert has_glyphs("张𠮷䶮 ABC（）〔〕“”")
    assert fonts.registration_seconds > 0


def test_demo_seal_is_a_transparent_png() -> None:
    with Image.open(io.BytesIO(demo_seal_png("测试局"))) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
        assert image.getpixel((image.width // 2, image.height // 2))[3] > 0  # type: ignore[index]
