"""Announcing calls aloud, one at a time.

Engines, best first: QtTextToSpeech when a speech engine is installed; else espeak-ng writing a
WAV file that QtMultimedia plays; else none (the display shows a notice and stays visual).
:class:`Announcer` queues the texts and starts the next one only when the engine reports the
previous one finished, so two calls are never spoken over each other.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import wave
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, QUrl, Signal

log = logging.getLogger("clerk.queue")

#: an engine that never reports back is given up after this long, so the queue keeps moving
GIVE_UP_MS = 15_000


class SpeechEngine(QObject):
    """Speaks one text at a time and emits ``finished`` when done (or failed)."""

    finished = Signal()
    name = "none"

    def say(self, text: str) -> None:
        raise NotImplementedError


class QtSpeechEngine(SpeechEngine):
    name = "qt"

    def __init__(self, engine: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtTextToSpeech import QTextToSpeech

        self._tts = QTextToSpeech(engine, self) if engine else QTextToSpeech(self)
        self._speaking = False
        self._tts.stateChanged.connect(self._state)
        for locale in self._tts.availableLocales():
            if locale.name().startswith("zh"):
                self._tts.setLocale(locale)
                break

    @property
    def usable(self) -> bool:
        """A listed plug-in may fail to load (speech-dispatcher not running): state Error."""
        from PySide6.QtTextToSpeech import QTextToSpeech

        return bool(self._tts.state() != QTextToSpeech.State.Error)

    def say(self, text: str) -> None:
        self._speaking = True
        self._tts.say(text)

    def _state(self, state: object) -> None:
        from PySide6.QtTextToSpeech import QTextToSpeech

        if self._speaking and state in (QTextToSpeech.State.Ready, QTextToSpeech.State.Error):
            self._speaking = False
            self.finished.emit()


class EspeakEngine(SpeechEngine):
    """espeak-ng renders a WAV (Mandarin voice), QtMultimedia plays it."""

    name = "espeak-ng"
    #: the WAV written for a text, before it is played (its path)
    rendered = Signal(str)
    VOICE = "cmn"

    def __init__(self, program: str, parent: QObject | None = None, voice: str = VOICE) -> None:
        super().__init__(parent)
        from PySide6.QtMultimedia import QSoundEffect

        self._program = program
        self.voice = voice
        self._dir = Path(tempfile.mkdtemp(prefix="clerk-voice-"))
        self._process = QProcess(self)
        self._process.finished.connect(self._rendered)
        self._process.errorOccurred.connect(self._not_started)
        self._effect = QSoundEffect(self)
        self._effect.playingChanged.connect(self._playing)
        self._waiting = False
        self._n = 0

    def say(self, text: str) -> None:
        self._n += 1
        self._wav = self._dir / f"call{self._n % 4}.wav"
        self._wav.unlink(missing_ok=True)  # an old clip of the same name is never played instead
        self._process.start(self._program, ["-v", self.voice, "-s", "150", "-w", str(self._wav), text])

    def _not_started(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no finished() follows
            log.warning("espeak-ng could not be started: %s", self._process.errorString())
            self.finished.emit()

    def _rendered(self, code: int, _status: object) -> None:
        if code != 0 or wav_seconds(self._wav) <= 0:
            log.warning("espeak-ng failed (%s)", code)
            self.finished.emit()
            return
        self.rendered.emit(str(self._wav))
        self._waiting = True
        self._effect.setSource(QUrl.fromLocalFile(str(self._wav)))
        self._effect.play()
        # without a working audio output the effect never plays: move on after the clip's length
        QTimer.singleShot(int(wav_seconds(self._wav) * 1000) + 1500, self._end)

    def _playing(self) -> None:
        if not self._effect.isPlaying():
            self._end()

    def _end(self) -> None:
        if self._waiting:
            self._waiting = False
            self.finished.emit()


#: espeak-ng's Mandarin voices, best first (``zh`` is an MBROLA voice that needs MBROLA)
MANDARIN_VOICES = ("cmn", "cmn-latn-pinyin")


def mandarin_voice(program: str) -> str | None:
    """The Mandarin voice this espeak-ng has, or None: without one it would read a call as
    letters, or fail, at every call."""
    try:
        listed = subprocess.run(
            [program, "--voices=zh"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    have = {line.split()[1] for line in listed.stdout.splitlines()[1:] if len(line.split()) > 1}
    return next((v for v in MANDARIN_VOICES if v in have), None)


def wav_seconds(path: Path) -> float:
    """The clip's length; 0 for a file that is missing or not a WAV (nothing to play)."""
    try:
        with wave.open(str(path), "rb") as clip:
            return clip.getnframes() / float(clip.getframerate() or 1)
    except (OSError, EOFError, wave.Error):
        return 0.0


def pick_engine(parent: QObject | None = None) -> SpeechEngine | None:
    """The best engine available on this machine, or None (visual only)."""
    try:
        from PySide6.QtTextToSpeech import QTextToSpeech

        for name in (e for e in QTextToSpeech.availableEngines() if e != "mock"):
            engine = QtSpeechEngine(name, parent)
            if engine.usable:
                return engine
            log.warning("text-to-speech engine %s is listed but does not work", name)
            engine.deleteLater()
    except ImportError:
        pass
    program = shutil.which("espeak-ng")
    if program:
        voice = mandarin_voice(program)
        if voice is None:
            log.warning("espeak-ng has no Mandarin voice: calls are shown, not spoken")
            return None
        try:
            return EspeakEngine(program, parent, voice)
        except ImportError:
            return None
    return None


class Announcer(QObject):
    """A queue of announcements in front of one engine."""

    started = Signal(str)
    spoken = Signal(str)

    def __init__(self, engine: SpeechEngine | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._queue: deque[str] = deque()
        self._current: str | None = None
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(self._done)
        if engine is not None:
            engine.finished.connect(self._done)

    @property
    def available(self) -> bool:
        return self.engine is not None

    @property
    def speaking(self) -> str | None:
        return self._current

    @property
    def pending(self) -> list[str]:
        return list(self._queue)

    def announce(self, text: str) -> None:
        if self.engine is None:
            return
        self._queue.append(text)
        if self._current is None:
            self._next()

    def _next(self) -> None:
        if not self._queue or self.engine is None:
            return
        self._current = self._queue.popleft()
        self.started.emit(self._current)
        self._watchdog.start(GIVE_UP_MS * 2)
        self.engine.say(self._current)

    def _done(self) -> None:
        if self._current is None:
            return
        self._watchdog.stop()
        text, self._current = self._current, None
        self.spoken.emit(text)
        QTimer.singleShot(400, self._next)  # a short pause between two calls
