"""Cold start of the workstation to its login window, against a bare PySide6 window started the
same way (a fresh Python process, offscreen platform) in the same run. Goal: ≤ 1.5×.

Both processes print the wall-clock time at which their window is on screen; the figure is that
moment minus the moment the process was launched.

"First run" includes creating both stores and seeding the demo hall; later starts open an
existing data folder, which is what a clerk sees every morning."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

BARE = (
    "from PySide6.QtCore import QTimer\n"
    "from PySide6.QtWidgets import QApplication, QLabel\n"
    "app = QApplication([])\n"
    "w = QLabel('login')\n"
    "w.show()\n"
    "app.processEvents()\n"
    "import time; print(f'shown {time.time():.6f}', flush=True)\n"
    "QTimer.singleShot(0, app.quit)\n"
    "app.exec()\n"
)


def _time(cmd: list[str]) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.time()
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    shown = next(line for line in done.stdout.splitlines() if line.startswith("shown "))
    return float(shown.split()[1]) - start


def run(quick: bool = False) -> list[dict[str, Any]]:
    repeats = 3 if quick else 7
    with tempfile.TemporaryDirectory() as folder:
        app_cmd = [sys.executable, "-m", "clerk_app", "--data-dir", folder, "--exit-when-shown"]
        first = _time(app_cmd)
        bare, app = [], []
        for _ in range(repeats):  # interleaved, so both see the same machine load
            bare.append(_time([sys.executable, "-c", BARE]))
            app.append(_time(app_cmd))
    bare_s, app_s = statistics.median(bare), statistics.median(app)
    return [
        {
            "name": "start to login window (existing data)",
            "value": app_s,
            "unit": "s",
            "baseline": bare_s,
            "ratio": app_s / bare_s,
            "goal": "ratio <= 1.5 vs bare PySide6 window",
        },
        {
            "name": "first run (stores created and demo hall seeded behind the window)",
            "value": first,
            "unit": "s",
            "baseline": bare_s,
            "ratio": first / bare_s,
            "goal": "informational",
        },
    ]
