"""Import and export of the matter catalogue as CSV and JSON — all or nothing.

CSV layout (Excel-friendly, headers in Chinese, see :data:`~clerk_app.domain.catalogue.FIELD_LABELS`;
the English attribute names are accepted as headers too):

* ``matters.csv`` — one row per material, the matter columns repeated on each row of the same matter
  (rows of one matter must agree; a matter without materials has one row with empty material
  columns). Matter columns: 实施编码, 基本编码, 事项名称, 事项类型 (code ``01`` or name ``行政许可``),
  部门编码, 实施主体 (department name), 法定时限, 法定时限单位 (工作日/工作小时), 承诺时限,
  承诺时限单位, 办件类型 (1/2/9 or 即办件/承诺件/其他), 到现场次数, 收费金额 (yuan), 收费说明,
  受理条件, 附加字段 (``字段名:标签:类型:是否必填:选项1/选项2`` entries separated by ``;``).
  Material columns: 材料名称, 是否必要, 材料形式 (原件/复印件/电子件), 份数, 来源渠道, 受理标准,
  可告知承诺, 可容缺 (yes/no as 是/否, Y/N, 1/0, true/false).
* ``bundles.csv`` (optional) — one row per member matter: 一件事编码, 一件事名称, 一件事说明, 实施编码.

Encodings: UTF-8 with or without BOM, GB18030 (Excel "CSV" on a Chinese Windows), UTF-16 with BOM
(Excel "Unicode text", tab-separated). Row numbers in reports are those Excel shows (header = row 1).

JSON layout: ``{"format": "clerk-app-catalogue", "version": 1, "departments": [...], "matters":
[...], "bundles": [...]}`` with the same field names as the attribute names.

Any problem anywhere raises :class:`~clerk_app.domain.catalogue.CatalogueError` listing every bad row
and field; no partial catalogue is ever returned.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

from clerk_app.domain.catalogue import (
    CASE_TYPE_NAMES,
    FIELD_LABELS,
    MATERIAL_FORM_NAMES,
    MATTER_TYPE_NAMES,
    Bundle,
    CaseType,
    Catalogue,
    CatalogueError,
    Department,
    ExtraField,
    FieldType,
    Material,
    MaterialForm,
    Matter,
    MatterType,
    Problem,
    build_catalogue,
    check_catalogue,
    check_matter,
    problem,
)
from clerk_app.domain.deadlines import LimitUnit, TimeLimit
from clerk_app.i18n import N_, _
from clerk_app.paths import resource

FORMAT_NAME = "clerk-app-catalogue"
MATTER_FIELDS = (
    "implementation_code", "basic_code", "name", "matter_type", "department_code", "department_name",
    "legal_limit", "legal_unit", "promised_limit", "promised_unit", "case_type", "visits", "fee",
    "fee_note", "conditions", "extra_fields",
)  # fmt: skip
MATERIAL_FIELDS = (
    "material_name", "material_required", "material_form", "material_copies", "material_source",
    "material_standard", "material_commitment", "material_deferrable",
)  # fmt: skip
BUNDLE_FIELDS = ("bundle_code", "bundle_name", "bundle_description", "implementation_code")
_REQUIRED_COLUMNS = ("implementation_code", "name", "matter_type", "department_code", "promised_limit")

_TRUE = {"是", "y", "yes", "true", "1", "必要", "必须", "√"}
_FALSE = {"否", "n", "no", "false", "0", "非必要", "不必要", ""}
_UNITS = {
    "工作日": LimitUnit.WORKING_DAY, "个工作日": LimitUnit.WORKING_DAY, "日": LimitUnit.WORKING_DAY,
    "天": LimitUnit.WORKING_DAY, "working_day": LimitUnit.WORKING_DAY, "": LimitUnit.WORKING_DAY,
    "工作小时": LimitUnit.WORKING_HOUR, "小时": LimitUnit.WORKING_HOUR, "个工作小时": LimitUnit.WORKING_HOUR,
    "working_hour": LimitUnit.WORKING_HOUR,
}  # fmt: skip
_FIELD_TYPES = {
    "文本": FieldType.TEXT,
    "数字": FieldType.NUMBER,
    "日期": FieldType.DATE,
    "选择": FieldType.CHOICE,
}

E = TypeVar("E", bound=StrEnum)


# ---- decoding ------------------------------------------------------------------------------------


def decode_csv_bytes(data: bytes) -> str:
    """Text of a CSV file: BOMs first, then strict UTF-8, then GB18030; bad lines are reported."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode(data, "gb18030")


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    bad = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode(codec)
        except UnicodeDecodeError:
            bad.append(
                problem(N_("无法按 {codec} 编码读取，请另存为 UTF-8 或 GB18030"), row=number, codec=codec)
            )
    raise CatalogueError(bad or [problem(N_("文件编码无法识别"), field="file")])


