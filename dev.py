#!/usr/bin/env python3
"""Set-up and everyday commands, with nothing but Python 3.11+ on the machine.

    python3 dev.py app          create .venv if needed, install, start the workstation (demo hall)
    python3 dev.py test         create .venv if needed, install, run ruff, mypy, import contracts, pytest
    python3 dev.py bench        run the benchmarks in bench/ (JSON + table in bench/results/)
    python3 dev.py screenshots  render every screen to docs/screenshots/

Extra arguments after the command go to the underlying tool (the app or pytest).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".clerk-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "setup.py"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python so
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not PY.exists():
        print("creating virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _fingerprint():
        print("installing clerk-app and its dependencies …", flush=True)
        run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([str(PY), "-m", "pip", "install", "--quiet", "-e", ".[test]"])
        STAMP.write_text(_fingerprint())


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def cmd_app(extra: list[str]) -> None:
    ensure_env()
    run([str(PY), "-m", "clerk_app", *extra])


def cmd_test(extra: list[str]) -> None:
    ensure_env()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    steps = [
        ("ruff", [str(PY), "-m", "ruff", "check", "clerk_app", "tests", "bench", "dev.py"]),
        ("mypy", [str(PY), "-m", "mypy"]),
        ("import contracts", [str(BIN / "lint-imports")]),
        ("pytest", [str(PY), "-m", "pytest", *extra]),
    ]
    for title, cmd in steps:
        print(f"== {title}", flush=True)
        run(cmd, env)


def cmd_bench(extra: list[str]) -> None:
    ensure_env()
    run([str(PY), "bench/run.py", *extra], dict(os.environ, QT_QPA_PLATFORM="offscreen"))


def cmd_screenshots(extra: list[str]) -> None:
    ensure_env()
    run(
        [str(PY), "-m", "clerk_app", "screenshots", "--out", "docs/screenshots", *extra],
        dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )


COMMANDS = {"app": cmd_app, "test": cmd_test, "bench": cmd_bench, "screenshots": cmd_screenshots}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
