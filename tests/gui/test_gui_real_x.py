"""The workstation starts under a real X server (Xvfb, the xcb platform plugin), not only offscreen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)"
)
def test_starts_under_xvfb(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    cmd = [
        "xvfb-run",
        "-a",
        sys.executable,
        "-m",
        "clerk_app",
        "--data-dir",
        str(tmp_path),
        "--exit-when-shown",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shown ")
    assert (tmp_path / "workstation.sqlite").exists()
