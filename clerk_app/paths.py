"""Where the shipped data (``ui/`` and ``resources/``) lives, found through importlib.resources.

In an installed wheel and in the PyInstaller bundle both folders sit inside the package
(``clerk_app/ui``, ``clerk_app/resources``); in a source checkout they sit beside it. Either way
the lookup starts from ``importlib.resources.files("clerk_app")``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

_KNOWN = ("ui", "resources")


@cache
def data_root(name: str) -> Traversable:
    """The ``ui`` or ``resources`` folder, as a Traversable."""
    if name not in _KNOWN:
        raise ValueError(f"unknown data folder {name!r}")
    package = files("clerk_app")
    inside = package / name
    if inside.is_dir():
        return inside
    beside = package / ".." / name  # source checkout: <repo>/clerk_app/../ui
    if beside.is_dir():
        return beside
    raise FileNotFoundError(f"the {name}/ folder is missing from this installation")


def ui_file(name: str) -> Traversable:
    return data_root("ui") / name


def resource(*parts: str) -> Traversable:
    node = data_root("resources")
    for part in parts:
        node = node / part
    return node
