"""Identifiers a clerk types at the counter: parse, check and normalise them.

Rules implemented (see ``shared/DOMAIN.md``):

* Resident ID, GB 11643-1999: 17 digits and a check character by ISO 7064 MOD 11-2
  (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, check = ``"10X98765432"[sum mod 11]``); the birth
  date (positions 7–14) must be a real date not in the future; the 17th digit is odd for a man.
  A lower-case ``x`` is accepted and shown upper-case; a 15-digit legacy number is upgraded
  (century ``19`` inserted, check character appended). The region code is only a soft warning:
  the table here is kept at province level (plus the 81/82/83 residence-permit codes of Hong
  Kong, Macao and Taiwan residents and a few historic prefixes) — a full county table (GB/T 2260)
  is deliberately not shipped.
* Foreign permanent residence ID: the 2023 form is 18 digits starting with ``9`` with the same
  MOD 11-2 check and the birth date at positions 7–14; the 2004 form is 3 letters (nationality)
  and 12 digits, checked for format only.
* Unified social credit code, GB 32100-2015: 18 characters from ``0-9ABCDEFGHJKLMNPQRTUWXY``,
  weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28, check = (31 − sum mod 31) mod 31.
  Registration-authority and organisation-type codes and the embedded GB 11714 organisation
  code are checked plausibly and reported as warnings.
* Mobile numbers: ``+86``/``0086``, spaces and hyphens stripped, then ``^1[3-9]\\d{9}$``.
* Passports and Hong Kong/Macao/Taiwan permits: format checks that only warn.
* Document type codes of GA/T 2000.156 as :class:`DocumentType`.
* Electronic licence identifier, GB/T 36901: ``1.2.156.3005.2.{type}.{issuer}.{serial}.{version:3}.{check}``
  with an ISO/IEC 7064 MOD 37,36 check character; a mismatch is a warning on the result.

Every refusal raises :class:`IdentifierError` (a ``ValueError``) with a machine-readable
:class:`Reason`, an optional 1-based position and a translated :attr:`IdentifierError.message`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, StrEnum

from clerk_app.i18n import N_, _

# --------------------------------------------------------------------------------------------
# Errors and warnings


class Reason(StrEnum):
    """Why an identifier was refused (machine-readable)."""

    EMPTY = "empty"
    LENGTH = "length"
    CHARACTER = "character"
    DATE = "date"
    FUTURE_DATE = "future_date"
    CHECK_DIGIT = "check_digit"
    FORMAT = "format"


class IdentifierError(ValueError):
    """An identifier was refused; ``message`` is the clerk-facing text in the current language."""

    def __init__(self, reason: Reason, template: str, position: int | None = None, **params: str) -> None:
        self.reason = reason
        self.position = position
        self.template = template
        self.params: dict[str, str] = dict(params)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The translated text naming the position of the bad character where there is one."""
        return _(self.template).format(position=self.position, **self.params)


@dataclass(frozen=True, slots=True)
class Notice:
    """A soft finding (warning) on an accepted identifier; ``code`` is machine-readable."""

    code: str
    template: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        return _(self.template).format(**dict(self.params))


def _notice(key: str, template: str, **params: str) -> Notice:
    return Notice(key, template, tuple(params.items()))


# --------------------------------------------------------------------------------------------
# Document types (GA/T 2000.156)


