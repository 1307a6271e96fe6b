"""The hall display's espeak-ng voice for real: each call is rendered to a Mandarin WAV that is a
valid, non-silent clip of a plausible length, and two calls are spoken in turn, never over each
other (the second is neither rendered nor started before the first has had its whole length)."""

from __future__ import annotations

import shutil
import subprocess
import time
import wave
from array import array
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from clerk_app.gui.queue.display import call_text
from clerk_app.gui.queue.speech import Announcer, EspeakEngine, mandarin_voice, pick_engine, wav_seconds

ESPEAK = shutil.which("espeak-ng")
pytestmark = [
    pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed"),
    pytest.mark.qt_log_ignore("Couldn.t (load|resolve)", "PulseAudio", "QSoundEffect", "ALSA", "audio"),
]


def _checked_wav(path: Path) -> float:
    """A RIFF/WAVE PCM clip, mono 16-bit, of a spoken length, with sound in it: its seconds."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a WAV file"
    with wave.open(str(path), "rb") as clip:
        assert clip.getcomptype() == "NONE" and clip.getnchannels() == 1 and clip.getsampwidth() == 2
        rate = clip.getframerate()
        samples = array("h", clip.readframes(clip.getnframes()))
    assert rate >= 16_000 and len(samples) > 0
    seconds = len(samples) / rate
    # eleven syllables and a number read at 150 words a minute: a few seconds, not a blip or a hang
    assert 2.0 < seconds < 12.0, seconds
    window = rate // 50  # 20 ms
    loud = [
        max(abs(s) for s in samples[i : i + window]) > 1_000 for i in range(0, len(samples) - window, window)
    ]
    assert sum(loud) / len(loud) > 0.3, "mostly silence"
    return seconds


def test_espeak_voice_is_mandarin() -> None:
    listed = subprocess.run([ESPEAK or "espeak-ng", f"--voices={EspeakEngine.VOICE}"], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert f" {EspeakEngine.VOICE} " in listed and "Mandarin" in listed


def test_a_call_is_rendered_to_a_real_wav_and_two_calls_take_turns(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    first, second = call_text("A001", 3), call_text("A002", 5)
    assert first == "请 A001 号到 3 号窗口办理"
    engine = EspeakEngine(ESPEAK or "espeak-ng")
    announcer = Announcer(engine)
    events: list[tuple[str, str, float]] = []
    announcer.started.connect(lambda text: events.append(("started", text, time.monotonic())))
    engine.rendered.connect(lambda path: events.append(("rendered", path, time.monotonic())))
    engine.finished.connect(lambda: events.append(("finished", "", time.monotonic())))
    clips: dict[str, bytes] = {}
    engine.rendered.connect(lambda path: clips.setdefault(path, Path(path).read_bytes()))

    announcer.announce(first)
    announcer.announce(second)
    assert announcer.speaking == first and announcer.pending == [second]
    with qtbot.waitSignals([announcer.spoken, announcer.spoken], timeout=40_000):
        pass

    kinds = [e[0] for e in events]
    assert kinds == ["started", "rendered", "finished", "started", "rendered", "finished"], kinds
    assert [e[1] for e in events if e[0] == "started"] == [first, second]
    paths = [Path(e[1]) for e in events if e[0] == "rendered"]
    assert paths[0] != paths[1]
    lengths = []
    for path, text in zip(paths, (first, second), strict=True):
        # the clip played is exactly what espeak-ng makes of that call with the Mandarin voice
        reference = tmp_path / f"{text[2:6]}.wav"
        subprocess.run(
            [ESPEAK or "espeak-ng", "-v", "cmn", "-s", "150", "-w", str(reference), text], check=True
        )
        assert clips[str(path)] == reference.read_bytes()
        lengths.append(_checked_wav(reference))
        assert wav_seconds(reference) == pytest.approx(lengths[-1])
    at = {(kind, n): t for n, kind, t in _numbered(events)}
    # the first call had its whole length before the second was even rendered
    assert at["finished", 0] - at["rendered", 0] >= lengths[0] * 0.95
    assert at["started", 1] >= at["finished", 0] and at["rendered", 1] > at["finished", 0]
    assert at["finished", 1] - at["rendered", 1] >= lengths[1] * 0.95
    assert wav_seconds(tmp_path / "missing.wav") == 0.0


def _numbered(events: list[tuple[str, str, float]]) -> list[tuple[int, str, float]]:
    seen: dict[str, int] = {}
    out = []
    for kind, _what, t in events:
        out.append((seen.get(kind, 0), kind, t))
        seen[kind] = seen.get(kind, 0) + 1
    return out


def test_a_missing_program_ends_the_call_at_once(qapp: QApplication, qtbot: QtBot, tmp_path: Path) -> None:
    """espeak-ng gone (uninstalled since start): the queue moves on without waiting for its watchdog."""
    announcer = Announcer(EspeakEngine(str(tmp_path / "no-espeak-ng")))
    with qtbot.waitSignal(announcer.spoken, timeout=3_000):
        announcer.announce(call_text("A001", 3))


def test_without_a_mandarin_voice_the_display_stays_visual(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An espeak-ng without Mandarin data would fail (or read letters) at every call: it is not
    picked, so the display shows its visual-only notice instead."""
    assert mandarin_voice(ESPEAK or "espeak-ng") == "cmn"
    fake = tmp_path / "bin" / "espeak-ng"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'Pty Language       Age/Gender VoiceName          File                 Other Languages'\n"
        "echo ' 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)'\n"
    )
    fake.chmod(0o755)
    assert mandarin_voice(str(fake)) is None
    assert mandarin_voice(str(tmp_path / "missing")) is None
    from PySide6.QtTextToSpeech import QTextToSpeech

    monkeypatch.setattr(QTextToSpeech, "availableEngines", staticmethod(lambda: []))
    monkeypatch.setenv("PATH", str(fake.parent))
    assert pick_engine() is None
    monkeypatch.setenv("PATH", str(Path(ESPEAK or "/usr/bin/espeak-ng").parent))
    engine = pick_engine()
    assert isinstance(engine, EspeakEngine) and engine.voice == "cmn"
