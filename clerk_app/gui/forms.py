"""Qt Designer forms from ``ui/``, loaded at run time with QUiLoader (no generated code to keep
in step). Views then look their widgets up by objectName through :func:`child`."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject
from PySide6.QtUiTools import QUiLoader
from PySide6.QtWidgets import QWidget

from clerk_app.paths import ui_file

W = TypeVar("W", bound=QObject)


def load_form(name: str, parent: QWidget | None = None) -> QWidget:
    data = QByteArray(ui_file(name).read_bytes())
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    widget = QUiLoader().load(buffer, parent)
    buffer.close()
    if widget is None:
        raise RuntimeError(f"cannot load form {name}")
    return widget


def child(form: QWidget, kind: type[W], name: str) -> W:
    found = form.findChild(kind, name)
    if found is None:
        raise LookupError(f"{type(form).__name__} has no {kind.__name__} named {name!r}")
    return found


def style_sheet(name: str = "app.qss") -> str:
    return ui_file(name).read_text(encoding="utf-8")
