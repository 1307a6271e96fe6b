"""The matter catalogue (政务服务事项目录): matters, their materials, bundles and departments.

Data elements follow GB/T 39046-2020 table 4 (see ``shared/DOMAIN.md``): name, basic code,
implementation code (opaque strings), matter type code, implementing body, legal and promised limits
each with a unit, case type (1 即办件 / 2 承诺件 / 9 其他), visits needed (``limit_scene_num``), fee,
acceptance conditions and the material list (name, required, form, copies, source, acceptance
standard). Matter-specific extra intake fields are data (:class:`ExtraField`) for the intake form
to render. A :class:`Bundle` (一件事一次办) is a named set of matters whose material lists merge
without duplicates, by a normalised material key.

Import and export (CSV and JSON) live in :mod:`clerk_app.domain.catalogue_io`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from clerk_app.domain.deadlines import LimitUnit, TimeLimit
from clerk_app.i18n import N_, _


class MatterType(StrEnum):
    """Matter type codes (事项类型) of GB/T 39046 / the national service platform."""

    ADMINISTRATIVE_POWER = "00"
    LICENCE = "01"
    PENALTY = "02"
    COERCION = "03"
    LEVY = "04"
    PAYMENT = "05"
    INSPECTION = "06"
    CONFIRMATION = "07"
    REWARD = "08"
    ADJUDICATION = "09"
    OTHER_POWER = "10"
    PUBLIC_SERVICE = "20"

    @property
    def label(self) -> str:
        return _(MATTER_TYPE_NAMES[self])


MATTER_TYPE_NAMES: Mapping[MatterType, str] = {
    MatterType.ADMINISTRATIVE_POWER: N_("行政权力"),
    MatterType.LICENCE: N_("行政许可"),
    MatterType.PENALTY: N_("行政处罚"),
    MatterType.COERCION: N_("行政强制"),
    MatterType.LEVY: N_("行政征收"),
    MatterType.PAYMENT: N_("行政给付"),
    MatterType.INSPECTION: N_("行政检查"),
    MatterType.CONFIRMATION: N_("行政确认"),
    MatterType.REWARD: N_("行政奖励"),
    MatterType.ADJUDICATION: N_("行政裁决"),
    MatterType.OTHER_POWER: N_("其他行政权力"),
    MatterType.PUBLIC_SERVICE: N_("公共服务"),
}


class CaseType(StrEnum):
    """办件类型: 1 即办件 (done on the spot), 2 承诺件 (promised), 9 其他."""

    IMMEDIATE = "1"
    PROMISED = "2"
    OTHER = "9"

    @property
    def label(self) -> str:
        return _(CASE_TYPE_NAMES[self])


CASE_TYPE_NAMES: Mapping[CaseType, str] = {
    CaseType.IMMEDIATE: N_("即办件"),
    CaseType.PROMISED: N_("承诺件"),
    CaseType.OTHER: N_("其他"),
}


class MaterialForm(StrEnum):
    ORIGINAL = "original"
    COPY = "copy"
    ELECTRONIC = "electronic"

    @property
    def label(self) -> str:
        return _(MATERIAL_FORM_NAMES[self])


MATERIAL_FORM_NAMES: Mapping[MaterialForm, str] = {
    MaterialForm.ORIGINAL: N_("原件"),
    MaterialForm.COPY: N_("复印件"),
    MaterialForm.ELECTRONIC: N_("电子件"),
}


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


_KEY_NOISE = re.compile(r"[\s《》〈〉“”\"'‘’()（）【】\[\]、，,.。:：;；/\\-]+")
_KEY_SUFFIXES = ("原件及复印件", "原件", "复印件", "电子件", "扫描件")


def material_key(name: str) -> str:
    """Normalised key that makes two spellings of the same material merge (NFKC, no punctuation)."""
    key = _KEY_NOISE.sub("", unicodedata.normalize("NFKC", name)).lower()
    for suffix in _KEY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


@dataclass(frozen=True, slots=True)
class Material:
    """One entry of a matter's material list."""

    name: str
    required: bool = True
    form: MaterialForm = MaterialForm.ORIGINAL
    copies: int = 1
    source: str = "申请人自备"
    standard: str = ""
    commitment_allowed: bool = False  # 告知承诺: a signed commitment may replace it
    deferrable: bool = False  # 容缺受理: may be supplied after acceptance

    @property
    def key(self) -> str:
        return material_key(self.name)


@dataclass(frozen=True, slots=True)
class ExtraField:
    """A matter-specific intake field, defined as data for the intake form to render."""

    name: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Matter:
    """A service matter as the implementing body offers it (实施清单)."""

    implementation_code: str
    basic_code: str
    name: str
    matter_type: MatterType
    department_code: str
    legal_limit: TimeLimit
    promised_limit: TimeLimit
    case_type: CaseType = CaseType.PROMISED
    visits: int = 1
    fee: Decimal = Decimal("0")
    fee_note: str = ""
    conditions: str = ""
    materials: tuple[Material, ...] = ()
    extra_fields: tuple[ExtraField, ...] = ()

    @property
    def code(self) -> str:
        return self.implementation_code

    @property
    def is_free(self) -> bool:
        return self.fee == 0


