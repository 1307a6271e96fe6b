"""Facts about this installation for the 系统 page and the status bar."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from clerk_app.i18n import LANGUAGES
from clerk_app.security.credentials import secure_keyring_available
from clerk_app.services.runtime import Runtime
from clerk_app.store import migrate
from clerk_app.store.models import OutboxEntry


@dataclass(frozen=True, slots=True)
class SystemInfo:
    device_id: str
    local_store: str
    local_revisions: tuple[str, ...]
    central: str
    central_embedded: bool
    outbox_waiting: int
    secure_keyring: bool
    log_folder: str
    language: str
    languages: tuple[tuple[str, str], ...]


def system_info(rt: Runtime) -> SystemInfo:
    with rt.local.unit_of_work() as uow:
        waiting = uow.session.scalar(select(func.count()).select_from(OutboxEntry)) or 0
    return SystemInfo(
        device_id=rt.device_id,
        local_store=str(rt.paths.local_store),
        local_revisions=tuple(sorted(migrate.current_revisions(rt.local.engine))),
        central=rt.describe_central(),
        central_embedded=rt.central_is_embedded,
        outbox_waiting=waiting,
        secure_keyring=secure_keyring_available(),
        log_folder=str(rt.paths.logs),
        language=rt.settings.language,
        languages=tuple(LANGUAGES.items()),
    )


def central_reachable(rt: Runtime) -> bool:
    try:
        with rt.central.engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:  # any failure to reach the central store means "offline"
        return False
    return True


def set_language(rt: Runtime, language: str) -> None:
    rt.save_settings(rt.settings.replace(language=language))
