"""Matter catalogue: model rules, bundles, demo data, CSV/JSON import and export (all or nothing)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from clerk_app.domain.catalogue import (
    Bundle,
    CaseType,
    CatalogueError,
    Department,
    FieldType,
    Material,
    MaterialForm,
    Matter,
    MatterType,
    build_catalogue,
    material_key,
    merge_materials,
)
from clerk_app.domain.catalogue_io import (
    FIELD_LABELS,
    MATERIAL_FIELDS,
    MATTER_FIELDS,
    decode_csv_bytes,
    dump_catalogue_csv,
    dump_catalogue_json,
    load_catalogue_csv,
    load_catalogue_json,
    load_demo_catalogue,
)
from clerk_app.domain.deadlines import LimitUnit, TimeLimit
from clerk_app.domain.identifiers import parse_credit_code

HEADER = ",".join(FIELD_LABELS[a] for a in MATTER_FIELDS + MATERIAL_FIELDS)


def csv_bytes(lines: list[str], encoding: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode(encoding)


GOOD_ROWS = [
    "M001,000105001000,企业设立登记,01,SCJG,市场监督管理局,15,工作日,0.5,工作日,2,0,0,,,"
    "enterprise_kind:企业类型:choice:是:有限责任公司/股份有限公司,公司章程,是,原件,1,申请人自备,,否,否",
    "M001,000105001000,企业设立登记,01,SCJG,市场监督管理局,15,工作日,0.5,工作日,2,0,0,,,"
    "enterprise_kind:企业类型:choice:是:有限责任公司/股份有限公司,住所使用证明,是,原件,1,申请人自备,,是,否",
    "M002,000107001000,公章刻制备案,10,GAJ,公安局,1,工作日,4,工作小时,2,0,0,,,,营业执照,是,复印件,1,,,否,是",
    "M003,000108004000,开具个人所得税纳税记录,20,SWJ,税务局,1,工作日,0,工作日,1,0,0,,,,,,,,,,,",
]
GOOD_BUNDLES = "一件事编码,一件事名称,一件事说明,实施编码\r\nYJS,企业开办,,M001\r\nYJS,企业开办,,M002\r\n"


# ---- model ------------------------------------------------------------------------------------


def test_material_key_normalises_spelling() -> None:
    assert material_key("法定代表人身份证件复印件") == material_key("法定代表人 身份证件")
    assert material_key("《公司章程》") == material_key("公司章程")
    assert material_key("营业执照（副本）") != material_key("营业执照")


def test_merge_materials_without_duplicates() -> None:
    first = [
        Material("营业执照", form=MaterialForm.COPY, required=False, deferrable=True),
        Material("申请书"),
    ]
    second = [Material("营业执照原件", copies=2, deferrable=False), Material("章程")]
    merged = merge_materials([first, second])
    assert [m.name for m in merged] == ["营业执照原件", "申请书", "章程"]
    licence = merged[0]
    assert licence.required and licence.form is MaterialForm.ORIGINAL and licence.copies == 2
    assert not licence.deferrable


def make_matter(code: str, dept: str = "D1", promised: float = 1, legal: float = 10, **kw: object) -> Matter:
    return Matter(
        code, "B" + code, "事项" + code, MatterType.LICENCE, dept, TimeLimit(legal), TimeLimit(promised), **kw
    )  # type: ignore[arg-type]


def test_build_catalogue_reports_every_problem() -> None:
    matters = [
        make_matter("A"),
        make_matter("A"),
        make_matter("B", dept="NOPE"),
        make_matter("C", promised=20, legal=10),
        make_matter("D", materials=(Material("申请书"), Material("《申请书》"))),
    ]
    with pytest.raises(CatalogueError) as info:
        build_catalogue([Department("D1", "部门")], matters, [Bundle("X", "一件事", ("A", "Z"))])
    fields = sorted(p.field for p in info.value.problems)
    assert fields == ["department_code", "implementation_code", "materials", "matter_codes", "promised_limit"]
    assert "5 处问题" in info.value.report()


def test_hour_limit_compared_with_day_limit() -> None:
    ok = make_matter("A", legal=1)
    half_day = Matter(
        "H", "", "半日办", MatterType.LICENCE, "D1", TimeLimit(1), TimeLimit(4, LimitUnit.WORKING_HOUR)
    )
    too_long = Matter(
        "L", "", "超时", MatterType.LICENCE, "D1", TimeLimit(1), TimeLimit(8, LimitUnit.WORKING_HOUR)
    )
    build_catalogue([Department("D1", "部门")], [ok, half_day])
    with pytest.raises(CatalogueError):
        build_catalogue([Department("D1", "部门")], [too_long])


# ---- demo catalogue ---------------------------------------------------------------------------


def test_demo_catalogue_is_realistic() -> None:
    cat = load_demo_catalogue()
    assert len(cat.matters) >= 40
    assert len(cat.departments) >= 8
    names = {d.name for d in cat.departments}
    assert {"市场监督管理局", "公安局", "税务局", "人力资源和社会保障局", "不动产登记中心"} <= names
    assert {"住房和城乡建设局", "卫生健康委员会", "民政局", "医疗保障局", "交通运输局"} <= names
    assert any(m.case_type is CaseType.IMMEDIATE for m in cat.matters)
    assert any(m.promised_limit.unit is LimitUnit.WORKING_HOUR for m in cat.matters)
    assert any(any(x.commitment_allowed for x in m.materials) for m in cat.matters)
    assert any(any(x.deferrable for x in m.materials) for m in cat.matters)
    assert any(f.type is FieldType.CHOICE for m in cat.matters for f in m.extra_fields)
    assert len(cat.bundles) >= 3
    promised = [
        m for m in cat.matters if m.legal_limit.amount >= 5 and m.promised_limit.unit is LimitUnit.WORKING_DAY
    ]
    assert sum(m.promised_limit.amount for m in promised) < 0.6 * sum(m.legal_limit.amount for m in promised)


def test_demo_company_set_up_bundle() -> None:
    cat = load_demo_catalogue()
    bundle = next(b for b in cat.bundles if b.name == "企业开办")
    names = [m.name for m in cat.bundle_matters(bundle)]
    assert names[0] == "企业设立登记"
    assert any("公章" in n for n in names) and any("发票" in n for n in names)
    assert any("银行开户" in n for n in names) and any("社保登记" in n for n in names)
    assert cat.bundle_matters(bundle)[0].promised_limit == TimeLimit(0.5)
    keys = [m.key for m in cat.bundle_materials(bundle)]
    assert len(keys) == len(set(keys))
    total = sum(len(m.materials) for m in cat.bundle_matters(bundle))
    assert len(keys) < total  # shared materials merged


def test_demo_implementation_codes_start_with_body_credit_code() -> None:
    cat = load_demo_catalogue()
    for matter in cat.matters:
        assert parse_credit_code(matter.implementation_code[:18]).authority_code == "1"
    first = cat.matters[0]
    assert cat.matter(first.implementation_code) is first
    assert cat.matter(first.basic_code) is first
    with pytest.raises(KeyError):
        cat.matter("no such code")
    assert first in cat.matters_of(first.department_code)


# ---- CSV import ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8", "utf-16"])
def test_csv_loads_in_every_excel_encoding(encoding: str) -> None:
    data = csv_bytes(GOOD_ROWS, encoding)
    if encoding == "utf-16":
        data = data.decode("utf-16").replace(",", "\t").encode("utf-16")
    cat = load_catalogue_csv(data, GOOD_BUNDLES.encode("gb18030"))
    setup = cat.matter("M001")
    assert setup.name == "企业设立登记" and setup.promised_limit == TimeLimit(0.5)
    assert [m.name for m in setup.materials] == ["公司章程", "住所使用证明"]
    assert setup.materials[1].commitment_allowed
    assert setup.extra_fields[0].choices == ("有限责任公司", "股份有限公司")
    seal = cat.matter("M002")
    assert seal.promised_limit == TimeLimit(4, LimitUnit.WORKING_HOUR) and seal.materials[0].deferrable
    assert cat.matter("M003").case_type is CaseType.IMMEDIATE and cat.matter("M003").materials == ()
    assert cat.department("GAJ").name == "公安局"
    assert cat.bundle("YJS").matter_codes == ("M001", "M002")


def test_broken_gb18030_file_is_rejected_row_by_row() -> None:
    bad = [
        GOOD_ROWS[0],
        "M002,000107001000,公章刻制备案,99,GAJ,公安局,1,工作日,四,工作小时,2,0,0,,,,营业执照,也许,复印件,1,,,否,是",
        "M004,,,01,SCJG,市场监督管理局,10,工作日,20,工作日,5,-1,免费,,,,申请书,是,传真件,x,,,否,否",
        GOOD_ROWS[1].replace("企业设立登记", "企业设立登记（改）"),
    ]
    with pytest.raises(CatalogueError) as info:
        load_catalogue_csv(csv_bytes(bad, "gb18030"))
    found = {(p.row, p.field) for p in info.value.problems}
    assert found >= {
        (3, "matter_type"),
        (3, "promised_limit"),
        (3, "material_required"),
        (4, "name"),
        (4, "case_type"),
        (4, "visits"),
        (4, "material_form"),
        (4, "material_copies"),
        (4, "promised_limit"),
        (5, "name"),
    }
    report = info.value.report()
    assert "第 3 行【事项类型】" in report and "“99”不是可选值" in report
    assert "第 5 行【事项名称】：与第 2 行的同一事项不一致" in report


def test_missing_columns_and_empty_file() -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue_csv("实施编码,事项名称\r\nA,B\r\n".encode())
    assert {p.field for p in info.value.problems} == {"matter_type", "department_code", "promised_limit"}
    assert all(p.row == 1 for p in info.value.problems)
    with pytest.raises(CatalogueError):
        load_catalogue_csv(b"")


def test_undecodable_bytes_are_reported_by_line() -> None:
    data = csv_bytes(GOOD_ROWS, "gb18030") + b"\x81\x20broken\r\n"
    with pytest.raises(CatalogueError) as info:
        load_catalogue_csv(data)
    assert [p.row for p in info.value.problems] == [6]


def test_utf8_without_bom_and_gb18030_detection() -> None:
    assert decode_csv_bytes("事项".encode("gb18030")) == "事项"
    assert decode_csv_bytes("事项".encode()) == "事项"
    assert decode_csv_bytes("事项".encode("utf-8-sig")) == "事项"


def test_bundle_file_problems() -> None:
    bundles = "一件事编码,一件事名称,实施编码\r\nYJS,企业开办,M001\r\nYJS,企业开办,NOPE\r\nONE,单项,M001\r\n"
    with pytest.raises(CatalogueError) as info:
        load_catalogue_csv(csv_bytes(GOOD_ROWS, "utf-8-sig"), bundles.encode())
    assert {(p.row, p.field) for p in info.value.problems} == {(3, "implementation_code"), (4, "bundle_code")}


def test_inconsistent_department_names() -> None:
    rows = [GOOD_ROWS[2], GOOD_ROWS[3].replace("SWJ,税务局", "GAJ,公安分局")]
    with pytest.raises(CatalogueError) as info:
        load_catalogue_csv(csv_bytes(rows, "utf-8"))
    assert [(p.row, p.field) for p in info.value.problems] == [(3, "department_name")]


# ---- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_csv_round_trip_of_demo(encoding: str) -> None:
    cat = load_demo_catalogue()
    matters_csv, bundles_csv = dump_catalogue_csv(cat, encoding)
    assert load_catalogue_csv(matters_csv, bundles_csv) == cat


def test_json_round_trip_of_demo() -> None:
    cat = load_demo_catalogue()
    assert load_catalogue_json(dump_catalogue_json(cat)) == cat
    assert load_catalogue_json(dump_catalogue_json(cat).encode("utf-8-sig")) == cat


def test_json_rejects_with_report() -> None:
    document = json.loads(dump_catalogue_json(load_demo_catalogue()))
    document["matters"][0]["case_type"] = "7"
    document["matters"][1]["materials"][0]["copies"] = "two"
    document["matters"][2]["fee"] = "-5"
    with pytest.raises(CatalogueError) as info:
        load_catalogue_json(json.dumps(document, ensure_ascii=False))
    fields = [p.field for p in info.value.problems]
    assert fields == ["case_type", "material_copies", "fee"]
    assert "第 1 个事项" in info.value.problems[0].message
    with pytest.raises(CatalogueError):
        load_catalogue_json("{not json")
    with pytest.raises(CatalogueError):
        load_catalogue_json('{"format": "other"}')
    with pytest.raises(CatalogueError):
        load_catalogue_json('{"format": "clerk-app-catalogue", "matters": [1, 2]}')


def test_fee_and_labels() -> None:
    cat = load_demo_catalogue()
    passport = next(m for m in cat.matters if m.name == "普通护照签发")
    assert passport.fee == Decimal("120") and not passport.is_free
    assert MatterType.LICENCE.label == "行政许可" and CaseType.IMMEDIATE.label == "即办件"
    assert MaterialForm.COPY.label == "复印件"
