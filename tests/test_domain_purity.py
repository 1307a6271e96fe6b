"""The domain layer imports with neither Qt nor SQLAlchemy available (not merely unused)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "clerk_app" / "domain"

BLOCKER = """
import importlib, importlib.abc, pkgutil, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"PySide6", "shiboken6", "sqlalchemy", "alembic", "psycopg"}:
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())
import clerk_app.domain as domain
names = [m.name for m in pkgutil.iter_modules(domain.__path__)]
for name in names:
    importlib.import_module(f"clerk_app.domain.{name}")
print(len(names))
"""


def test_domain_imports_without_qt_or_sqlalchemy() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = len([p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"])
    assert int(result.stdout.strip()) == expected