@dataclass(frozen=True, slots=True)
class Bundle:
    """一件事一次办: several matters applied for with one form and one set of materials."""

    code: str
    name: str
    matter_codes: tuple[str, ...]
    description: str = ""


def merge_materials(lists: Iterable[Iterable[Material]]) -> tuple[Material, ...]:
    """Merge material lists by :func:`material_key`, in first-seen order.

    A merged material is required if any list requires it, asks for the most copies and the
    strongest form (original over copy over electronic) with that entry's spelling, and allows
    commitment or deferral only if every list does.
    """
    merged: dict[str, Material] = {}
    for materials in lists:
        for item in materials:
            seen = merged.get(item.key)
            merged[item.key] = item if seen is None else _combine(seen, item)
    return tuple(merged.values())


_FORM_STRENGTH = {MaterialForm.ELECTRONIC: 0, MaterialForm.COPY: 1, MaterialForm.ORIGINAL: 2}


def _combine(first: Material, other: Material) -> Material:
    form = max(first.form, other.form, key=_FORM_STRENGTH.__getitem__)
    name = other.name if _FORM_STRENGTH[other.form] > _FORM_STRENGTH[first.form] else first.name
    return replace(
        first,
        name=name,
        required=first.required or other.required,
        form=form,
        copies=max(first.copies, other.copies),
        commitment_allowed=first.commitment_allowed and other.commitment_allowed,
        deferrable=first.deferrable and other.deferrable,
    )


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Departments, matters and bundles, looked up by code. Build with :func:`build_catalogue`."""

    departments: tuple[Department, ...] = ()
    matters: tuple[Matter, ...] = ()
    bundles: tuple[Bundle, ...] = ()
    _matters: dict[str, Matter] = field(default_factory=dict, repr=False, compare=False)
    _bundles: dict[str, Bundle] = field(default_factory=dict, repr=False, compare=False)
    _departments: dict[str, Department] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._matters.update({m.implementation_code: m for m in self.matters})
        self._bundles.update({b.code: b for b in self.bundles})
        self._departments.update({d.code: d for d in self.departments})

    def matter(self, code: str) -> Matter:
        """The matter with this implementation (or, if unique, basic) code; ``KeyError`` if none."""
        found = self._matters.get(code)
        if found is not None:
            return found
        by_basic = [m for m in self.matters if m.basic_code == code]
        if len(by_basic) == 1:
            return by_basic[0]
        raise KeyError(code)

    def bundle(self, code: str) -> Bundle:
        return self._bundles[code]

    def department(self, code: str) -> Department:
        return self._departments[code]

    def matters_of(self, department_code: str) -> tuple[Matter, ...]:
        return tuple(m for m in self.matters if m.department_code == department_code)

    def bundle_matters(self, bundle: Bundle) -> tuple[Matter, ...]:
        return tuple(self._matters[code] for code in bundle.matter_codes)

    def bundle_materials(self, bundle: Bundle) -> tuple[Material, ...]:
        """The merged material list of a bundle, without duplicates."""
        return merge_materials(m.materials for m in self.bundle_matters(bundle))


#: Attribute name → the column header used in CSV files and in problem reports.
FIELD_LABELS: Mapping[str, str] = {
    "implementation_code": N_("实施编码"),
    "basic_code": N_("基本编码"),
    "name": N_("事项名称"),
    "matter_type": N_("事项类型"),
    "department_code": N_("部门编码"),
    "department_name": N_("实施主体"),
    "legal_limit": N_("法定时限"),
    "legal_unit": N_("法定时限单位"),
    "promised_limit": N_("承诺时限"),
    "promised_unit": N_("承诺时限单位"),
    "case_type": N_("办件类型"),
    "visits": N_("到现场次数"),
    "fee": N_("收费金额"),
    "fee_note": N_("收费说明"),
    "conditions": N_("受理条件"),
    "extra_fields": N_("附加字段"),
    "materials": N_("材料"),
    "material_name": N_("材料名称"),
    "material_required": N_("是否必要"),
    "material_form": N_("材料形式"),
    "material_copies": N_("份数"),
    "material_source": N_("来源渠道"),
    "material_standard": N_("受理标准"),
    "material_commitment": N_("可告知承诺"),
    "material_deferrable": N_("可容缺"),
    "bundle_code": N_("一件事编码"),
    "bundle_name": N_("一件事名称"),
    "bundle_description": N_("一件事说明"),
    "matter_codes": N_("包含事项"),
    "file": N_("文件"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of a check or import: where (Excel row number, or item), which field, and why."""

    template: str
    params: tuple[tuple[str, str], ...] = ()
    row: int | None = None
    item: str = ""
    field: str = ""

    @property
    def message(self) -> str:
        reason = _(self.template).format(**dict(self.params))
        where = _(N_("第 {row} 行")).format(row=self.row) if self.row is not None else self.item
        column = f"【{_(FIELD_LABELS.get(self.field, self.field))}】" if self.field else ""
        return f"{where}{column}：{reason}" if where else f"{column}{reason}"


