"""One translation system: every marked string has an English entry; switching works."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clerk_app import i18n

PACKAGE = Path(__file__).resolve().parent.parent / "clerk_app"


def _marked_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
    return found


def _ui_strings() -> dict[str, str]:
    import xml.etree.ElementTree as ET

    found: dict[str, str] = {}
    for path in (PACKAGE.parent / "ui").glob("*.ui"):
        for node in ET.parse(path).iter("string"):
            if node.text and node.get("notr") != "true":
                found[node.text] = path.name
    return found


def test_every_marked_string_has_an_english_translation() -> None:
    english, _plurals = i18n.load_catalog("en")
    missing = {s: where for s, where in {**_marked_strings(), **_ui_strings()}.items() if s not in english}
    assert not missing, "missing English entries:\n" + "\n".join(f"{w}: {s}" for s, w in missing.items())


def test_switching_language() -> None:
    assert i18n.set_language("en") == "en"
    assert i18n._("登录") == "Sign in"
    assert i18n.set_language("zh-CN") == "zh_CN"
    assert i18n._("登录") == "登录"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        i18n.normalise_language("fr")
