"""What the cases screen's search box means, as conditions the store answers from its indexes.

One box for a case number, an applicant's name, an ID number, a credit code or a phone number:

* digits, perhaps with Latin letters (at least 4 in all): the case number *begins with* it (from
  8 characters, its service day, on: a year alone would match thousands), or the applicant's
  document number (ID or credit code) or phone *ends with* it (尾号, 4 to 8 characters) or
  *begins with* it (6 characters or more). Spaces, hyphens, ``+86`` and a lower-case ``x`` are
  forgiven.
* anything else (a name, Chinese or Latin, whole or in part): the applicant's name *contains*
  it; Latin letters in any case.

Every one of these is one range over an index: "begins with" over the plain indexes of
``case_applicants`` and ``cases``, "ends with" and "contains" over the search keys of
:mod:`clerk_app.store.models.case_search` (reversed number tails and name suffixes, kept by
database triggers in the transaction that writes the applicant).

Masking: document numbers of persons and phones are shown as ``110105********002X`` and
``138****8000`` except to the case's own clerk and supervisors; credit codes of organisations are
public and shown whole.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from clerk_app.i18n import _
from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.store.models.case_search import (
    KEY_CHARS,
    KIND_ID,
    KIND_NAME,
    KIND_PHONE,
    TAIL,
    CaseSearchKey,
)
from clerk_app.store.models.cases import Applicant, Case

MIN_NUMBER_CHARS = 4
MIN_PREFIX_CHARS = 6  # a number is looked for by its beginning from this length on
MAX_QUERY_CHARS = 100
MIN_CASE_NUMBER_CHARS = 8  # a case number is looked for from its whole service day (YYYYMMDD) on
MAX_TAIL_CHARS = TAIL  # "ends with" is looked for up to this length (尾号 of a phone or ID)
#: the end of a key range: above every character (binary order on SQLite, "C" on PostgreSQL)
_TOP = "\U0010ffff"

_NUMBERISH = re.compile(r"^(?=.*\d)\+?[0-9A-Za-z][0-9A-Za-z\-\s]*$")  # a digit, no other script
_NOISE = re.compile(r"[\s\u3000\-()（）]")
_UNSEARCHABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_NAME_EDGES = " \u3000·"  # a name key never starts at a space or a middle dot (see the migration)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# ---- masking --------------------------------------------------------------------------------


def mask_id(number: str) -> str:
    """``11010519491231002X`` → ``110105********002X``; short numbers keep two characters each side."""
    n = len(number)
    if n >= 15:
        return number[:6] + "*" * (n - 10) + number[-4:]
    if n >= 6:
        return number[:2] + "*" * (n - 4) + number[-2:]
    return "*" * n


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``; other numbers keep their last four digits."""
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(0, len(phone) - 4) + phone[-4:]


def sees_whole(session: UserSession, clerk_id: uuid.UUID) -> bool:
    """The case's own clerk and supervisors see ID numbers whole."""
    return session.role is Role.SUPERVISOR or session.user_id == clerk_id


# ---- what was typed -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchText:
    """The search box's text, understood: a number (``number`` set, spaces and +86 gone) or a
    name (``name`` set, ASCII letters in lower case); neither for nothing to look for."""

    number: str = ""
    case_number: str = ""  # the number as a case number prefix ("" when too short)
    name: str = ""

    @property
    def empty(self) -> bool:
        return not (self.number or self.name)


