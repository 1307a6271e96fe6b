"""Reading the booking platform's export of the day's appointments: a CSV file (UTF-8 with or
without BOM; GB18030 and UTF-16 as Excel writes them are read too) or an XLSX workbook (its
first sheet). The first row names the columns:

* required: 预约码, 姓名, 证件号码, 业务类别 (code ``A`` or name ``综合业务``), 预约日期, 时段开始;
* optional: 手机号, 证件类型 (GA/T 2000.156 code or name; default 居民身份证), 时段结束 (default
  ``SLOT_MINUTES`` after the start).

Each row is checked on its own (the ID number by its check digit, the category against the
hall's, the date and times, a code given twice in the file) and every fault of a row is
reported together, with the row number Excel shows (the header is row 1). Rows are only read
here; ``appointment_book`` stores the good ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clerk_app.domain.catalogue import CatalogueError
from clerk_app.domain.catalogue_io import decode_csv_bytes
from clerk_app.domain.identifiers import DocumentType, IdentifierError, parse_document, parse_mobile
from clerk_app.i18n import _
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import CHINA

#: a slot's length when the export gives no end time
SLOT_MINUTES = 30
#: the most rows one file may hold (a day of a large hall is a few hundred)
MAX_ROWS = 5000

#: column → the header names the booking platforms use for it
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("预约码", "预约编号", "预约号"),
    "name": ("姓名", "申请人", "申请人姓名"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "证件号"),
    "id_type": ("证件类型",),
    "phone": ("手机号", "手机号码", "联系电话"),
    "category": ("业务类别", "业务类型", "类别"),
    "day": ("预约日期", "日期"),
    "start": ("时段开始", "开始时间", "预约时段开始"),
    "end": ("时段结束", "结束时间", "预约时段结束"),
}
REQUIRED = ("code", "name", "id_number", "category", "day", "start")

_CODE = re.compile(r"^[A-Z0-9-]{1,16}$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{1,2})\s*[:：点时]\s*(\d{1,2})?\s*分?(?:[:：](\d{1,2}))?$")
_ID_TYPES = {t.code: t for t in DocumentType}

Cell = object


@dataclass(frozen=True, slots=True)
class BookingRow:
    """A row that passed every check: times in UTC, the ID number normalised."""

    row: int
    code: str
    name: str
    id_number: str
    phone: str
    category: str
    slot_start: dt.datetime
    slot_end: dt.datetime

    @property
    def service_day(self) -> dt.date:
        return self.slot_start.astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported and why (already in the UI language)."""

    row: int
    message: str

    @property
    def text(self) -> str:
        return _("第 {row} 行：{message}").format(row=self.row, message=self.message)


# ---- reading the file ------------------------------------------------------------------------


def read_table(data: bytes, filename: str = "") -> tuple[list[str], list[tuple[int, list[Cell]]]]:
    """The header and the non-empty rows with their row numbers, from CSV or XLSX bytes."""
    if not data.strip():
        raise UserError(_("文件是空的。"))
    if data[:4] == b"\xd0\xcf\x11\xe0" or filename.lower().endswith(".xls"):
        raise UserError(_("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。"))
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    if not rows:
        raise UserError(_("文件是空的。"))
    header = [_cell_text(c).lstrip("\ufeff") for c in rows[0]]
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(_cell_text(c) for c in r)]
    if len(body) > MAX_ROWS:
        raise UserError(_("文件有 {n} 行，一次最多导入 {max} 行。").format(n=len(body), max=MAX_ROWS))
    return header, body


def _csv_rows(data: bytes) -> list[list[Cell]]:
    try:
        text = decode_csv_bytes(data)
    except CatalogueError as exc:
        raise UserError(_("文件编码无法识别，请另存为 UTF-8 编码的 CSV 或 Excel 文件。")) from exc
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_rows(data: bytes) -> list[list[Cell]]:
    import openpyxl  # only an import of a workbook needs it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UserError(_("无法读取这个 Excel 文件，请确认是 .xlsx 格式。")) from exc
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code or phone number stored as a number
    return str(value).strip()


def map_columns(header: Sequence[str]) -> dict[str, int]:
    """Column index of each known column; a required one missing refuses the whole file."""
    names = {name: column for column, aliases in COLUMNS.items() for name in aliases}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        column = names.get(title.replace(" ", "").replace("\u3000", ""))
        if column is not None and column not in found:
            found[column] = index
    missing = [COLUMNS[c][0] for c in REQUIRED if c not in found]
    if missing:
        raise UserError(
            _("文件第 1 行缺少这些列：{cols}。请使用预约平台导出的文件。").format(cols="、".join(missing))
        )
    return found


# ---- checking the rows -----------------------------------------------------------------------


