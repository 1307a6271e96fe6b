"""One translation system for the whole application.

Source strings are written in Chinese (zh_CN, the default language). Other languages are gettext
``.po`` catalogues in ``resources/translations/<lang>/*.po`` (one file per subsystem, so that each
area keeps its own), read with polib. The Qt side installs a QTranslator that asks this module,
so Designer forms and code share the same catalogues.

``_`` translates now; ``N_`` marks a module-level constant to be translated where it is shown.
A test checks that every ``_("…")`` / ``N_("…")`` literal in the package has an English entry.
"""

from __future__ import annotations

import datetime as dt
import threading

from clerk_app.paths import resource

DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

_lock = threading.Lock()
_catalog: dict[str, str] = {}
_plurals: dict[str, tuple[str, ...]] = {}
_language = DEFAULT_LANGUAGE


def normalise_language(lang: str | None) -> str:
    """Map user input such as ``zh``, ``zh-CN``, ``en_US`` onto a shipped language."""
    if not lang:
        return DEFAULT_LANGUAGE
    key = lang.replace("-", "_").split(".")[0]
    if key in LANGUAGES:
        return key
    base = key.split("_")[0].lower()
    if base == "zh":
        return "zh_CN"
    if base in LANGUAGES:
        return base
    raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")


def load_catalog(lang: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    import polib  # only when a language other than the source one is chosen

    singles: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    folder = resource("translations", lang)
    if not folder.is_dir():
        return singles, plurals
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        po = polib.pofile(entry.read_text(encoding="utf-8"))
        for item in po.translated_entries():
            if item.msgid_plural:
                forms = tuple(item.msgstr_plural[k] for k in sorted(item.msgstr_plural))
                plurals[item.msgid] = forms
            elif item.msgctxt:
                singles[context_key(item.msgctxt, item.msgid)] = item.msgstr
            else:
                singles[item.msgid] = item.msgstr
    return singles, plurals


def set_language(lang: str | None) -> str:
    """Switch the process to ``lang`` (zh_CN needs no catalogue: it is the source language)."""
    global _language
    chosen = normalise_language(lang)
    singles, plurals = ({}, {}) if chosen == DEFAULT_LANGUAGE else load_catalog(chosen)
    with _lock:
        _catalog.clear()
        _catalog.update(singles)
        _plurals.clear()
        _plurals.update(plurals)
        _language = chosen
    return chosen


def language() -> str:
    return _language


def _(text: str) -> str:
    """Translate ``text`` (a Chinese source string) into the current language."""
    return _catalog.get(text) or text


def N_(text: str) -> str:
    """Mark ``text`` for translation without translating it now (module-level constants)."""
    return text


def context_key(context: str, text: str) -> str:
    """How a text with a context (``msgctxt``) is kept in the catalogue (gettext's own form)."""
    return f"{context}\x04{text}"


def pgettext(context: str, text: str) -> str:
    """Translate ``text`` as used in ``context``: one Chinese word may need two English ones
    (挂起 is the state "Parked" and the key "Park")."""
    return _catalog.get(context_key(context, text)) or text


def NP_(context: str, text: str) -> str:
    """Mark ``text`` for translation in ``context`` without translating it now."""
    return text


def ngettext(singular: str, plural: str, n: int) -> str:
    forms = _plurals.get(singular)
    if forms:
        return forms[0] if n == 1 or len(forms) == 1 else forms[1]
    return singular if n == 1 else plural


#: English month names, as QLocale(English, UnitedStates) writes them (``MMMM``)
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip


def month_day(day: dt.date) -> str:
    """A day without its year in the current language: ``11月28日`` / ``November 28`` (the
    same as QLocale's ``M月d日`` / ``MMMM d`` for the language the GUI sets; services cannot use
    Qt)."""
    if _language == "en":
        return f"{_EN_MONTHS[day.month - 1]} {day.day}"
    return f"{day.month}月{day.day}日"
