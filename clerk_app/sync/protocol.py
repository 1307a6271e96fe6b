"""What travels between a workstation and the central store, and the errors of a sync round.

There is no sync server of our own: the workstation talks to the central database directly (with a
least-privilege role), and these dataclasses are the in-process shape of a push and a pull.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from clerk_app.i18n import _

#: version of the synced schema this program writes; bumped by a migration that changes a synced
#: table. The central store keeps its own in ``sync_counter['schema']``; a workstation one version
#: behind keeps syncing, an older one is told to upgrade.
SCHEMA_VERSION = 1
SUPPORTED_BEHIND = 1

#: a workstation clock further than this from the server's is reported
CLOCK_SKEW_WARN_MS = 120_000

RESULT_APPLIED = "applied"
RESULT_MERGED = "merged"
RESULT_PARTIAL = "partial"
RESULT_DUPLICATE = "duplicate"
RESULT_REJECTED = "rejected"


class SyncError(RuntimeError):
    """Base of the errors a sync round reports to the clerk."""


class UpgradeRequired(SyncError):
    """This workstation's schema is too old for the central store; its outbox stays intact."""

    def __init__(self, device_version: int, central_version: int) -> None:
        self.device_version = device_version
        self.central_version = central_version
        super().__init__(
            _(
                "本工作站的数据版本（{device}）过旧，中心库为 {central}。请升级本程序；未上传的数据已保留。"
            ).format(device=device_version, central=central_version)
        )


class CentralTooOld(SyncError):
    def __init__(self, device_version: int, central_version: int) -> None:
        self.device_version = device_version
        self.central_version = central_version
        super().__init__(
            _("中心库的数据版本（{central}）低于本工作站（{device}），请先升级中心库。").format(
                device=device_version, central=central_version
            )
        )


class SyncCancelled(SyncError):
    def __init__(self) -> None:
        super().__init__(_("同步已取消"))


class PushEntry(NamedTuple):
    """One outbox entry as pushed: the device order ``seq`` and the change. (Named tuples, like
    ``EntryResult`` and ``Change``: a sync makes thousands a second.)"""

    seq: int
    table_name: str
    row_id: uuid.UUID
    op: str
    base_version: int
    version: int
    changed: tuple[str, ...]
    payload: dict[str, Any]
    #: ``payload`` as the JSON text it was stored as, when at hand (written as it is centrally)
    payload_json: str | None = None


class EntryResult(NamedTuple):
    seq: int
    result: str
    reason: str
    central_version: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class PushResult:
    results: tuple[EntryResult, ...]
    #: the central state, after the batch, of every row the batch did not apply exactly as sent
    #: (merged, rejected, replayed, another version) and the rejection rows: (table, id) -> row
    rows: dict[tuple[str, uuid.UUID], dict[str, Any]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.results if r.result in (RESULT_REJECTED, RESULT_PARTIAL))


class Change(NamedTuple):
    """One entry of the central change log (a named tuple: a pull makes thousands a second,
    three times quicker than a frozen dataclass)."""

    seq: int
    table_name: str
    row_id: uuid.UUID
    op: str
    version: int
    source: str
    changed: tuple[str, ...]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: tuple[Change, ...]
    #: the cursor after this page (the last seq, or the request's cursor when empty)
    cursor: int
    #: the last sequence number committed when the page was read
    high_water: int
    #: the requested cursor is older than the retention window: take a snapshot instead
    snapshot_required: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    rows: dict[str, tuple[dict[str, Any], ...]]
    high_water: int
