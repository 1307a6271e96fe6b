"""Matter search as the clerk types: name, code, pinyin, pinyin initials, one typo tolerated.

Everything that depends only on the catalogue is precomputed when :class:`MatterIndex` is built:
for each searchable field (names, codes, full pinyin, pinyin initials) one newline-joined
"haystack" string plus the start offset of each line. A keystroke then runs a handful of compiled
regular expressions over those strings (in C) and maps match offsets back to entries by bisection,
so the cost is nearly independent of the catalogue's size (under 5 ms for 2,000 matters; see
``bench/bench_domain.py``).

Pinyin comes from ``pypinyin``: the standard reading in context (its phrase dictionary), plus one
variant per polyphonic character using that character's other readings (heteronyms), capped, so
``zhongqing`` and ``chongqing`` can both find 重庆. Ranking tiers, best first: exact name, name
prefix, code prefix, name substring, initials prefix, full-pinyin prefix, initials substring,
full-pinyin substring, then "one wrong character" (edit distance 1, one substitution, insertion or
deletion) on the name or the initials, for queries of three characters or more.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from pypinyin import Style, lazy_pinyin, pinyin

from clerk_app.domain.catalogue import Bundle, Catalogue, Matter

MAX_PINYIN_VARIANTS = 8
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


class HitKind(StrEnum):
    MATTER = "matter"
    BUNDLE = "bundle"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked result: a matter or a bundle (一件事), with the field that matched."""

    kind: HitKind
    code: str
    name: str
    score: int
    matched: str
    matter: Matter | None = None
    bundle: Bundle | None = None


