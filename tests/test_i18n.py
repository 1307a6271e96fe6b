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
            elif (  # a text in a context: NP_("queue key", "挂起")
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("NP_", "pgettext")
                and len(node.args) == 2
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
            ):
                context, text = (a.value for a in node.args)  # type: ignore[attr-defined]
                found[i18n.context_key(context, text)] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
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


def test_a_word_in_a_context_has_its_own_translation() -> None:
    """挂起 is the state "Parked" and the queue key "Park"."""
    i18n.set_language("en")
    assert i18n._("挂起") == "Parked" and i18n.pgettext("queue key", "挂起") == "Park"
    assert (
        i18n.pgettext("queue key", "暂停") == "Pause" and i18n.pgettext("no such context", "挂起") == "挂起"
    )
    i18n.set_language("zh_CN")
    assert i18n.pgettext("queue key", "挂起") == "挂起"


def test_switching_language() -> None:
    assert i18n.set_language("en") == "en"
    assert i18n._("登录") == "Sign in"
    assert i18n.set_language("zh-CN") == "zh_CN"
    assert i18n._("登录") == "登录"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        i18n.normalise_language("fr")
