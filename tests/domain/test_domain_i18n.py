"""Every user-facing string of the domain modules has an English entry with the same placeholders."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import polib
import pytest

from clerk_app import i18n
from clerk_app.domain.case_states import CaseEvent, CaseState, Role, check
from clerk_app.domain.deadlines import DeadlineStatus
from clerk_app.domain.identifiers import IdentifierError, parse_resident_id

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "identifiers",
    "catalogue",
    "catalogue_io",
    "search",
    "workdays",
    "deadlines",
    "case_states",
    "ticket_states",
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def literals() -> Iterator[tuple[str, str]]:
    for module in MODULES:
        tree = ast.parse((ROOT / "clerk_app" / "domain" / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
                argument = node.args[0]
                if node.func.id == "_" and not isinstance(argument, ast.Constant):
                    continue  # _(CONSTANT): the constant itself was marked with N_("…")
                assert isinstance(argument, ast.Constant), f"{module}: non-literal {ast.unparse(node)}"
                yield module, argument.value


def english() -> dict[str, str]:
    po = polib.pofile(str(ROOT / "resources" / "translations" / "en" / "domain.po"))
    return {entry.msgid: entry.msgstr for entry in po.translated_entries()}


def test_every_literal_has_an_english_entry_with_same_placeholders() -> None:
    table = english()
    found = list(literals())
    assert len(found) > 100
    for module, text in found:
        assert text in table, f"{module}: no English for {text!r}"
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(table[text])), text


@pytest.fixture
def in_english() -> Iterator[None]:
    i18n.set_language("en")
    try:
        yield
    finally:
        i18n.set_language("zh_CN")


@pytest.mark.usefixtures("in_english")
def test_messages_render_in_english() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_resident_id("110105A9491231002X")
    assert info.value.message == 'Character 7 ("A") is not a digit'
    assert DeadlineStatus.OVERDUE.label == "Overdue"
    verdict = check(CaseState.RECEIVED, CaseEvent.APPROVE, Role.CLERK)
    assert verdict.message == 'The current state is "Received": "Approve" is not possible'
