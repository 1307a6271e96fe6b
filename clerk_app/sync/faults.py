"""Named fault points for the fault tests.

The sync code calls ``point("push.after_central_commit")`` and so on at the moments where a crash
matters. In production nothing happens. A test process started with ``CLERK_SYNC_FAULT=<name>``
(several names separated by commas) kills itself with SIGKILL there, as a power cut would; in
process, ``set_hook`` installs a function that may raise to simulate a crash.

Points: ``push.after_central_commit`` (central committed the batch, the reply is not processed),
``push.after_local_commit`` (the acknowledgement is committed locally), ``pull.mid_page`` (half of
a pulled page is written, not committed), ``pull.after_local_commit``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

ENV = "CLERK_SYNC_FAULT"
POINTS = (
    "push.after_central_commit",
    "push.after_local_commit",
    "pull.mid_page",
    "pull.after_local_commit",
)

_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> None:
    global _hook
    _hook = hook


def point(name: str) -> None:
    if _hook is not None:
        _hook(name)
    spec = os.environ.get(ENV)
    if spec and name in spec.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
