"""Shared helper of the GUI tests (not a test module)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot


def bring_to_front(qtbot: QtBot, window: QWidget) -> None:
    """Show ``window`` as the active window, as a clerk's keys reach it: leftovers of earlier
    tests are closed first, so that none of them holds the focus."""
    for other in QApplication.topLevelWidgets():
        if other is not window and other.isVisible():
            other.close()
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
