"""One place for errors shown to the user.

Expected errors (wrong password, a rule refusing an action…) get a plain dialog with the
message in the user's language. Anything else is a bug: it is logged, a crash report with
personal data redacted is written to the log folder, and the crash dialog says where it is.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QMessageBox, QWidget

from clerk_app import __version__, logs
from clerk_app.i18n import _

log = logging.getLogger("clerk.app")


def write_crash_report(folder: Path, exc: BaseException) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = folder / f"crash-{stamp}.txt"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = "\n".join(
        [
            f"clerk-app {__version__} on Python {platform.python_version()} / {platform.platform()}",
            f"time: {dt.datetime.now().isoformat()}",
            "",
            trace,
            "recent log:",
            *logs.ring.lines,
        ]
    )
    path.write_text(logs.redact(text), encoding="utf-8")
    return path


class ErrorReporter:
    def __init__(self, crash_folder: Path, parent: QWidget | None = None) -> None:
        self.crash_folder = crash_folder
        self.parent = parent
        #: tests set this to False to assert on ``last`` without a modal dialog
        self.interactive = True
        self.last: tuple[str, str] | None = None

    def __call__(self, exc: BaseException) -> None:
        from clerk_app.services.errors import is_expected  # not at start-up: it loads the store layer

        if is_expected(exc):
            self.show_expected(str(exc))
        else:
            self.show_crash(exc)

    def show_expected(self, message: str) -> None:
        self.last = ("expected", message)
        log.info("shown to user: %s", message)
        if self.interactive:
            QMessageBox.warning(self.parent, _("无法完成"), message)

    def show_crash(self, exc: BaseException) -> None:
        log.error("unexpected error", exc_info=exc)
        path = write_crash_report(self.crash_folder, exc)
        message = _(
            "程序出现了意外错误，已保存故障报告（不含个人信息）：\n{path}\n\n"
            "您已录入并保存的内容不会丢失。请将此报告交给系统管理员。"
        ).format(path=path)
        self.last = ("crash", message)
        if self.interactive:
            QMessageBox.critical(self.parent, _("意外错误"), message)

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self(exc.with_traceback(tb))
