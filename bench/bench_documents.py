"""Benchmarks of the document pipeline.

- ``font_registration``: registering the three bundled TrueType fonts, in a fresh Python process
  (what the first document of a session pays once); reported apart from the per-notice figures.
- ``first_notice_cold``: the first notice of a fresh process, registration included.
- ``notices_per_second``: a one-page 补正材料通知书 with its signed verification QR code, warm;
  goal ≥ 50/s. Side by side, the same notice without QR code is the baseline (ratio = time with
  QR / time without).
- ``accept_to_preview``: from "accept" (take a number from the block, render, archive the PDF with
  its SHA-256 and audit entry, commit) to the first page rendered by QtPdf (offscreen), i.e. what
  a clerk waits for between the button and the preview; goal ≤ 0.5 s.

``run(quick)`` returns dicts with ``name``, ``value``, ``unit``, ``goal`` (and ``baseline``/``ratio``).
Run alone: ``python bench/bench_documents.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from clerk_app.documents import samples
from clerk_app.documents.dto import CorrectionNotice
from clerk_app.documents.render import render
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import Signer

COLD = (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "from clerk_app.documents.fonts import register_fonts\n"
    "fonts = register_fonts()\n"
    "from clerk_app.documents import samples\n"
    "from clerk_app.documents.render import render\n"
    "from clerk_app.documents.templates import load_templates\n"
    "t1 = time.perf_counter()\n"
    "render(samples.realistic()[2], load_templates())\n"
    "print(fonts.registration_seconds, time.perf_counter() - t1)\n"
)


def bench_cold(quick: bool) -> list[dict[str, Any]]:
    runs = 2 if quick else 5
    registration, first = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD], check=True, capture_output=True, text=True)
        reg, doc = (float(v) for v in out.stdout.split())
        registration.append(reg)
        first.append(reg + doc)
    return [
        {"name": "font_registration", "value": statistics.median(registration), "unit": "s", "goal": "≤ 0.5"},
        {"name": "first_notice_cold", "value": statistics.median(first), "unit": "s", "goal": "≤ 1.0"},
    ]


def _notice() -> CorrectionNotice:
    notice = samples.realistic()[2]
    assert isinstance(notice, CorrectionNotice)
    return notice


def bench_throughput(quick: bool) -> list[dict[str, Any]]:
    templates = load_templates()
    signer = Signer.from_private_bytes(bytes(32))
    notice = _notice()
    render(notice, templates, signer=signer)  # warm: fonts registered, seal decoded
    count = 15 if quick else 100

    def timed(with_qr: bool) -> float:
        started = time.perf_counter()
        for _ in range(count):
            render(notice, templates, signer=signer if with_qr else None)
        return (time.perf_counter() - started) / count

    with_qr, without = timed(True), timed(False)
    return [
        {
            "name": "notices_per_second",
            "value": 1 / with_qr,
            "unit": "notices/s",
            "goal": "≥ 50",
            "baseline": 1 / without,
            "ratio": with_qr / without,
        }
    ]


def bench_accept_to_preview(quick: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
        from PySide6.QtGui import QGuiApplication
        from PySide6.QtPdf import QPdfDocument
    except ImportError:  # pragma: no cover - PySide6 is a dependency
        return []
    from dataclasses import replace

    from clerk_app.documents.archive import Archive, issue
    from clerk_app.documents.dto import DocType
    from clerk_app.documents.numbers import NumberingSettings, refill
    from clerk_app.services.runtime import open_store

    app = QGuiApplication.instance() or QGuiApplication([])
    templates = load_templates()
    signer = Signer.from_private_bytes(bytes(32))
    notice = _notice()
    times = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        central = open_store(f"sqlite+pysqlite:///{root / 'central.sqlite'}", kind="central")
        local = open_store(f"sqlite+pysqlite:///{root / 'local.sqlite'}")
        archive = Archive(root / "documents")
        rounds = 5 if quick else 30
        refill(local, central, DocType.CORRECTION.value, 2026, NumberingSettings(block_size=rounds + 5))
        for _ in range(rounds):
            started = time.perf_counter()
            with local.unit_of_work() as uow:
                issued = issue(
                    uow,
                    archive,
                    templates,
                    DocType.CORRECTION,
                    lambda number: replace(notice, number=number),
                    device_id=local.device_id,
                    actor_name="bench",
                    year=2026,
                    signer=signer,
                )
                uow.commit()
            data = QByteArray(issued.pdf)
            buffer = QBuffer(data)
            buffer.open(QIODevice.OpenModeFlag.ReadOnly)
            document = QPdfDocument()
            document.load(buffer)
            image = document.render(0, QSize(827, 1170))
            assert not image.isNull()
            times.append(time.perf_counter() - started)
            document.close()
        local.dispose()
        central.dispose()
    del app
    return [
        {"name": "accept_to_preview", "value": statistics.median(times), "unit": "s", "goal": "≤ 0.5"},
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    """All document benchmarks."""
    return bench_cold(quick) + bench_throughput(quick) + bench_accept_to_preview(quick)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), ensure_ascii=False, indent=1))
