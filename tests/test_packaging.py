"""ui/, resources/ and the migrations travel inside the wheel, where clerk_app.paths finds them."""

from __future__ import annotations

import subprocess
import sys
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
