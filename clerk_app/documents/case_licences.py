"""Licences issued from a decided case: which matters have one, and the licence DTO of a case.

``resources/templates/licences.toml`` names, per matter implementation code, the licence's
title, its GB/T 36901 type code, its validity and its printed lines (see the file's header); a
hall overrides or adds matters with a file of the same name in its templates folder.
:func:`load_licence_kinds` reads both; :func:`build_licence` fills a :class:`Licence` from plain
values of the case (no store access here: the cases service reads the case and passes them).

The identifier is ``1.2.156.3005.2.{type}.{issuer}.{year}{seq:06d}.001.{check}``: the serial is
the licence's year and running number in the licence series, unique per issuer and type.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clerk_app.documents.dto import Licence, LicenceItem
from clerk_app.documents.templates import TemplateError
from clerk_app.domain.identifiers import make_licence_identifier
from clerk_app.i18n import _
from clerk_app.paths import resource

FILE = "licences.toml"
ORGANISATION_CODE_TYPE = "001"
PERSON_CODE_TYPE = "111"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([A-Za-z0-9_]+))?\}")
_VALUES = frozenset({"applicant", "address", "legal_representative", "matter", "case_no"})


@dataclass(frozen=True, slots=True)
class LicenceKind:
    """The licence a matter results in."""

    matter_code: str
    title: str
    type_code: str
    validity_years: int  # 0 = 长期
    items: tuple[tuple[str, str], ...]  # label, value template


@dataclass(frozen=True, slots=True)
class LicenceFacts:
    """What a licence prints about its case (plain values read by the service)."""

    case_no: str
    matter: str
    holder: str
    holder_code: str
    holder_is_organisation: bool
    address: str = ""
    legal_representative: str = ""
    extra: Mapping[str, str] | None = None


def _kind(code: str, table: Mapping[str, Any]) -> LicenceKind:
    try:
        title = str(table["title"]).strip()
        type_code = str(table["type_code"]).strip()
        years = int(table.get("validity_years", 0))
        raw_items = table.get("items", [])
        items = tuple((str(label), str(value)) for label, value in raw_items)
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(_("证照模板 {code} 有误：{detail}").format(code=code, detail=exc)) from exc
    if not title or not type_code or not 0 <= years <= 100:
        raise TemplateError(_("证照模板 {code} 缺少名称、类型代码或有效年限有误").format(code=code))
    for _label, value in items:
        for name, _sub in _PLACEHOLDER.findall(value):
            if name != "extra" and name not in _VALUES:
                raise TemplateError(_("证照模板 {code} 的占位符未知：{name}").format(code=code, name=name))
    return LicenceKind(code, title, type_code, years, items)


def _read(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(_("模板文件 {name} 格式错误：{detail}").format(name=name, detail=exc)) from exc


def load_licence_kinds(override_dir: Path | None = None) -> dict[str, LicenceKind]:
    """Matter code → its licence, from the bundled file and the hall's override (if any)."""
    tables: dict[str, Any] = dict(
        _read(resource("templates", FILE).read_text(encoding="utf-8"), FILE).get("matters", {})
    )
    if override_dir is not None and (override_dir / FILE).is_file():
        extra = _read((override_dir / FILE).read_text(encoding="utf-8"), FILE).get("matters", {})
        for code, table in extra.items():
            tables[code] = {**tables.get(code, {}), **table}
    return {code: _kind(code, table) for code, table in tables.items()}


def _fill(template: str, facts: LicenceFacts) -> str:
    values = {
        "applicant": facts.holder,
        "address": facts.address,
        "legal_representative": facts.legal_representative,
        "matter": facts.matter,
        "case_no": facts.case_no,
    }
    extra = facts.extra or {}

    def one(match: re.Match[str]) -> str:
        name, sub = match.group(1), match.group(2)
        if name == "extra":
            return str(extra.get(sub or "", ""))
        return values.get(name, "")

    return _PLACEHOLDER.sub(one, template)


def _years_later(day: dt.date, years: int) -> dt.date:
    """The day before the same date ``years`` later (29 February → 28 February)."""
    try:
        same = day.replace(year=day.year + years)
    except ValueError:
        same = day.replace(year=day.year + years, day=28)
    return same - dt.timedelta(days=1)


def build_licence(
    kind: LicenceKind,
    facts: LicenceFacts,
    *,
    number: str,
    year: int,
    seq: int,
    issuer: str,
    issuer_code: str,
    issue_date: dt.date,
) -> Licence:
    """The licence of a decided case, numbered ``number`` (``seq`` in the ``year`` series)."""
    items = tuple(LicenceItem(label, _fill(value, facts)) for label, value in kind.items)
    return Licence(
        title=kind.title,
        holder=facts.holder,
        holder_code=facts.holder_code,
        holder_code_type=ORGANISATION_CODE_TYPE if facts.holder_is_organisation else PERSON_CODE_TYPE,
        licence_number=number,
        issuer=issuer,
        issuer_code=issuer_code,
        issue_date=issue_date,
        valid_from=issue_date,
        valid_until=_years_later(issue_date, kind.validity_years) if kind.validity_years else None,
        identifier=make_licence_identifier(kind.type_code, issuer_code, f"{year}{seq:06d}", 1),
        items=tuple(item for item in items if item.value.strip()),
    )
