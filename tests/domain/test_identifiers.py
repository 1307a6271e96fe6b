"""Identifier rules: the standard examples of DOMAIN.md, error reasons and positions, property tests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_app.domain.identifiers import (
    CREDIT_CHARSET,
    DocumentType,
    IdentifierError,
    Reason,
    Sex,
    credit_code_check_char,
    make_licence_identifier,
    mod11_2_check_char,
    mod37_36_check_char,
    parse_credit_code,
    parse_document,
    parse_foreign_permanent_id,
    parse_hk_macao_permit,
    parse_licence_identifier,
    parse_mobile,
    parse_passport,
    parse_resident_id,
    parse_taiwan_permit,
    upgrade_resident_id,
)

TODAY = date(2026, 11, 28)


def refused(call: object, *args: object) -> IdentifierError:
    with pytest.raises(IdentifierError) as info:
        call(*args)  # type: ignore[operator]
    return info.value


# ---- resident ID: DOMAIN.md examples -------------------------------------------------------


def test_standard_valid_example() -> None:
    rid = parse_resident_id("11010519491231002X", TODAY)
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex is Sex.FEMALE
    assert rid.region_code == "110105"
    assert rid.region_name == "北京市"
    assert rid.warnings == ()


def test_lower_case_x_is_accepted_and_shown_upper_case() -> None:
    assert parse_resident_id(" 11010519491231002x ", TODAY).number == "11010519491231002X"


def test_standard_bad_check_digit() -> None:
    err = refused(parse_resident_id, "110105194912310021", TODAY)
    assert err.reason is Reason.CHECK_DIGIT
    assert err.position == 18
    assert "18" in err.message


def test_legacy_15_digit_upgrade() -> None:
    assert upgrade_resident_id("320311770706001") == "320311197707060018"
    rid = parse_resident_id("320311770706001", TODAY)
    assert rid.number == "320311197707060018"
    assert rid.upgraded_from == "320311770706001"
    assert rid.sex is Sex.MALE
    assert rid.birth_date == date(1977, 7, 6)


def test_bad_character_names_its_position() -> None:
    err = refused(parse_resident_id, "110105A9491231002X", TODAY)
    assert (err.reason, err.position) == (Reason.CHARACTER, 7)
    assert err.message == "第 7 位字符“A”不是数字"


def test_x_only_allowed_last() -> None:
    err = refused(parse_resident_id, "1101051949123100X2", TODAY)
    assert (err.reason, err.position) == (Reason.CHARACTER, 17)


@pytest.mark.parametrize(
    ("text", "reason"), [("", Reason.EMPTY), ("   ", Reason.EMPTY), ("1101051949", Reason.LENGTH)]
)
def test_empty_and_length(text: str, reason: Reason) -> None:
    assert refused(parse_resident_id, text, TODAY).reason is reason


def with_check(first17: str) -> str:
    return first17 + mod11_2_check_char(first17)


def test_impossible_birth_date() -> None:
    err = refused(parse_resident_id, with_check("11010519490231002"), TODAY)
    assert (err.reason, err.position) == (Reason.DATE, 7)


def test_future_birth_date() -> None:
    err = refused(parse_resident_id, with_check("11010520261129002"), TODAY)
    assert err.reason is Reason.FUTURE_DATE
    assert parse_resident_id(with_check("11010520261128002"), TODAY).birth_date == TODAY


def test_unknown_region_is_only_a_warning() -> None:
    rid = parse_resident_id(with_check("99010519800101001"), TODAY)
    assert rid.region_name is None
    assert [w.code for w in rid.warnings] == ["region_unknown"]
    assert "990105" in rid.warnings[0].message


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permits_of_hk_macao_taiwan_residents(prefix: str) -> None:
    rid = parse_resident_id(with_check(prefix + "19900101001"), TODAY)
    assert rid.is_residence_permit and rid.warnings == ()


def test_historic_prefix_is_known() -> None:
    rid = parse_resident_id(with_check("51020219700101001"), TODAY)
    assert rid.region_name is not None and "重庆" in rid.region_name


# ---- property tests ------------------------------------------------------------------------

regions = st.sampled_from(["110105", "320311", "440304", "510202", "810000", "650102", "460100"])
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    serial = draw(st.integers(0, 999))
    return with_check(draw(regions) + draw(births).strftime("%Y%m%d") + f"{serial:03d}")


@settings(max_examples=300, deadline=None)
@given(resident_ids())
def test_every_generated_resident_id_parses(number: str) -> None:
    rid = parse_resident_id(number.lower(), TODAY)
    assert rid.number == number
    assert rid.sex is (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE)


def mutate(number: str, index: int, char: str) -> str:
    return number[:index] + char + number[index + 1 :]


@settings(max_examples=300, deadline=None)
@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789XA"))
def test_single_change_in_resident_id_is_caught(number: str, index: int, char: str) -> None:
    changed = mutate(number, index, char)
    if changed == number:
        return
    with pytest.raises(IdentifierError):
        parse_resident_id(changed, TODAY)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "Y1"]))
    region = draw(st.sampled_from(["350100", "110108", "440300"]))
    body = draw(st.text(CREDIT_CHARSET, min_size=9, max_size=9))
    first17 = head + region + body
    return first17 + credit_code_check_char(first17)


@settings(max_examples=300, deadline=None)
@given(credit_codes())
def test_every_generated_credit_code_parses(code: str) -> None:
    assert parse_credit_code(code.lower()).code == code


@settings(max_examples=300, deadline=None)
@given(credit_codes(), st.integers(0, 17), st.sampled_from(CREDIT_CHARSET + "IOZSV"))
def test_single_change_in_credit_code_is_caught(code: str, index: int, char: str) -> None:
    changed = mutate(code, index, char)
    if changed == code:
        return
    with pytest.raises(IdentifierError):
        parse_credit_code(changed)


# ---- foreign permanent residence ID ----------------------------------------------------------


def test_new_foreign_permanent_id() -> None:
    number = with_check("93115619800101001")
    fid = parse_foreign_permanent_id(number, TODAY)
    assert fid.new_form and fid.birth_date == date(1980, 1, 1) and fid.nationality == "156"
    assert parse_document("553", number, TODAY).normalised == number


def test_new_foreign_permanent_id_must_start_with_9_and_check() -> None:
    assert refused(parse_foreign_permanent_id, with_check("83115619800101001"), TODAY).position == 1
    bad = with_check("93115619800101001")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    assert refused(parse_foreign_permanent_id, bad, TODAY).reason is Reason.CHECK_DIGIT


def test_old_foreign_permanent_id() -> None:
    fid = parse_foreign_permanent_id("usa110080010115", TODAY)
    assert (fid.number, fid.new_form, fid.nationality) == ("USA110080010115", False, "USA")
    err = refused(parse_foreign_permanent_id, "US1110080010115", TODAY)
    assert (err.reason, err.position) == (Reason.CHARACTER, 3)


@settings(max_examples=200, deadline=None)
@given(births, st.integers(0, 999), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_foreign_id_single_change_caught(born: date, serial: int, index: int, char: str) -> None:
    number = with_check(f"931156{born:%Y%m%d}{serial:03d}")
    assert parse_foreign_permanent_id(number, TODAY).number == number
    changed = mutate(number, index, char)
    if changed != number:
        with pytest.raises(IdentifierError):
            parse_foreign_permanent_id(changed, TODAY)


# ---- credit code -----------------------------------------------------------------------------


def test_credit_code_standard_examples() -> None:
    code = parse_credit_code("91350100M000100Y43")
    assert (code.authority_code, code.org_type_code, code.region_code) == ("9", "1", "350100")
    assert code.organisation_code == "M000100Y4"
    assert code.warnings == ()
    assert code.authority_name == "市场监管（工商）"
    err = refused(parse_credit_code, "91350100M000100Y44")
    assert (err.reason, err.position) == (Reason.CHECK_DIGIT, 18)


@pytest.mark.parametrize("char", list("IOZSV"))
def test_credit_code_forbidden_letters(char: str) -> None:
    err = refused(parse_credit_code, "91350100M000100" + char + "43")
    assert (err.reason, err.position) == (Reason.CHARACTER, 16)


def test_credit_code_implausible_structure_warns() -> None:
    first17 = "97350100M000100Y4"
    code = parse_credit_code(first17 + credit_code_check_char(first17))
    assert "org_type_unknown" in [w.code for w in code.warnings]
    first17 = "B1350100M000100Y4"
    code = parse_credit_code(first17 + credit_code_check_char(first17))
    assert "authority_unknown" in [w.code for w in code.warnings]


# ---- mobile ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "+8613812345678", "138-1234-5678"]
)
def test_mobile_normalised(text: str) -> None:
    assert parse_mobile(text).number == "13812345678"
    assert parse_mobile(text).masked == "138****5678"


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("12812345678", Reason.FORMAT, 1),
        ("1381234567", Reason.LENGTH, None),
        ("1381234567a", Reason.CHARACTER, 11),
        ("+1 415 555 0100", Reason.FORMAT, 1),
        ("", Reason.EMPTY, None),
    ],
)
def test_mobile_refused(text: str, reason: Reason, position: int | None) -> None:
    err = refused(parse_mobile, text)
    assert (err.reason, err.position) == (reason, position)


# ---- passports and permits ---------------------------------------------------------------------


def test_passport_formats() -> None:
    assert parse_passport("e12345678").warnings == ()
    assert parse_passport("EA1234567").warnings == ()
    foreign = parse_passport("X1234567AB")
    assert foreign.number == "X1234567AB" and foreign.warnings[0].code == "format"
    assert refused(parse_passport, "E1234-678").position == 6


def test_permits() -> None:
    assert parse_hk_macao_permit("H12345678").warnings == ()
    assert parse_hk_macao_permit("M1234567801").warnings == ()
    assert parse_hk_macao_permit("C12345678").warnings
    assert parse_taiwan_permit("12345678").warnings == ()
    assert parse_taiwan_permit("1234567").warnings


# ---- document types and dispatcher ------------------------------------------------------------


def test_document_type_codes() -> None:
    assert {t.code for t in DocumentType} == {"111", "414", "516", "511", "553", "990"}
    assert DocumentType.from_code("111").label == "居民身份证"
    assert DocumentType.TAIWAN_PERMIT.label == "台湾居民来往大陆通行证"


def test_dispatcher() -> None:
    assert parse_document("111", "11010519491231002x", TODAY).normalised == "11010519491231002X"
    assert parse_document(DocumentType.PASSPORT, "x1234567ab").warnings
    assert parse_document(DocumentType.OTHER, " abc 123 ").normalised == "ABC123"
    with pytest.raises(IdentifierError):
        parse_document("111", "110105194912310021", TODAY)
    with pytest.raises(ValueError):
        parse_document("999", "x")


# ---- licence identifier (GB/T 36901, MOD 37,36) -----------------------------------------------


def test_mod37_36_reference_value() -> None:
    # the worked example of ISO/IEC 7064 for MOD 37,36
    assert mod37_36_check_char("A12425GABC1234002") == "M"


def test_licence_identifier_round_trip() -> None:
    text = make_licence_identifier("11100000", "91350100M000100Y43", "0001", 1)
    assert text.startswith("1.2.156.3005.2.11100000.91350100M000100Y43.0001.001.")
    lic = parse_licence_identifier(text)
    assert (lic.type_code, lic.issuer_code, lic.serial, lic.version) == (
        "11100000",
        "91350100M000100Y43",
        "0001",
        1,
    )
    assert lic.check_ok and lic.warnings == ()


def test_licence_mismatch_is_a_warning() -> None:
    text = make_licence_identifier("11100000", "91350100M000100Y43", "0001", 1)
    wrong = text[:-1] + ("0" if text[-1] != "0" else "1")
    lic = parse_licence_identifier(wrong)
    assert not lic.check_ok and lic.warnings[0].code == "check"


def test_licence_structure_errors() -> None:
    assert refused(parse_licence_identifier, "1.2.156.9999.2.1.2.3.001.X").reason is Reason.FORMAT
    assert refused(parse_licence_identifier, "1.2.156.3005.2.1.2.001.X").reason is Reason.FORMAT
    assert refused(parse_licence_identifier, "1.2.156.3005.2.1.2.3.01.X").reason is Reason.FORMAT
    with pytest.raises(IdentifierError):
        make_licence_identifier("111", "ABC", "00-1", 1)
    with pytest.raises(IdentifierError):
        make_licence_identifier("111", "ABC", "001", 1000)


alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alnum, min_size=1, max_size=10),
    st.text(alnum, min_size=18, max_size=18),
    st.text(alnum, min_size=1, max_size=12),
    st.integers(0, 999),
    st.data(),
)
def test_licence_single_change_detected(
    kind: str, issuer: str, serial: str, version: int, data: st.DataObject
) -> None:
    text = make_licence_identifier(kind, issuer, serial, version)
    assert parse_licence_identifier(text).check_ok
    start = len("1.2.156.3005.2.")
    index = data.draw(st.integers(start, len(text) - 1))
    if text[index] == ".":
        return
    char = data.draw(st.sampled_from(alnum))
    changed = mutate(text, index, char)
    if changed == text:
        return
    digits_only = text[index] in "0123456789" and char not in "0123456789"
    version_slot = index >= len(text) - 5 and index < len(text) - 2
    if digits_only and version_slot:
        with pytest.raises(IdentifierError):
            parse_licence_identifier(changed)
    else:
        assert not parse_licence_identifier(changed).check_ok


def test_birth_date_today_minus_one_day_allowed() -> None:
    yesterday = TODAY - timedelta(days=1)
    assert parse_resident_id(with_check(f"110105{yesterday:%Y%m%d}001"), TODAY).birth_date == yesterday