def problem(
    template: str, row: int | None = None, item: str = "", field: str = "", **params: object
) -> Problem:
    return Problem(template, tuple((k, str(v)) for k, v in params.items()), row, item, field)


class CatalogueError(ValueError):
    """A catalogue (or an import) was rejected; ``problems`` lists every finding, nothing was changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.report())

    def report(self) -> str:
        """The full report, one finding a line, in the current language."""
        head = _(N_("目录有 {count} 处问题，未导入任何内容：")).format(count=len(self.problems))
        return "\n".join([head, *(p.message for p in self.problems)])


def check_matter(matter: Matter, item: str = "") -> list[Problem]:
    """Rules every matter must follow, independent of the file it came from."""
    found: list[Problem] = []
    for code_field, code in (("implementation_code", matter.implementation_code), ("name", matter.name)):
        if not code.strip():
            found.append(problem(N_("不能为空"), item=item, field=code_field))
    if _limit_exceeds(matter.promised_limit, matter.legal_limit):
        found.append(problem(N_("承诺时限不能超过法定时限"), item=item, field="promised_limit"))
    if matter.visits < 0:
        found.append(problem(N_("到现场次数不能为负数"), item=item, field="visits"))
    if matter.fee < 0:
        found.append(problem(N_("收费金额不能为负数"), item=item, field="fee"))
    seen: set[str] = set()
    for material in matter.materials:
        if material.key in seen:
            found.append(problem(N_("材料“{name}”重复"), item=item, field="materials", name=material.name))
        seen.add(material.key)
    found.extend(_check_fields(matter, item))
    return found


def _limit_exceeds(promised: TimeLimit, legal: TimeLimit) -> bool:
    hours = {LimitUnit.WORKING_DAY: 7.0, LimitUnit.WORKING_HOUR: 1.0}
    if legal.amount == 0 and legal.unit is LimitUnit.WORKING_DAY:
        return False  # no statutory limit recorded (即办 or unspecified)
    return promised.amount * hours[promised.unit] > legal.amount * hours[legal.unit]


def _check_fields(matter: Matter, item: str) -> list[Problem]:
    found: list[Problem] = []
    for extra in matter.extra_fields:
        if extra.type is FieldType.CHOICE and not extra.choices:
            found.append(
                problem(N_("选择型字段“{name}”没有选项"), item=item, field="extra_fields", name=extra.name)
            )
    return found


def check_catalogue(catalogue: Catalogue) -> list[Problem]:
    """Cross-checks: unique codes, known departments, bundle members that exist."""
    found: list[Problem] = []
    seen: set[str] = set()
    departments = {d.code for d in catalogue.departments}
    for matter in catalogue.matters:
        item = _(N_("事项 {code}")).format(code=matter.implementation_code)
        if matter.implementation_code in seen:
            found.append(problem(N_("实施编码重复"), item=item, field="implementation_code"))
        seen.add(matter.implementation_code)
        if matter.department_code not in departments:
            found.append(
                problem(
                    N_("部门编码“{code}”不在部门表中"),
                    item=item,
                    field="department_code",
                    code=matter.department_code,
                )
            )
        found.extend(check_matter(matter, item))
    found.extend(_check_bundles(catalogue.bundles, seen))
    return found


def _check_bundles(bundles: Iterable[Bundle], matter_codes: set[str]) -> list[Problem]:
    found: list[Problem] = []
    for bundle in bundles:
        item = _(N_("一件事 {code}")).format(code=bundle.code)
        for code in bundle.matter_codes:
            if code not in matter_codes:
                found.append(
                    problem(N_("事项“{code}”不在目录中"), item=item, field="matter_codes", code=code)
                )
        if len(bundle.matter_codes) < 2:
            found.append(problem(N_("一件事至少包含两个事项"), item=item, field="matter_codes"))
    return found


def build_catalogue(
    departments: Iterable[Department], matters: Iterable[Matter], bundles: Iterable[Bundle] = ()
) -> Catalogue:
    """A checked catalogue; raises :class:`CatalogueError` listing every problem."""
    catalogue = Catalogue(tuple(departments), tuple(matters), tuple(bundles))
    problems = check_catalogue(catalogue)
    if problems:
        raise CatalogueError(problems)
    return catalogue