def parse(text: str) -> SearchText:
    """What ``text`` asks for; a :class:`UserError` in plain words for a query that cannot be."""
    if not isinstance(text, str):
        raise UserError(_("查询内容应为文字"))
    shown = (ch for ch in text[: MAX_QUERY_CHARS * 4] if unicodedata.category(ch) not in _UNSEARCHABLE)
    raw = unicodedata.normalize("NFKC", "".join(shown)).strip()  # control characters dropped
    if not raw:
        return SearchText()
    if len(raw) > MAX_QUERY_CHARS:
        raise UserError(_("查询内容过长：最多 {limit} 个字符").format(limit=MAX_QUERY_CHARS))
    if _NUMBERISH.match(raw):
        compact = _NOISE.sub("", raw).upper()
        if compact.startswith("+86"):
            compact = compact[3:]
        elif compact.startswith("0086") and len(compact) == 15:
            compact = compact[4:]
        compact = compact.lstrip("+")
        if len(compact) < MIN_NUMBER_CHARS:
            raise UserError(_("号码请至少输入 {n} 位").format(n=MIN_NUMBER_CHARS))
        number = raw.upper().replace(" ", "")
        return SearchText(number=compact, case_number=number if len(number) >= MIN_CASE_NUMBER_CHARS else "")
    name = raw.translate(_ASCII_LOWER).lstrip(_NAME_EDGES)
    return SearchText(name=name) if name else SearchText()


# ---- conditions -----------------------------------------------------------------------------


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix(column: InstrumentedAttribute[str], value: str, dialect: str) -> ColumnElement[bool]:
    """``column`` begins with ``value``, in a form the dialect answers from a b-tree index."""
    if dialect == "sqlite":  # binary collation: a range is exact and always uses the index
        return and_(column >= value, column < value + _TOP)
    return column.like(_escape_like(value) + "%", escape="\\")


def _keys(kind: str, start: str) -> ColumnElement[bool]:
    """Search keys of ``kind`` beginning with ``start`` (byte order on both stores)."""
    return and_(CaseSearchKey.kind == kind, CaseSearchKey.key >= start, CaseSearchKey.key < start + _TOP)


def _by_keys(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Cases of the applicants whose search keys meet ``condition`` (a subquery: SQLite reads it
    once, then the cases' index on applicant)."""
    return Case.applicant_id.in_(select(CaseSearchKey.applicant_id).where(condition))


def _by_applicant(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return Case.applicant_id.in_(select(Applicant.id).where(condition))


def applicant_terms(query: SearchText, dialect: str) -> list[ColumnElement[bool]]:
    """Conditions on the case's applicant that the query means (any of them)."""
    if query.name:
        found = _keys(KIND_NAME, query.name[:KEY_CHARS])
        if len(query.name) > KEY_CHARS:  # the keys are cut: the rest is checked on the name
            whole = func.lower(Applicant.name).like(f"%{_escape_like(query.name)}%", escape="\\")
            return [
                _by_applicant(and_(Applicant.id.in_(select(CaseSearchKey.applicant_id).where(found)), whole))
            ]
        return [_by_keys(found)]
    if not query.number:
        return []
    compact, digits = query.number, query.number.isdigit()
    terms: list[ColumnElement[bool]] = []
    if len(compact) >= MIN_PREFIX_CHARS:  # four or five characters are a 尾号, not a beginning
        starts = [prefix(Applicant.id_number, compact, dialect)]
        if digits:
            starts.append(prefix(Applicant.phone, compact, dialect))
        terms.append(_by_applicant(or_(*starts)))
    if len(compact) <= MAX_TAIL_CHARS:  # 尾号: a whole number is not looked for by its end
        backwards = compact[::-1]
        tails = [_keys(KIND_ID, backwards)]
        if digits:
            tails.append(_keys(KIND_PHONE, backwards))
        terms.append(_by_keys(or_(*tails)))
    return terms


def case_condition(query: SearchText, dialect: str) -> ColumnElement[bool] | None:
    """The condition on the case row itself (its number); None when the query has none."""
    return prefix(Case.case_number, query.case_number, dialect) if query.case_number else None


def matching_cases(s: Session, query: SearchText) -> ColumnElement[bool] | None:
    """The cases' condition for ``query``; None for no condition at all."""
    if query.empty:
        return None
    dialect = s.get_bind().dialect.name
    on_case = case_condition(query, dialect)
    parts = [*([] if on_case is None else [on_case]), *applicant_terms(query, dialect)]
    return or_(*parts) if parts else false()
