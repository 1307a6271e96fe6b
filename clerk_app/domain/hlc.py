"""Hybrid logical clock stamps for synced rows.

A stamp orders events for display and audit across workstations whose wall clocks differ a
little: it never goes backwards on one device and always moves past any stamp it has seen
(Kulkarni et al., "Logical Physical Clocks", 2014). Ordering and sync cursors do NOT use it:
they use the central server's commit-ordered sequence.

Text form: ``<wall ms, 13 digits>-<counter, 4 hex>-<device>`` so that stamps sort as strings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_COUNTER_MAX = 0xFFFF


@dataclass(frozen=True, slots=True, order=True)
class Stamp:
    wall_ms: int
    counter: int
    device: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:04x}-{self.device}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        wall, counter, device = text.split("-", 2)
        return cls(int(wall), int(counter, 16), device)


class HybridClock:
    """Thread-safe HLC for one device; ``now_ms`` is injectable for tests."""

    def __init__(self, device: str, now_ms: Callable[[], int] | None = None) -> None:
        self._device = device
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._last = Stamp(0, 0, device)
        self._lock = threading.Lock()

    def now(self) -> Stamp:
        """A stamp for a local event, strictly after every stamp issued or seen before."""
        with self._lock:
            self._last = self._advance(self._last.wall_ms, self._last.counter)
            return self._last

    def observe(self, remote: Stamp) -> Stamp:
        """Merge a stamp received from elsewhere; later local stamps sort after it."""
        with self._lock:
            wall = max(self._last.wall_ms, remote.wall_ms)
            counter = max(
                self._last.counter if wall == self._last.wall_ms else -1,
                remote.counter if wall == remote.wall_ms else -1,
            )
            self._last = self._advance(wall, counter)
            return self._last

    def _advance(self, wall: int, counter: int) -> Stamp:
        physical = self._now_ms()
        if physical > wall:
            return Stamp(physical, 0, self._device)
        if counter >= _COUNTER_MAX:
            return Stamp(wall + 1, 0, self._device)
        return Stamp(wall, counter + 1, self._device)
