"""ui/, resources/ and the migrations travel inside the wheel, where clerk_app.paths finds them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _expected() -> set[str]:
    names = {f"clerk_app/ui/{p.name}" for p in (ROOT / "ui").iterdir() if p.is_file()}
    names |= {
        f"clerk_app/resources/{p.relative_to(ROOT / 'resources').as_posix()}"
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    versions = ROOT / "clerk_app" / "store" / "migrations" / "versions"
    names |= {f"clerk_app/store/migrations/versions/{p.name}" for p in versions.glob("*.py")}
    return names


def test_wheel_carries_ui_resources_and_migrations(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp_path),
        ".",
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("*.whl")
    missing = _expected() - set(zipfile.ZipFile(wheel).namelist())
    assert not missing, sorted(missing)


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _distribution_key(re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0])


def test_every_package_the_program_imports_is_a_declared_dependency() -> None:
    """A module the program imports (even lazily, inside a function) must come from a package in
    ``[project] dependencies``, not only from the test extras: an install without the tests would
    fail the first time that code runs (an XLSX appointment import once did)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_requirement_name(d) for d in project["dependencies"]}
    # with the packages a declared one brings as its own part (shiboken6 of PySide6's, pinned by it)
    for name in list(declared):
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                declared.add(_requirement_name(requirement))
    providers = importlib.metadata.packages_distributions()
    imported: dict[str, str] = {}
    for path in sorted((ROOT / "clerk_app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                imported.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    undeclared = {}
    for top, where in imported.items():
        if top in sys.stdlib_module_names or top in ("clerk_app", "__future__"):
            continue
        dists = {_distribution_key(d) for d in providers.get(top, [])}
        assert dists, f"{top} (imported in {where}) is not installed"
        if not dists & declared:
            undeclared[top] = (where, sorted(dists))
    assert undeclared == {}