class DocumentType(Enum):
    """Document type codes of GA/T 2000.156 used at the counter."""

    RESIDENT_ID = "111"
    PASSPORT = "414"
    HK_MACAO_PERMIT = "516"
    TAIWAN_PERMIT = "511"
    FOREIGN_PERMANENT_ID = "553"
    OTHER = "990"

    @property
    def code(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The Chinese name, translated for display."""
        return _(_DOC_LABELS[self])

    @classmethod
    def from_code(cls, code: str) -> DocumentType:
        return cls(code.strip())


_DOC_LABELS: dict[DocumentType, str] = {
    DocumentType.RESIDENT_ID: N_("居民身份证"),
    DocumentType.PASSPORT: N_("护照"),
    DocumentType.HK_MACAO_PERMIT: N_("港澳居民来往内地通行证"),
    DocumentType.TAIWAN_PERMIT: N_("台湾居民来往大陆通行证"),
    DocumentType.FOREIGN_PERMANENT_ID: N_("外国人永久居留身份证"),
    DocumentType.OTHER: N_("其他证件"),
}

# --------------------------------------------------------------------------------------------
# Shared helpers

_MOD11_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_MOD11_CHECK = "10X98765432"
_SPACES = re.compile(r"[\s\u3000]+")


def mod11_2_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character over 17 digits (GB 11643-1999)."""
    total = sum(int(ch) * w for ch, w in zip(first17, _MOD11_WEIGHTS, strict=True))
    return _MOD11_CHECK[total % 11]


def _clean(text: str) -> str:
    """Strip blanks (including the ideographic space) and upper-case."""
    cleaned = _SPACES.sub("", text).upper()
    if not cleaned:
        raise IdentifierError(Reason.EMPTY, N_("号码为空"))
    return cleaned


def _require_length(text: str, *allowed: int) -> None:
    if len(text) not in allowed:
        wanted = " / ".join(str(n) for n in allowed)
        raise IdentifierError(
            Reason.LENGTH, N_("应为 {wanted} 位，实际为 {actual} 位"), wanted=wanted, actual=str(len(text))
        )


def _require_digits(text: str, start: int = 0) -> None:
    """Every character from ``start`` (0-based) on must be an ASCII digit."""
    for index in range(start, len(text)):
        if text[index] not in "0123456789":
            raise IdentifierError(
                Reason.CHARACTER, N_("第 {position} 位字符“{char}”不是数字"), index + 1, char=text[index]
            )


def _birth_date(text: str, position: int, today: date) -> date:
    """The YYYYMMDD date at 1-based ``position``: a real date, not in the future, not before 1850."""
    raw = text[position - 1 : position + 7]
    try:
        born = date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        born = None
    if born is None or born.year < 1850:
        raise IdentifierError(
            Reason.DATE, N_("第 {position} 位起的出生日期“{raw}”不是有效日期"), position, raw=raw
        )
    if born > today:
        raise IdentifierError(
            Reason.FUTURE_DATE, N_("第 {position} 位起的出生日期“{raw}”晚于今天"), position, raw=raw
        )
    return born


def _check_char(text: str, expected: str) -> None:
    """The last character must equal ``expected``."""
    if text[-1] != expected:
        raise IdentifierError(
            Reason.CHECK_DIGIT,
            N_("第 {position} 位校验码“{char}”不正确，请核对号码"),
            len(text),
            char=text[-1],
        )


# --------------------------------------------------------------------------------------------
# Region codes (province level; see module docstring)

REGIONS: Mapping[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区（港澳台居民居住证）", "82": "澳门特别行政区（港澳台居民居住证）",
    "83": "台湾地区（港澳台居民居住证）",
}  # fmt: skip

HISTORIC_PREFIXES: Mapping[str, str] = {
    "5102": "原四川省重庆市（1997 年设直辖市前）",
    "3414": "原安徽省巢湖市（2011 年撤销）",
    "4290": "湖北省省直辖县级行政区划",
    "2224": "吉林省延边朝鲜族自治州",
    "1521": "原内蒙古呼伦贝尔盟（2001 年撤盟设市）",
}


def region_name(code: str) -> str | None:
    """The province-level (or known historic prefix) name of a 6-digit region code, if known."""
    return HISTORIC_PREFIXES.get(code[:4]) or REGIONS.get(code[:2])


def _region_notices(code: str) -> tuple[Notice, ...]:
    if region_name(code) is not None:
        return ()
    return (_notice("region_unknown", N_("地区代码 {code} 不在代码表中，请核对（仅提示）"), code=code),)


# --------------------------------------------------------------------------------------------
# Resident ID (GB 11643-1999)


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def label(self) -> str:
        return _(N_("男")) if self is Sex.MALE else _(N_("女"))


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A checked 18-character resident ID number (GB 11643-1999)."""

    number: str
    birth_date: date
    sex: Sex
    region_code: str
    region_name: str | None
    upgraded_from: str | None = None
    warnings: tuple[Notice, ...] = ()

    @property
    def is_residence_permit(self) -> bool:
        """81/82/83: residence permit of a Hong Kong, Macao or Taiwan resident."""
        return self.region_code[:2] in ("81", "82", "83")


def upgrade_resident_id(legacy: str) -> str:
    """Upgrade a 15-digit legacy number: insert century ``19`` and append the check character."""
    text = _clean(legacy)
    _require_length(text, 15)
    _require_digits(text)
    first17 = text[:6] + "19" + text[6:]
    return first17 + mod11_2_check_char(first17)


def parse_resident_id(text: str, today: date | None = None) -> ResidentId:
    """Parse an 18-character (or 15-digit legacy) resident ID; raise :class:`IdentifierError`."""
    cleaned = _clean(text)
    _require_length(cleaned, 15, 18)
    upgraded_from = None
    if len(cleaned) == 15:
        upgraded_from, cleaned = cleaned, upgrade_resident_id(cleaned)
    _require_digits(cleaned[:17])
    if cleaned[17] not in "0123456789X":
        raise IdentifierError(
            Reason.CHARACTER, N_("第 {position} 位字符“{char}”应为数字或 X"), 18, char=cleaned[17]
        )
    born = _birth_date(cleaned, 7, today or date.today())
    _check_char(cleaned, mod11_2_check_char(cleaned[:17]))
    sex = Sex.MALE if int(cleaned[16]) % 2 else Sex.FEMALE
    region = cleaned[:6]
    return ResidentId(cleaned, born, sex, region, region_name(region), upgraded_from, _region_notices(region))


# --------------------------------------------------------------------------------------------
# Foreign permanent residence ID


@dataclass(frozen=True, slots=True)
class ForeignPermanentId:
    """Foreign permanent residence ID: 2023 form (18 digits, ``9…``) or 2004 form (3 letters, 12 digits)."""

    number: str
    new_form: bool
    nationality: str
    birth_date: date | None
    sex: Sex | None
    warnings: tuple[Notice, ...] = ()


_OLD_FOREIGN = re.compile(r"^[A-Z]{3}\d{12}$")


def parse_foreign_permanent_id(text: str, today: date | None = None) -> ForeignPermanentId:
    """Parse either form; the 2023 form carries the MOD 11-2 check, the 2004 form is checked for format."""
    cleaned = _clean(text)
    _require_length(cleaned, 15, 18)
    if len(cleaned) == 15:
        return _parse_old_foreign(cleaned)
    _require_digits(cleaned[:17])
    if cleaned[0] != "9":
        raise IdentifierError(Reason.FORMAT, N_("第 {position} 位应为 9（新版外国人永久居留身份证）"), 1)
    if cleaned[17] not in "0123456789X":
        raise IdentifierError(
            Reason.CHARACTER, N_("第 {position} 位字符“{char}”应为数字或 X"), 18, char=cleaned[17]
        )
    born = _birth_date(cleaned, 7, today or date.today())
    _check_char(cleaned, mod11_2_check_char(cleaned[:17]))
    sex = Sex.MALE if int(cleaned[16]) % 2 else Sex.FEMALE
    return ForeignPermanentId(cleaned, True, cleaned[3:6], born, sex)


def _parse_old_foreign(cleaned: str) -> ForeignPermanentId:
    for index, char in enumerate(cleaned[:3]):
        if not ("A" <= char <= "Z"):
            raise IdentifierError(
                Reason.CHARACTER, N_("第 {position} 位字符“{char}”应为字母"), index + 1, char=char
            )
    _require_digits(cleaned, 3)
    return ForeignPermanentId(cleaned, False, cleaned[:3], None, None)


# --------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_CHARSET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

#: Registration authority (position 1) → (name, allowed organisation-type codes at position 2).
CREDIT_AUTHORITIES: Mapping[str, tuple[str, str]] = {
    "1": ("机构编制", "1239"),
    "2": ("外交", "19"),
    "3": ("司法行政", "1234569"),
    "4": ("文化", "19"),
    "5": ("民政", "1239"),
    "6": ("旅游", "129"),
    "7": ("宗教", "129"),
    "8": ("工会", "19"),
    "9": ("市场监管（工商）", "123"),
    "A": ("中央军委改革和编制办公室", "19"),
    "N": ("农业农村", "1239"),
    "Y": ("其他", "1"),
}


def credit_code_check_char(first17: str) -> str:
    """GB 32100 check character: (31 − Σ value×weight mod 31) mod 31, mapped to the charset."""
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def organisation_code_check_char(first8: str) -> str:
    """GB 11714 check character of the embedded 9-character organisation code."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch, 36) * w for ch, w in zip(first8, weights, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A checked unified social credit code."""

    code: str
    authority_code: str
    org_type_code: str
    region_code: str
    organisation_code: str
    warnings: tuple[Notice, ...] = ()

    @property
    def authority_name(self) -> str | None:
        entry = CREDIT_AUTHORITIES.get(self.authority_code)
        return entry[0] if entry else None


def parse_credit_code(text: str) -> CreditCode:
    """Parse a unified social credit code; structure findings beyond the check are warnings."""
    cleaned = _clean(text)
    _require_length(cleaned, 18)
    for index, char in enumerate(cleaned):
        if char not in _CREDIT_VALUE:
            raise IdentifierError(
                Reason.CHARACTER,
                N_("第 {position} 位字符“{char}”不是统一社会信用代码允许的字符"),
                index + 1,
                char=char,
            )
    _check_char(cleaned, credit_code_check_char(cleaned[:17]))
    return CreditCode(cleaned, cleaned[0], cleaned[1], cleaned[2:8], cleaned[8:17], _credit_notices(cleaned))


def _credit_notices(code: str) -> tuple[Notice, ...]:
    found: list[Notice] = []
    authority = CREDIT_AUTHORITIES.get(code[0])
    if authority is None:
        found.append(
            _notice("authority_unknown", N_("第 1 位登记管理部门代码“{char}”不常见，请核对"), char=code[0])
        )
    elif code[1] not in authority[1]:
        found.append(
            _notice(
                "org_type_unknown", N_("第 2 位机构类别代码“{char}”与登记管理部门不符，请核对"), char=code[1]
            )
        )
    if not code[2:8].isdigit():
        found.append(_notice("region_format", N_("第 3–8 位登记管理机关行政区划码应为数字，请核对")))
    elif region_name(code[2:8]) is None:
        found.append(
            _notice("region_unknown", N_("地区代码 {code} 不在代码表中，请核对（仅提示）"), code=code[2:8])
        )
    org = code[8:17]
    if (
        not org[:8].isalnum()
        or org[8] not in "0123456789X"
        or organisation_code_check_char(org[:8]) != org[8]
    ):
        found.append(_notice("org_code_check", N_("第 9–17 位组织机构代码校验不符，请核对（仅提示）")))
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Mobile numbers

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True, slots=True)
class MobileNumber:
    """A mainland mobile number, 11 digits."""

    number: str

    @property
    def masked(self) -> str:
        """``138****5678`` for display on shared screens."""
        return self.number[:3] + "****" + self.number[7:]


