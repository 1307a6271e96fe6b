"""Application-wide Qt set-up shared by every face (workstation, kiosk, display…): the bundled
CJK font, the translator bridging to ``clerk_app.i18n``, the style sheet and Qt's own messages
routed into logging."""

from __future__ import annotations

import logging
import sys
from importlib.resources import as_file

from PySide6.QtCore import QCoreApplication, QLocale, QtMsgType, QTranslator, qInstallMessageHandler
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from clerk_app import i18n
from clerk_app.gui.forms import style_sheet
from clerk_app.paths import resource

log = logging.getLogger("clerk.qt")

FONT_FILE = "DroidSansFallbackFull.ttf"
UI_FAMILIES = [
    "Microsoft YaHei UI",
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Droid Sans Fallback",
]


class CatalogTranslator(QTranslator):
    """Qt asks this for every translatable string (Designer forms, Qt dialogs): answer from the
    same catalogues as the rest of the application."""

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        translated = i18n._(source)
        return translated if translated != source else None  # None: "no translation here"

    def isEmpty(self) -> bool:
        return False


_translator: CatalogTranslator | None = None


def register_fonts() -> str:
    """Register the bundled TrueType CJK font so Chinese renders on a machine without one."""
    with as_file(resource("fonts", FONT_FILE)) as path:
        font_id = QFontDatabase.addApplicationFont(str(path))
    if font_id < 0:
        log.error("could not register bundled font %s", FONT_FILE)
        return ""
    return QFontDatabase.applicationFontFamilies(font_id)[0]


def install_translator(app: QCoreApplication) -> None:
    global _translator
    if _translator is None:
        _translator = CatalogTranslator(app)
        app.installTranslator(_translator)


def _qt_message(mode: QtMsgType, context: object, message: str) -> None:
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    log.log(level, "%s", message)


def route_qt_messages() -> None:
    qInstallMessageHandler(_qt_message)


def configure(app: QApplication, language: str, qss: str = "app.qss") -> None:
    """Fonts, language and style for any face; safe to call again (tests, language switch)."""
    chosen = i18n.set_language(language)
    QLocale.setDefault(
        QLocale(
            QLocale.Language.Chinese if chosen == "zh_CN" else QLocale.Language.English,
            QLocale.Country.China if chosen == "zh_CN" else QLocale.Country.UnitedStates,
        )
    )
    app.setApplicationName("clerk-app")
    app.setApplicationDisplayName(i18n._("政务服务窗口工作台"))
    app.setOrganizationName("clerk-app")
    family = register_fonts()
    font = QFont()
    font.setFamilies([*UI_FAMILIES[:-1], family or UI_FAMILIES[-1]])
    font.setPointSizeF(10.5)
    app.setFont(font)
    install_translator(app)
    app.setStyleSheet(style_sheet(qss))


def application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication(argv if argv is not None else sys.argv[:1])
