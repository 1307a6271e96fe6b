"""For revisions that redefine a database function of an earlier revision: the earlier revision's
own module (its SQL text as it stands in that file), and that text with named pieces swapped, each
found exactly once, so that a revision states only what it changes and fails loudly when the
earlier text is not what it expects."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).with_name("versions")


def revision_module(name: str) -> ModuleType:
    """The module of revision file ``versions/<name>.py`` (not importable by name: it starts
    with a digit)."""
    spec = importlib.util.spec_from_file_location(f"revision_{name}", VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def swapped(source: str, swaps: Iterable[tuple[str, str]], what: str) -> str:
    """``source`` with each ``old`` replaced by its ``new``; every ``old`` must occur exactly once
    (else ``RuntimeError`` naming ``what``)."""
    for old, new in swaps:
        if source.count(old) != 1:
            raise RuntimeError(f"{what} is not the expected text")
        source = source.replace(old, new)
    return source
