"""Spreadsheet export (.xlsx) through XlsxWriter, for exports that open in Excel with Chinese text
intact: one sheet per table, numbers as numbers, text in the shared-strings table, a bold first row.

The workbook is assembled in memory (``in_memory``): nothing is written to the system's temporary
folder, where the names of clerks and applicants in a report would otherwise sit in temporary files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

Cell = str | int | float | None

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def column_name(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    return str(xl_col_to_name(index))


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_NAME_BAD.sub("_", name).strip("'")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def write_xlsx(sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]]) -> bytes:
    """Sheets of rows (the first row is the header, shown bold) as the bytes of an .xlsx file."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    taken: set[str] = set()
    buffer = io.BytesIO()
    # in_memory: the sheets are built in memory, not in temporary files (report text is personal
    # data); the workbook goes to the buffer.
    workbook = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "default_format_properties": {"font_name": "DengXian", "font_size": 11}},
    )
    bold = workbook.add_format({"bold": True})
    for name, rows in sheets:
        sheet = workbook.add_worksheet(_sheet_name(name, taken))
        for r, row in enumerate(rows):
            style = bold if r == 0 else None
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, int | float):  # a bool as 0/1
                    sheet.write_number(r, c, int(value) if isinstance(value, bool) else value, style)
                else:
                    sheet.write_string(r, c, _ILLEGAL.sub("", str(value)), style)
    workbook.close()
    return buffer.getvalue()
