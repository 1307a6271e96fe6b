"""ID-card readers behind one small interface: :class:`IdCardReader` emits ``card_read`` with a
:class:`CardData` whenever a card is read, whatever the hardware.

:class:`KeyboardWedgeReader` serves the common keyboard-wedge readers: they "type" the number into
whichever field has the focus, much faster than a person, and end with Enter. An event filter on
the watched widgets times each key: a burst of at least 15 ID characters (digits and X) with every
gap under ``max_gap_ms``, ended by Enter, is a card. The Enter is swallowed, the burst is taken
back out of the field it landed in, and ``card_read`` carries the number. Slow typing, or a burst
that is not an ID number, passes through untouched. Readers with a vendor SDK or a local service
(name, sex, address, photo…) implement the same signal and fill the other fields of ``CardData``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

MIN_LENGTH = 15  # the legacy 15-digit resident ID; 18 for the current one
MAX_LENGTH = 18
DEFAULT_MAX_GAP_MS = 35.0  # wedge readers type a key every few ms; people need 80 ms and more


@dataclass(frozen=True, slots=True)
class CardData:
    """What a reader returns; a keyboard wedge only knows the number."""

    number: str
    name: str = ""
    sex: str = ""
    ethnicity: str = ""
    birth_date: str = ""
    address: str = ""
    issuer: str = ""
    valid_until: str = ""


class BurstDetector:
    """Pure timing logic (no Qt): feed keys with their time, ask at Enter whether it was a card."""

    def __init__(self, max_gap_ms: float = DEFAULT_MAX_GAP_MS) -> None:
        self.max_gap = max_gap_ms / 1000.0
        self.burst = ""
        self._last = 0.0

    def key(self, char: str, at: float) -> None:
        if self.burst and at - self._last > self.max_gap:
            self.burst = ""
        if len(char) == 1 and (char.isdigit() or char in "xX"):
            self.burst += char.upper()
        else:
            self.burst = ""
        self._last = at

    def enter(self, at: float) -> str | None:
        """The number if the keys before this Enter were a reader's burst; resets either way."""
        burst, self.burst = self.burst, ""
        fast = at - self._last <= self.max_gap
        if fast and MIN_LENGTH <= len(burst) <= MAX_LENGTH and burst[:-1].isdigit():
            return burst
        return None


class IdCardReader(QObject):
    """The interface: ``card_read`` is emitted with every card read."""

    card_read = Signal(object)  # CardData


class KeyboardWedgeReader(IdCardReader):
    def __init__(
        self,
        widgets: Iterable[QWidget] = (),
        parent: QObject | None = None,
        *,
        max_gap_ms: float = DEFAULT_MAX_GAP_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.detector = BurstDetector(max_gap_ms)
        self._clock = clock
        for widget in widgets:
            self.watch(widget)

    def watch(self, widget: QWidget) -> None:
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        now = self._clock()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            number = self.detector.enter(now)
            if number is None:
                return False
            if isinstance(watched, QLineEdit):
                text = watched.text()
                if text.upper().endswith(number):
                    watched.setText(text[: len(text) - len(number)])
            self.card_read.emit(CardData(number))
            return True
        self.detector.key(event.text(), now)
        return False
