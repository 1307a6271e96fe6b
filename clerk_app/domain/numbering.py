"""Document numbers: per-type formats and per-workstation number blocks (pure rules).

A number such as ``呼政受〔2026〕00123号`` is made from a pattern with ``str.format`` placeholders:
``{year}`` (four digits), ``{month:02d}`` (optional) and ``{seq}`` / ``{seq:05d}`` (the running number
within the year). The hexagonal brackets 〔〕 around the year follow GB/T 9704-2012 §7.2.4 (发文字号).

Uniqueness across workstations, offline included, comes from blocks: the central store hands each
workstation a disjoint range ``[start, end]`` of sequence numbers for one document type and year
while online; the workstation draws from its blocks in order and never outside them. When its
blocks run out offline it must refuse to give a final number (:class:`BlocksExhausted`) rather than
guess one. Every number drawn is either used by a document or recorded as voided, so the series
has no unexplained gap.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

_FIELDS = {"year": r"(?P<year>\d{4})", "month": r"(?P<month>\d{2})"}


class NumberFormatError(ValueError):
    """A pattern or a number text that does not fit the rules above."""


class BlocksExhausted(RuntimeError):
    """No reserved number is left for this document type and year on this workstation."""

    def __init__(self, doc_type: str, year: int) -> None:
        super().__init__(f"no reserved number left for {doc_type} {year}")
        self.doc_type = doc_type
        self.year = year


@dataclass(frozen=True, slots=True)
class DocumentNumber:
    """A parsed number: the type's pattern values."""

    year: int
    seq: int
    month: int | None = None


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """The configurable number pattern of one document type."""

    doc_type: str
    pattern: str

    def __post_init__(self) -> None:
        names = [field for _, field, _, _ in string.Formatter().parse(self.pattern) if field is not None]
        if names.count("seq") != 1:
            raise NumberFormatError(f"pattern {self.pattern!r} needs exactly one {{seq}}")
        unknown = set(names) - {"seq", *_FIELDS}
        if unknown:
            raise NumberFormatError(f"pattern {self.pattern!r} has unknown fields {sorted(unknown)}")
        if names.count("year") > 1 or names.count("month") > 1:
            raise NumberFormatError(f"pattern {self.pattern!r} repeats a field")

    def format(self, year: int, seq: int, month: int | None = None) -> str:
        """The number text, e.g. ``format(2026, 123)`` → ``呼政受〔2026〕00123号``."""
        if seq < 1:
            raise NumberFormatError("sequence numbers start at 1")
        if "{month" in self.pattern and month is None:
            raise NumberFormatError(f"pattern {self.pattern!r} needs a month")
        return self.pattern.format(year=year, seq=seq, month=month or 0)

    def regex(self) -> re.Pattern[str]:
        parts: list[str] = []
        for literal, field, spec, _ in string.Formatter().parse(self.pattern):
            parts.append(re.escape(literal))
            if field == "seq":
                width = re.fullmatch(r"0?(\d+)d", spec or "")
                parts.append(rf"(?P<seq>\d{{{width.group(1)},}})" if width else r"(?P<seq>\d+)")
            elif field is not None:
                parts.append(_FIELDS[field])
        return re.compile("".join(parts))

    def parse(self, text: str) -> DocumentNumber:
        """Inverse of :meth:`format`; raises :class:`NumberFormatError` if ``text`` does not fit."""
        match = self.regex().fullmatch(text.strip())
        if match is None:
            raise NumberFormatError(f"{text!r} is not a {self.doc_type} number ({self.pattern})")
        values = match.groupdict()
        month = int(values["month"]) if values.get("month") else None
        year = int(values["year"]) if values.get("year") else 0
        return DocumentNumber(year=year, seq=int(values["seq"]), month=month)


@dataclass(frozen=True, slots=True)
class NumberBlock:
    """A range of sequence numbers ``start..end`` (inclusive) reserved for one workstation."""

    doc_type: str
    year: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.end:
            raise NumberFormatError(f"bad block {self.start}..{self.end}")

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self.start <= seq <= self.end

    def overlaps(self, other: NumberBlock) -> bool:
        same_series = (self.doc_type, self.year) == (other.doc_type, other.year)
        return same_series and self.start <= other.end and other.start <= self.end


@dataclass(frozen=True, slots=True)
class BlockState:
    """A block and the next sequence number not yet drawn from it (``end + 1`` when used up)."""

    block: NumberBlock
    next_seq: int

    @property
    def remaining(self) -> int:
        return self.block.end - self.next_seq + 1


def next_block_start(existing: Iterable[NumberBlock], doc_type: str, year: int) -> int:
    """Where the central store starts the next block of a series: after every block handed out."""
    ends = [b.end for b in existing if (b.doc_type, b.year) == (doc_type, year)]
    return max(ends, default=0) + 1


def draw(states: Iterable[BlockState], doc_type: str, year: int) -> tuple[int, BlockState]:
    """Draw the lowest free number of the series from ``states``; the chosen block's new state.

    Raises :class:`BlocksExhausted` if none of the workstation's blocks has a number left.
    """
    candidates = [
        s for s in states if (s.block.doc_type, s.block.year) == (doc_type, year) and s.remaining > 0
    ]
    if not candidates:
        raise BlocksExhausted(doc_type, year)
    state = min(candidates, key=lambda s: s.next_seq)
    return state.next_seq, BlockState(state.block, state.next_seq + 1)


def remaining(states: Iterable[BlockState], doc_type: str, year: int) -> int:
    """Numbers still free for the series on this workstation."""
    return sum(s.remaining for s in states if (s.block.doc_type, s.block.year) == (doc_type, year))


def needs_refill(states: Iterable[BlockState], doc_type: str, year: int, threshold: int) -> bool:
    """True when the free numbers of the series are at or below the refill threshold (a setting)."""
    return remaining(states, doc_type, year) <= threshold


def unexplained_gaps(used: Iterable[int], voided: Iterable[int], issued_up_to: int) -> list[int]:
    """Sequence numbers ``1..issued_up_to`` neither used by a document nor recorded as voided."""
    seen = set(used) | set(voided)
    return [n for n in range(1, issued_up_to + 1) if n not in seen]