def _read_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    text = decode_csv_bytes(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        raise CatalogueError([problem(N_("文件是空的"), field="file")])
    return [cell.strip().lstrip("\ufeff") for cell in rows[0]], rows[1:]


_HEADER_NAMES = {label: attr for attr, label in FIELD_LABELS.items()} | {attr: attr for attr in FIELD_LABELS}


def _map_header(header: Sequence[str], wanted: Iterable[str], required: Iterable[str]) -> dict[str, int]:
    """Column index per attribute; missing required columns raise at once (nothing else can be read)."""
    columns = {_HEADER_NAMES[name]: i for i, name in enumerate(header) if name in _HEADER_NAMES}
    columns = {attr: i for attr, i in columns.items() if attr in wanted}
    missing = [attr for attr in required if attr not in columns]
    if missing:
        raise CatalogueError(
            [problem(N_("缺少这一列"), row=1, field=attr) for attr in missing],
        )
    return columns


# ---- cell parsing --------------------------------------------------------------------------------


class _Cells:
    """Reads typed values out of one record, collecting a :class:`Problem` per bad cell."""

    def __init__(
        self, values: Mapping[str, Any], row: int | None, item: str, problems: list[Problem]
    ) -> None:
        self.values, self.row, self.item, self.problems = values, row, item, problems

    def raw(self, attr: str) -> str:
        value = self.values.get(attr)
        return "" if value is None else str(value).strip()

    def bad(self, attr: str, template: str, **params: object) -> None:
        self.problems.append(problem(template, row=self.row, item=self.item, field=attr, **params))

    def text(self, attr: str, required: bool = False) -> str:
        value = self.raw(attr)
        if required and not value:
            self.bad(attr, N_("不能为空"))
        return value

    def boolean(self, attr: str, default: bool) -> bool:
        value = self.raw(attr).lower()
        if value == "":
            return default
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        self.bad(attr, N_("“{value}”不是“是”或“否”"), value=value)
        return default

    def integer(self, attr: str, default: int) -> int:
        value = self.raw(attr)
        if value == "":
            return default
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_nan() or number != number.to_integral_value() or number < 0:
            self.bad(attr, N_("“{value}”不是非负整数"), value=value)
            return default
        return int(number)

    def decimal(self, attr: str) -> Decimal:
        value = self.raw(attr).removeprefix("¥").removesuffix("元")
        if value in ("", "不收费", "免费"):
            return Decimal("0")
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.bad(attr, N_("“{value}”不是金额"), value=value)
            return Decimal("0")
        if not number.is_finite() or number < 0:
            self.bad(attr, N_("“{value}”不是金额"), value=value)
            return Decimal("0")
        return number

    def choice(self, attr: str, enum: type[E], names: Mapping[E, str], default: E) -> E:
        value = self.raw(attr)
        if value == "":
            self.bad(attr, N_("不能为空"))
            return default
        lookup = (
            {e.value: e for e in enum} | {n: e for e, n in names.items()} | {e.name.lower(): e for e in enum}
        )
        found = lookup.get(value) or lookup.get(value.lower()) or lookup.get(value.zfill(2))
        if found is None:
            allowed = "、".join(names[e] for e in enum)
            self.bad(attr, N_("“{value}”不是可选值（可选：{allowed}）"), value=value, allowed=allowed)
            return default
        return found

    def limit(self, attr: str, unit_attr: str, required: bool) -> TimeLimit:
        value, unit_text = self.raw(attr), self.raw(unit_attr)
        unit = _UNITS.get(unit_text) or _UNITS.get(unit_text.lower())
        if unit is None:
            self.bad(unit_attr, N_("“{value}”不是时限单位（工作日或工作小时）"), value=unit_text)
            unit = LimitUnit.WORKING_DAY
        if value == "" and not required:
            return TimeLimit(0, unit)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal(-1)
        if not number.is_finite() or number < 0 or (number * 2) % 1 != 0:
            self.bad(attr, N_("“{value}”不是有效时限（非负数，可为 0.5 的倍数）"), value=value)
            return TimeLimit(0, unit)
        return TimeLimit(float(number), unit)

    def extra_fields(self, attr: str) -> tuple[ExtraField, ...]:
        value = self.values.get(attr)
        if isinstance(value, list):
            return tuple(self._extra_from_dict(item) for item in value if isinstance(item, Mapping))
        text = self.raw(attr)
        return tuple(self._extra_from_text(part) for part in text.split(";") if part.strip())

    def _extra_from_text(self, part: str) -> ExtraField:
        bits = [b.strip() for b in part.split(":")]
        bits += [""] * (5 - len(bits))
        if len(bits) > 5 or not bits[0] or not bits[1]:
            self.bad("extra_fields", N_("“{value}”应写成 字段名:标签:类型:是否必填:选项"), value=part.strip())
            return ExtraField(bits[0] or "?", bits[1] or "?")
        kind = self._field_type(bits[2])
        choices = tuple(c for c in bits[4].split("/") if c)
        return ExtraField(bits[0], bits[1], kind, bits[3].lower() in _TRUE, choices)

    def _extra_from_dict(self, item: Mapping[str, Any]) -> ExtraField:
        choices = tuple(str(c) for c in item.get("choices", ()))
        kind = self._field_type(str(item.get("type", "text")))
        return ExtraField(
            str(item.get("name", "")), str(item.get("label", "")), kind, bool(item.get("required")), choices
        )

    def _field_type(self, text: str) -> FieldType:
        kind = _FIELD_TYPES.get(text) or next((t for t in FieldType if t.value == text.lower()), None)
        if kind is None and text:
            self.bad("extra_fields", N_("“{value}”不是字段类型（文本/数字/日期/选择）"), value=text)
        return kind or FieldType.TEXT


# ---- building matters ---------------------------------------------------------------------------


def _matter(cells: _Cells, materials: tuple[Material, ...]) -> Matter:
    return Matter(
        implementation_code=cells.text("implementation_code", required=True),
        basic_code=cells.text("basic_code"),
        name=cells.text("name", required=True),
        matter_type=cells.choice("matter_type", MatterType, MATTER_TYPE_NAMES, MatterType.LICENCE),
        department_code=cells.text("department_code", required=True),
        legal_limit=cells.limit("legal_limit", "legal_unit", required=False),
        promised_limit=cells.limit("promised_limit", "promised_unit", required=True),
        case_type=cells.choice("case_type", CaseType, CASE_TYPE_NAMES, CaseType.PROMISED),
        visits=cells.integer("visits", 1),
        fee=cells.decimal("fee"),
        fee_note=cells.text("fee_note"),
        conditions=cells.text("conditions"),
        materials=materials,
        extra_fields=cells.extra_fields("extra_fields"),
    )


def _material(cells: _Cells) -> Material:
    return Material(
        name=cells.text("material_name", required=True),
        required=cells.boolean("material_required", True),
        form=cells.choice("material_form", MaterialForm, MATERIAL_FORM_NAMES, MaterialForm.ORIGINAL)
        if cells.raw("material_form")
        else MaterialForm.ORIGINAL,
        copies=cells.integer("material_copies", 1),
        source=cells.text("material_source") or "申请人自备",
        standard=cells.text("material_standard"),
        commitment_allowed=cells.boolean("material_commitment", False),
        deferrable=cells.boolean("material_deferrable", False),
    )


# ---- CSV -------------------------------------------------------------------------------------------


def load_catalogue_csv(matters_csv: bytes, bundles_csv: bytes | None = None) -> Catalogue:
    """Import a catalogue from ``matters.csv`` (and ``bundles.csv``); all or nothing."""
    problems: list[Problem] = []
    departments, matters = _matters_from_csv(matters_csv, problems)
    bundles = _bundles_from_csv(bundles_csv, {m.implementation_code for m in matters}, problems)
    if problems:
        raise CatalogueError(problems)
    return build_catalogue(departments, matters, bundles)


def _records(data: bytes, wanted: Sequence[str], required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    header, rows = _read_rows(data)
    columns = _map_header(header, wanted, required)
    records = []
    for number, row in enumerate(rows, start=2):
        if any(cell.strip() for cell in row):
            records.append((number, {attr: row[i] if i < len(row) else "" for attr, i in columns.items()}))
    return records


def _matters_from_csv(data: bytes, problems: list[Problem]) -> tuple[list[Department], list[Matter]]:
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, record in _records(data, MATTER_FIELDS + MATERIAL_FIELDS, _REQUIRED_COLUMNS):
        groups.setdefault(record["implementation_code"].strip() or f"#{number}", []).append((number, record))
    departments: dict[str, tuple[int, str]] = {}
    matters = [_matter_from_group(group, departments, problems) for group in groups.values()]
    return [Department(code, name) for code, (_row, name) in departments.items()], matters


def _matter_from_group(
    group: list[tuple[int, dict[str, str]]], departments: dict[str, tuple[int, str]], problems: list[Problem]
) -> Matter:
    first_row, first = group[0]
    for number, record in group[1:]:
        for attr in MATTER_FIELDS:
            if record.get(attr, "").strip() != first.get(attr, "").strip():
                problems.append(
                    problem(N_("与第 {first} 行的同一事项不一致"), row=number, field=attr, first=first_row)
                )
    materials = tuple(
        _material(_Cells(rec, n, "", problems)) for n, rec in group if rec.get("material_name", "").strip()
    )
    matter = _matter(_Cells(first, first_row, "", problems), materials)
    problems.extend(_at_row(p, first_row) for p in check_matter(matter))
    _note_department(first, first_row, departments, problems)
    return matter


def _at_row(found: Problem, row: int) -> Problem:
    return Problem(found.template, found.params, row, "", found.field)


def _note_department(
    record: Mapping[str, str], row: int, departments: dict[str, tuple[int, str]], problems: list[Problem]
) -> None:
    code = record.get("department_code", "").strip()
    name = record.get("department_name", "").strip() or code
    if not code:
        return
    seen = departments.setdefault(code, (row, name))
    if seen[1] != name:
        problems.append(
            problem(N_("部门名称与第 {first} 行不一致"), row=row, field="department_name", first=seen[0])
        )


def _bundles_from_csv(data: bytes | None, matter_codes: set[str], problems: list[Problem]) -> list[Bundle]:
    if data is None:
        return []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, record in _records(data, BUNDLE_FIELDS, BUNDLE_FIELDS[:2] + BUNDLE_FIELDS[3:]):
        cells = _Cells(record, number, "", problems)
        code = cells.text("bundle_code", required=True)
        member = cells.text("implementation_code", required=True)
        if member and member not in matter_codes:
            cells.bad("implementation_code", N_("事项“{code}”不在目录中"), code=member)
        groups.setdefault(code or f"#{number}", []).append((number, record))
    return [_bundle_from_group(group, problems) for group in groups.values()]


def _bundle_from_group(group: list[tuple[int, dict[str, str]]], problems: list[Problem]) -> Bundle:
    row, first = group[0]
    cells = _Cells(first, row, "", problems)
    members = tuple(dict.fromkeys(rec["implementation_code"].strip() for _n, rec in group))
    if len(members) < 2:
        cells.bad("bundle_code", N_("一件事至少包含两个事项"))
    return Bundle(
        first["bundle_code"].strip(),
        cells.text("bundle_name", True),
        members,
        cells.text("bundle_description"),
    )


def dump_catalogue_csv(catalogue: Catalogue, encoding: str = "utf-8-sig") -> tuple[bytes, bytes]:
    """``(matters.csv, bundles.csv)`` in ``encoding`` (UTF-8 with BOM opens cleanly in Excel)."""
    matters = io.StringIO()
    writer = csv.writer(matters, lineterminator="\r\n")
    writer.writerow([FIELD_LABELS[a] for a in MATTER_FIELDS + MATERIAL_FIELDS])
    for matter in catalogue.matters:
        head = _matter_cells(matter, catalogue)
        for material in matter.materials or (None,):
            writer.writerow(head + (_material_cells(material) if material else [""] * len(MATERIAL_FIELDS)))
    bundles = io.StringIO()
    writer = csv.writer(bundles, lineterminator="\r\n")
    writer.writerow([FIELD_LABELS[a] for a in BUNDLE_FIELDS])
    for bundle in catalogue.bundles:
        for code in bundle.matter_codes:
            writer.writerow([bundle.code, bundle.name, bundle.description, code])
    return matters.getvalue().encode(encoding), bundles.getvalue().encode(encoding)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _unit_text(unit: LimitUnit) -> str:
    return "工作日" if unit is LimitUnit.WORKING_DAY else "工作小时"


def _matter_cells(matter: Matter, catalogue: Catalogue) -> list[str]:
    extras = ";".join(
        f"{f.name}:{f.label}:{f.type.value}:{'是' if f.required else '否'}:{'/'.join(f.choices)}"
        for f in matter.extra_fields
    )
    return [
        matter.implementation_code, matter.basic_code, matter.name, matter.matter_type.value,
        matter.department_code, catalogue.department(matter.department_code).name,
        _number(matter.legal_limit.amount), _unit_text(matter.legal_limit.unit),
        _number(matter.promised_limit.amount), _unit_text(matter.promised_limit.unit),
        matter.case_type.value, str(matter.visits), str(matter.fee), matter.fee_note, matter.conditions,
        extras,
    ]  # fmt: skip


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _material_cells(material: Material) -> list[str]:
    return [
        material.name, _yes(material.required), MATERIAL_FORM_NAMES[material.form], str(material.copies),
        material.source, material.standard, _yes(material.commitment_allowed), _yes(material.deferrable),
    ]  # fmt: skip


# ---- JSON ------------------------------------------------------------------------------------------

_JSON_MATERIAL_KEYS = {
    "name": "material_name", "required": "material_required", "form": "material_form",
    "copies": "material_copies", "source": "material_source", "standard": "material_standard",
    "commitment_allowed": "material_commitment", "deferrable": "material_deferrable",
}  # fmt: skip


def load_catalogue_json(data: bytes | str) -> Catalogue:
    """Import a catalogue from the JSON layout; all or nothing."""
    try:
        document = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError([problem(N_("不是有效的 JSON：{error}"), field="file", error=exc)]) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise CatalogueError([problem(N_("不是本系统的事项目录文件"), field="file")])
    problems: list[Problem] = []
    try:
        catalogue = _catalogue_from_document(document, problems)
    except (AttributeError, TypeError, KeyError):
        raise CatalogueError(
            [problem(N_("文件结构不正确：事项、材料、部门都应是对象列表"), field="file")]
        ) from None
    problems.extend(check_catalogue(catalogue))
    if problems:
        raise CatalogueError(problems)
    return catalogue


def _catalogue_from_document(document: Mapping[str, Any], problems: list[Problem]) -> Catalogue:
    departments = [Department(str(d["code"]), str(d["name"])) for d in document.get("departments", [])]
    matters = [_matter_from_json(i, m, problems) for i, m in enumerate(document.get("matters", []), start=1)]
    bundles = [_bundle_from_json(b) for b in document.get("bundles", [])]
    return Catalogue(tuple(departments), tuple(matters), tuple(bundles))


def _matter_from_json(index: int, record: Mapping[str, Any], problems: list[Problem]) -> Matter:
    item = _(N_("第 {index} 个事项（{code}）")).format(
        index=index, code=record.get("implementation_code", "")
    )
    materials = []
    for material in record.get("materials", []):
        values = {_JSON_MATERIAL_KEYS.get(k, k): v for k, v in material.items()}
        materials.append(_material(_Cells(values, None, item, problems)))
    return _matter(_Cells(record, None, item, problems), tuple(materials))


def _bundle_from_json(record: Mapping[str, Any]) -> Bundle:
    codes = tuple(str(c) for c in record.get("matter_codes", []))
    return Bundle(
        str(record.get("code", "")), str(record.get("name", "")), codes, str(record.get("description", ""))
    )


def catalogue_to_dict(catalogue: Catalogue) -> dict[str, Any]:
    """The JSON-ready structure of :func:`dump_catalogue_json`."""
    return {
        "format": FORMAT_NAME,
        "version": 1,
        "departments": [{"code": d.code, "name": d.name} for d in catalogue.departments],
        "matters": [_matter_to_dict(m) for m in catalogue.matters],
        "bundles": [
            {
                "code": b.code,
                "name": b.name,
                "description": b.description,
                "matter_codes": list(b.matter_codes),
            }
            for b in catalogue.bundles
        ],
    }


def _matter_to_dict(matter: Matter) -> dict[str, Any]:
    return {
        "implementation_code": matter.implementation_code,
        "basic_code": matter.basic_code,
        "name": matter.name,
        "matter_type": matter.matter_type.value,
        "department_code": matter.department_code,
        "legal_limit": matter.legal_limit.amount,
        "legal_unit": matter.legal_limit.unit.value,
        "promised_limit": matter.promised_limit.amount,
        "promised_unit": matter.promised_limit.unit.value,
        "case_type": matter.case_type.value,
        "visits": matter.visits,
        "fee": str(matter.fee),
        "fee_note": matter.fee_note,
        "conditions": matter.conditions,
        "materials": [_material_to_dict(m) for m in matter.materials],
        "extra_fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type.value,
                "required": f.required,
                "choices": list(f.choices),
            }
            for f in matter.extra_fields
        ],
    }


def _material_to_dict(material: Material) -> dict[str, Any]:
    return {
        "name": material.name,
        "required": material.required,
        "form": material.form.value,
        "copies": material.copies,
        "source": material.source,
        "standard": material.standard,
        "commitment_allowed": material.commitment_allowed,
        "deferrable": material.deferrable,
    }


def dump_catalogue_json(catalogue: Catalogue) -> str:
    return json.dumps(catalogue_to_dict(catalogue), ensure_ascii=False, indent=1)


# ---- demo catalogue ------------------------------------------------------------------------------


@cache
def load_demo_catalogue() -> Catalogue:
    """The realistic demo catalogue shipped in ``resources/catalogue/demo_catalogue.json``."""
    return load_catalogue_json(resource("catalogue", "demo_catalogue.json").read_bytes())
