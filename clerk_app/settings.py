"""Per-machine settings: typed, in one JSON file in the user config directory, versioned.

Each release that changes the shape adds an upgrade step to ``_UPGRADES``; a file written by
an older release is upgraded on load and saved back. Secrets never live here (see
``clerk_app.security.credentials``). Hall-wide settings are kept in the store instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "clerk-app"
DATA_DIR_ENV = "CLERK_APP_DATA_DIR"
CENTRAL_URL_ENV = "CLERK_APP_CENTRAL_URL"
SETTINGS_VERSION = 2


@dataclass(frozen=True, slots=True)
class AppPaths:
    data: Path
    config: Path
    logs: Path

    @property
    def local_store(self) -> Path:
        return self.data / "workstation.sqlite"

    @property
    def embedded_central(self) -> Path:
        return self.data / "central.sqlite"

    @property
    def crash_reports(self) -> Path:
        return self.logs / "crash"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | Path | None = None) -> AppPaths:
    """``--data-dir`` or $CLERK_APP_DATA_DIR puts everything under one folder; otherwise the
    platform's user data, config and log directories are used."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(root, root / "config", root / "logs")
    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


@dataclass(frozen=True, slots=True)
class Settings:
    version: int = SETTINGS_VERSION
    language: str = "zh_CN"
    #: empty: the embedded SQLite central store beside the local one
    central_url: str = ""
    last_window: int | None = None
    last_username: str = ""
    idle_lock_minutes: int = 10
    lockout_failures: int = 5
    lockout_minutes: int = 5
    log_level: str = "INFO"
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 kept the lock time in seconds under "idle_lock_seconds"
    seconds = data.pop("idle_lock_seconds", None)
    if seconds is not None:
        data["idle_lock_minutes"] = max(1, int(seconds) // 60)
    return data


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    version = int(data.get("version", 1))
    while version < SETTINGS_VERSION:
        data = _UPGRADES[version](dict(data))
        version += 1
        data["version"] = version
    return data


def from_dict(data: dict[str, Any]) -> Settings:
    names = {f.name for f in dataclasses.fields(Settings)}
    known = {k: v for k, v in upgrade(data).items() if k in names}
    return Settings(**known)


def load(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    data = json.loads(path.read_text(encoding="utf-8"))
    settings = from_dict(data)
    if int(data.get("version", 1)) != SETTINGS_VERSION:
        save(path, settings)
    return settings


def save(path: Path, settings: Settings) -> None:
    """Atomic write: a crash mid-save leaves the old file intact."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dataclasses.asdict(settings), ensure_ascii=False, indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