def check_rows(
    header: Sequence[str],
    rows: Sequence[tuple[int, Sequence[Cell]]],
    categories: Mapping[str, str],
    today: dt.date,
) -> tuple[list[BookingRow], list[RowError]]:
    """``categories`` maps a category's code and its name to its code. Rows for a day before
    ``today`` are refused; a code given twice refuses its later rows."""
    columns = map_columns(header)
    good: list[BookingRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        values = {c: (cells[i] if i < len(cells) else None) for c, i in columns.items()}
        booking, problems = _check(number, values, categories, today)
        if booking is not None and booking.code in seen:
            problems.append(
                _("预约码 {code} 与第 {row} 行重复").format(code=booking.code, row=seen[booking.code])
            )
            booking = None
        if booking is None:
            errors.append(RowError(number, "；".join(problems)))
            continue
        seen[booking.code] = number
        good.append(booking)
    return good, errors


def _check(
    number: int, values: Mapping[str, Cell], categories: Mapping[str, str], today: dt.date
) -> tuple[BookingRow | None, list[str]]:
    problems: list[str] = []
    text = {c: _cell_text(v) for c, v in values.items()}
    code = text["code"].upper()
    if not code:
        problems.append(_("预约码为空"))
    elif not _CODE.match(code):
        problems.append(_("预约码“{code}”只能由字母、数字和 - 组成，最多 16 位").format(code=text["code"]))
    name = text["name"]
    if not name:
        problems.append(_("姓名为空"))
    elif len(name) > 60:
        problems.append(_("姓名超过 60 个字"))
    id_number = _id_number(text["id_number"], text.get("id_type", ""), today, problems)
    phone = _phone(text.get("phone", ""), problems)
    category = categories.get(text["category"]) or categories.get(text["category"].upper())
    if not text["category"]:
        problems.append(_("业务类别为空"))
    elif category is None:
        problems.append(_("业务类别“{c}”不是本大厅的取号类别").format(c=text["category"]))
    day = _date(values["day"], problems)
    start = _time(values["start"], _("时段开始"), problems)
    end = _time(values.get("end"), _("时段结束"), problems) if text.get("end") else None
    if day is not None and day < today:
        problems.append(_("预约日期 {d} 已过").format(d=day.isoformat()))
    if start is not None and end is not None and end <= start:
        problems.append(_("时段结束 {end} 不晚于时段开始 {start}").format(end=end, start=start))
    if problems or day is None or start is None or category is None or id_number is None:
        return None, problems or [_("无法读取")]
    slot_start = dt.datetime.combine(day, start, CHINA)
    slot_end = (
        dt.datetime.combine(day, end, CHINA)
        if end is not None
        else slot_start + dt.timedelta(minutes=SLOT_MINUTES)
    )
    utc = dt.UTC
    return BookingRow(
        number, code, name, id_number, phone, category, slot_start.astimezone(utc), slot_end.astimezone(utc)
    ), []


def _id_number(value: str, id_type: str, today: dt.date, problems: list[str]) -> str | None:
    if not value:
        problems.append(_("证件号码为空"))
        return None
    kind = DocumentType.RESIDENT_ID
    if id_type:
        found = _ID_TYPES.get(id_type) or next((t for t in DocumentType if t.label == id_type), None)
        if found is None:
            problems.append(_("证件类型“{t}”无法识别").format(t=id_type))
            return None
        kind = found
    try:
        number = parse_document(kind, value, today).normalised
    except IdentifierError as exc:
        problems.append(_("证件号码“{n}”有误：{why}").format(n=value, why=exc.message))
        return None
    if len(number) > 32:
        problems.append(_("证件号码超过 32 位"))
        return None
    return number


def _phone(value: str, problems: list[str]) -> str:
    if not value:
        return ""
    try:
        return parse_mobile(value).number
    except IdentifierError as exc:
        problems.append(_("手机号“{n}”有误：{why}").format(n=value, why=exc.message))
        return ""


def _date(value: Cell, problems: list[str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value)
    match = _DATE.match(text) or _DATE_DIGITS.match(text)
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    problems.append(
        _("预约日期“{v}”无法识别（应为 2026-11-28 这样的日期）").format(v=text) if text else _("预约日期为空")
    )
    return None


def _time(value: Cell, what: str, problems: list[str]) -> dt.time | None:
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    text = _cell_text(value)
    match = _TIME.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    if text:
        problems.append(_("{what}“{v}”无法识别（应为 09:30 这样的时间）").format(what=what, v=text))
    else:
        problems.append(_("{what}为空").format(what=what))
    return None


#: the column titles of a file written by ``template_rows`` (and the screen's hint)
TEMPLATE_HEADER = tuple(
    COLUMNS[c][0] for c in ("code", "name", "id_number", "phone", "category", "day", "start", "end")
)