def parse_mobile(text: str) -> MobileNumber:
    """Strip ``+86``/``0086``, spaces and hyphens, then require ``^1[3-9]\\d{9}$``."""
    cleaned = _clean(re.sub(r"[-\u2010-\u2015()（）]", "", text))
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
            break
    if cleaned.startswith("+"):
        raise IdentifierError(Reason.FORMAT, N_("只接受中国大陆手机号码（+86）"), 1)
    _require_digits(cleaned)
    _require_length(cleaned, 11)
    if not _MOBILE.match(cleaned):
        raise IdentifierError(Reason.FORMAT, N_("手机号码应以 13–19 开头"), 1)
    return MobileNumber(cleaned)


# --------------------------------------------------------------------------------------------
# Passports and permits: format only, warnings


@dataclass(frozen=True, slots=True)
class TravelDocument:
    """A passport or permit number, normalised; format findings are warnings."""

    doc_type: DocumentType
    number: str
    warnings: tuple[Notice, ...] = ()


_PASSPORT_CN = re.compile(r"^(E[0-9A-HJ-NP-Z]\d{7}|[EGDSP]\d{8})$")
_HK_MACAO = re.compile(r"^[HM]\d{8}(\d{2})?$")
_TAIWAN = re.compile(r"^\d{8}$|^\d{10}$|^\d{10}[A-Z]$")


