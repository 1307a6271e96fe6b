"""Logging: one named logger per subsystem, a rotating file in the user log directory and an
in-memory ring of recent lines that goes into crash reports (after redaction)."""

from __future__ import annotations

import collections
import logging
import re
from pathlib import Path

SUBSYSTEMS = ("app", "db", "sync", "queue", "print", "auth", "qt", "gui")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

db = logging.getLogger("clerk.db")
sync = logging.getLogger("clerk.sync")
queue = logging.getLogger("clerk.queue")
printing = logging.getLogger("clerk.print")
auth = logging.getLogger("clerk.auth")
qt = logging.getLogger("clerk.qt")
app = logging.getLogger("clerk.app")


class RingHandler(logging.Handler):
    def __init__(self, size: int = 500) -> None:
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


ring = RingHandler()

# 18-char resident IDs and credit codes, 15-digit legacy IDs, mobile numbers, passwords in URLs
_PATTERNS = [
    (re.compile(r"(?<![0-9A-Z])[0-9]{17}[0-9Xx](?![0-9A-Z])"), "<ID>"),
    (re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])"), "<CODE>"),
    (re.compile(r"(?<![0-9])[0-9]{15}(?![0-9])"), "<ID>"),
    (re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])"), "<PHONE>"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(password|passwd|pwd|secret)(\s*[=:]\s*)\S+"), r"\1\2***"),
]


def redact(text: str) -> str:
    """Remove personal data (ID numbers, credit codes, phones) and secrets from ``text``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def setup(log_dir: Path, level: str = "INFO") -> Path:
    import logging.handlers  # not needed by anything that only logs

    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "clerk-app.log"
    root = logging.getLogger("clerk")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(file_handler)
    root.addHandler(ring)
    return path