def normalise_query(text: str) -> str:
    """NFKC (full-width to half-width), lower case, no blanks."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def pinyin_variants(name: str) -> list[tuple[str, str]]:
    """``(full, initials)`` spellings: the standard reading first, then one per polyphonic character."""
    hanzi = [ch for ch in name if "\u3400" <= ch <= "\u9fff"]
    standard = lazy_pinyin("".join(hanzi))
    variants = [standard]
    for index, char in enumerate(hanzi):
        for option in _readings(char):
            if option != standard[index] and len(variants) < MAX_PINYIN_VARIANTS:
                variants.append([*standard[:index], option, *standard[index + 1 :]])
    spelled = [("".join(v), "".join(s[0] for s in v if s)) for v in variants]
    return list(dict.fromkeys(spelled))


@cache
def _readings(char: str) -> tuple[str, ...]:
    """All toneless readings of one character (``ü`` written ``v``)."""
    found = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    return tuple(dict.fromkeys(_NOT_ALNUM.sub("", r.replace("ü", "v")) for r in found))


class _Haystack:
    """Lines of one field joined by newlines, each line owned by an entry."""

    def __init__(self, lines: Iterable[tuple[int, str]]) -> None:
        self.owners: list[int] = []
        self.starts: list[int] = []
        parts: list[str] = []
        offset = 0
        for owner, line in lines:
            self.owners.append(owner)
            self.starts.append(offset)
            parts.append(line)
            offset += len(line) + 1
        self.text = "\n".join(parts)

    def find(self, pattern: re.Pattern[str]) -> dict[int, bool]:
        """Entry → whether some match starts its line (a prefix match)."""
        found: dict[int, bool] = {}
        for match in pattern.finditer(self.text):
            line = bisect_right(self.starts, match.start()) - 1
            owner = self.owners[line]
            found[owner] = found.get(owner, False) or match.start() == self.starts[line]
        return found

    def find_literal(self, needle: str, prefix_only: bool = False) -> dict[int, bool]:
        """Like :meth:`find` for a plain string, using ``str.find`` (one hit per line is enough)."""
        found: dict[int, bool] = {}
        text, starts, owners = self.text, self.starts, self.owners
        if prefix_only:
            return self._find_prefix(needle)
        position = text.find(needle)
        while position >= 0:
            line = bisect_right(starts, position) - 1
            prefix = position == starts[line]
            found[owners[line]] = found.get(owners[line], False) or prefix
            end = text.find("\n", position)
            if end < 0:
                break
            position = text.find(needle, end + 1)
        return found

    def _find_prefix(self, needle: str) -> dict[int, bool]:
        text, starts, owners = self.text, self.starts, self.owners
        found = {owners[0]: True} if text.startswith(needle) else {}
        position = text.find("\n" + needle)
        while position >= 0:
            found[owners[bisect_right(starts, position + 1) - 1]] = True
            position = text.find("\n" + needle, position + 1)
        return found


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: HitKind
    code: str
    name: str
    order: int
    matter: Matter | None
    bundle: Bundle | None


def _one_edit_pattern(query: str) -> str:
    """Regex matching any text within edit distance 1 of ``query`` (no newline inside)."""
    parts = []
    for i in range(len(query)):
        parts.append(re.escape(query[:i]) + "[^\\n]" + re.escape(query[i + 1 :]))  # substitution
        parts.append(re.escape(query[:i]) + re.escape(query[i + 1 :]))  # one character too many
    for i in range(len(query) + 1):
        parts.append(re.escape(query[:i]) + "[^\\n]" + re.escape(query[i:]))  # one character missing
    return "|".join(dict.fromkeys(parts))


class MatterIndex:
    """Search index over a catalogue's matters and bundles, built once, queried per keystroke."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.entries = [
            _Entry(HitKind.BUNDLE, b.code, b.name, i, None, b) for i, b in enumerate(catalogue.bundles)
        ]
        offset = len(self.entries)
        self.entries += [
            _Entry(HitKind.MATTER, m.implementation_code, m.name, offset + i, m, None)
            for i, m in enumerate(catalogue.matters)
        ]
        self._norm_names = [normalise_query(e.name) for e in self.entries]
        self._names = _Haystack(enumerate(self._norm_names))
        self._codes = sorted((code, i) for i, code in self._code_lines())
        spellings = [(i, pinyin_variants(e.name)) for i, e in enumerate(self.entries)]
        self._full = _Haystack(
            (i, full) for i, variants in spellings for full in dict.fromkeys(f for f, _ in variants)
        )
        self._initials = _Haystack(
            (i, initials) for i, variants in spellings for initials in dict.fromkeys(n for _, n in variants)
        )

    def _code_lines(self) -> list[tuple[int, str]]:
        lines = []
        for i, entry in enumerate(self.entries):
            lines.append((i, entry.code.lower()))
            if entry.matter is not None and entry.matter.basic_code:
                lines.append((i, entry.matter.basic_code.lower()))
        return lines

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Ranked hits for what the clerk has typed so far (empty query → no hits)."""
        q = normalise_query(query)
        if not q:
            return []
        scores: dict[int, tuple[int, str]] = {}
        for entry, score, field in self._matches(q):
            if score > scores.get(entry, (0, ""))[0]:
                scores[entry] = (score, field)
        ranked = heapq.nsmallest(
            limit, scores, key=lambda i: (-scores[i][0], len(self.entries[i].name), self.entries[i].order)
        )
        return [self._hit(i, *scores[i]) for i in ranked]

    def _matches(self, q: str) -> Iterable[tuple[int, int, str]]:
        for entry, prefix in self._names.find_literal(q).items():
            yield entry, (100 if self._norm_names[entry] == q else 90 if prefix else 80), "name"
        low = bisect_left(self._codes, (q,))
        high = bisect_left(self._codes, (q + "\uffff",))
        for _code, entry in self._codes[low:high]:
            yield entry, 85, "code"
        if q.isascii() and q.isalnum():
            yield from self._pinyin_matches(q)
        if len(q) >= 3:
            fuzzy = _one_edit_pattern(q)
            for entry in self._names.find(re.compile(fuzzy)):
                yield entry, 40, "name~1"
            if q.isascii() and q.isalpha():
                for entry in self._initials.find(re.compile("(?m)^(?:" + fuzzy + ")")):
                    yield entry, 35, "initials~1"

    def _pinyin_matches(self, q: str) -> Iterable[tuple[int, int, str]]:
        prefix_only = len(q) == 1
        for entry, prefix in self._initials.find_literal(q, prefix_only).items():
            yield entry, (75 if prefix else 65), "initials"
        for entry, prefix in self._full.find_literal(q, prefix_only).items():
            yield entry, (70 if prefix else 60), "pinyin"

    def _hit(self, index: int, score: int, matched: str) -> SearchHit:
        entry = self.entries[index]
        return SearchHit(entry.kind, entry.code, entry.name, score, matched, entry.matter, entry.bundle)