def _document_number(text: str) -> str:
    cleaned = _clean(text)
    for index, char in enumerate(cleaned):
        if not (char.isascii() and char.isalnum()):
            raise IdentifierError(
                Reason.CHARACTER, N_("第 {position} 位字符“{char}”应为字母或数字"), index + 1, char=char
            )
    if not 5 <= len(cleaned) <= 20:
        raise IdentifierError(Reason.LENGTH, N_("证件号码长度 {actual} 位不合理"), actual=str(len(cleaned)))
    return cleaned


def parse_passport(text: str) -> TravelDocument:
    """A passport number; not matching the PRC passport pattern is only a warning (foreign passports)."""
    number = _document_number(text)
    warnings = (
        ()
        if _PASSPORT_CN.match(number)
        else (_notice("format", N_("不符合中国护照号码格式（E/G 开头 9 位），外国护照请核对")),)
    )
    return TravelDocument(DocumentType.PASSPORT, number, warnings)


def parse_hk_macao_permit(text: str) -> TravelDocument:
    """港澳居民来往内地通行证: H or M and 8 digits (optionally 2 more for the issue count)."""
    number = _document_number(text)
    warnings = (
        ()
        if _HK_MACAO.match(number)
        else (_notice("format", N_("港澳居民来往内地通行证号码一般为 H 或 M 加 8 位数字，请核对")),)
    )
    return TravelDocument(DocumentType.HK_MACAO_PERMIT, number, warnings)


def parse_taiwan_permit(text: str) -> TravelDocument:
    """台湾居民来往大陆通行证: 8 digits (older cards 10 digits, sometimes with a letter)."""
    number = _document_number(text)
    warnings = (
        ()
        if _TAIWAN.match(number)
        else (_notice("format", N_("台湾居民来往大陆通行证号码一般为 8 位数字，请核对")),)
    )
    return TravelDocument(DocumentType.TAIWAN_PERMIT, number, warnings)


# --------------------------------------------------------------------------------------------
# Electronic licence identifier (GB/T 36901) with ISO/IEC 7064 MOD 37,36

LICENCE_PREFIX = "1.2.156.3005.2"
_ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mod37_36_check_char(text: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid system) check character over ``0-9A-Z``."""
    product = 36
    for char in text:
        total = (product + _ALNUM36.index(char)) % 36 or 36
        product = (total * 2) % 37
    return _ALNUM36[(37 - product) % 36]


@dataclass(frozen=True, slots=True)
class LicenceIdentifier:
    """A parsed GB/T 36901 licence identifier; ``check_ok`` False means a warning, not a refusal."""

    text: str
    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str
    check_ok: bool
    warnings: tuple[Notice, ...] = ()


def _licence_part(value: str, what: str) -> str:
    part = value.strip().upper()
    if not part:
        raise IdentifierError(Reason.EMPTY, N_("电子证照标识的“{what}”部分为空"), what=what)
    for index, char in enumerate(part):
        if char not in _ALNUM36:
            raise IdentifierError(
                Reason.CHARACTER,
                N_("“{what}”第 {position} 位字符“{char}”应为字母或数字"),
                index + 1,
                what=what,
                char=char,
            )
    return part


def make_licence_identifier(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """Compose ``1.2.156.3005.2.{type}.{issuer}.{serial}.{version:03d}.{check}``."""
    parts = [
        _licence_part(type_code, _(N_("证照类型代码"))),
        _licence_part(issuer_code, _(N_("颁发机构代码"))),
    ]
    parts.append(_licence_part(serial, _(N_("顺序号"))))
    if not 0 <= version <= 999:
        raise IdentifierError(Reason.FORMAT, N_("版本号应在 0–999 之间"))
    parts.append(f"{version:03d}")
    return ".".join([LICENCE_PREFIX, *parts, mod37_36_check_char("".join(parts))])


def parse_licence_identifier(text: str) -> LicenceIdentifier:
    """Split a licence identifier; structural faults raise, a check mismatch only warns."""
    cleaned = _clean(text)
    if not cleaned.startswith(LICENCE_PREFIX + "."):
        raise IdentifierError(Reason.FORMAT, N_("电子证照标识应以 {prefix} 开头"), 1, prefix=LICENCE_PREFIX)
    parts = cleaned[len(LICENCE_PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise IdentifierError(Reason.FORMAT, N_("电子证照标识应由类型、机构、顺序号、版本、校验位五段组成"))
    type_code, issuer, serial, version, check = parts
    if not (len(version) == 3 and version.isdigit()):
        raise IdentifierError(Reason.FORMAT, N_("电子证照标识的版本号应为 3 位数字"))
    names = (_(N_("证照类型代码")), _(N_("颁发机构代码")), _(N_("顺序号")))
    body = [_licence_part(p, name) for p, name in zip((type_code, issuer, serial), names, strict=True)]
    expected = mod37_36_check_char("".join(body) + version)
    ok = check == expected
    warnings: tuple[Notice, ...] = ()
    if not ok:
        template = N_("电子证照标识校验位“{char}”不符（应为“{expected}”），请核实证照")
        warnings = (_notice("check", template, char=check, expected=expected),)
    return LicenceIdentifier(cleaned, type_code, issuer, serial, int(version), check, ok, warnings)


# --------------------------------------------------------------------------------------------
# One dispatcher for the intake form


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """What the intake form needs from any ID: the normalised number, warnings, and the value object."""

    doc_type: DocumentType
    normalised: str
    warnings: tuple[Notice, ...] = ()
    value: object = field(default=None, compare=False)


def _other(text: str) -> TravelDocument:
    return TravelDocument(DocumentType.OTHER, _clean(text))


def parse_document(doc_type: DocumentType | str, text: str, today: date | None = None) -> ParsedDocument:
    """Validate ``text`` as a document of ``doc_type`` (enum or GA/T 2000.156 code); raise on refusal."""
    kind = doc_type if isinstance(doc_type, DocumentType) else DocumentType.from_code(doc_type)
    if kind is DocumentType.RESIDENT_ID:
        rid = parse_resident_id(text, today)
        return ParsedDocument(kind, rid.number, rid.warnings, rid)
    if kind is DocumentType.FOREIGN_PERMANENT_ID:
        fid = parse_foreign_permanent_id(text, today)
        return ParsedDocument(kind, fid.number, fid.warnings, fid)
    doc = _TRAVEL_PARSERS[kind](text)
    return ParsedDocument(kind, doc.number, doc.warnings, doc)


_TRAVEL_PARSERS: dict[DocumentType, Callable[[str], TravelDocument]] = {
    DocumentType.PASSPORT: parse_passport,
    DocumentType.HK_MACAO_PERMIT: parse_hk_macao_permit,
    DocumentType.TAIWAN_PERMIT: parse_taiwan_permit,
    DocumentType.OTHER: _other,
}
