"""Benchmarks of the document pipeline.

- ``font_registration``: registering the three bundled TrueType fonts, in a fresh Python process
  (what the first document of a session pays once); reported apart from the per-notice figures.
- ``first_notice_cold``: the first notice of a fresh process, registration included.
- ``notices_per_second``: a one-page 补正材料通知书 with its signed verification QR code, warm;
  goal ≥ 50/s. Side by side, in alternating rounds of the same run, the baseline is the pipeline as
  it was before the seal and QR work was cached (reportlab's ``drawImage`` compressing the seal's
  pixels for every PDF, the QR code's mask chosen by trying all eight); ratio = new rate / old rate.
  Wall-clock rates on a shared machine are noisy, so each rate is the best of several rounds.
- ``notices_per_cpu_second``: the same two pipelines timed by the process's CPU time (what one free
  core would do, whatever else the machine runs).
- ``notices_per_second_no_qr``: the same notice without QR code (what the QR code costs).
- ``accept_to_preview``: from "accept" (take a number from the block, render, archive the PDF with
  its SHA-256 and audit entry, commit) to the first page rendered by QtPdf (offscreen), i.e. what
  a clerk waits for between the button and the preview; goal ≤ 0.5 s.

``run(quick)`` returns dicts with ``name``, ``value``, ``unit``, ``goal`` (and ``baseline``/``ratio``).
Run alone: ``python bench/bench_documents.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from clerk_app.documents import fonts, layout, licence, samples
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


@contextlib.contextmanager
def previous_pipeline() -> Iterator[None]:
    """The seal and QR code drawn as before: ``canvas.drawImage`` (pixels compressed again for
    every PDF), segno choosing the QR mask by evaluating all eight patterns, and
    zlib's default level for the Flate streams."""
    import segno

    def draw_seal(canvas: Any, prepared: Any, x: float, y: float, w: float, h: float) -> None:
        path = templates_seal
        canvas.drawImage(layout.seal_image(path), x, y, width=w, height=h, mask="auto")

    def qr_matrix(payload: bytes, border: int = 4) -> list[list[bool]]:
        code = segno.make_qr(payload, error="m", boost_error=False, mode="byte")
        return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=border)]

    templates_seal = load_templates().hall.seal_image
    saved = layout.draw_prepared, licence.qr_matrix, fonts.FLATE_LEVEL
    layout.draw_prepared, licence.qr_matrix, fonts.FLATE_LEVEL = draw_seal, qr_matrix, 6
    try:
        yield
    finally:
        layout.draw_prepared, licence.qr_matrix, fonts.FLATE_LEVEL = saved


def bench_throughput(quick: bool) -> list[dict[str, Any]]:
    templates = load_templates()
    signer = Signer.from_private_bytes(bytes(32))
    notice = _notice()
    count = 10 if quick else 40
    rounds = 2 if quick else 5

    def timed(clock: Callable[[], float], with_qr: bool = True) -> float:
        render(notice, templates, signer=signer if with_qr else None)  # warm
        started = clock()
        for _ in range(count):
            render(notice, templates, signer=signer if with_qr else None)
        return (clock() - started) / count

    wall: dict[str, list[float]] = {"new": [], "old": [], "no_qr": []}
    cpu: dict[str, list[float]] = {"new": [], "old": []}
    for _ in range(rounds):  # alternate, so that load from elsewhere hits both alike
        wall["new"].append(timed(time.perf_counter))
        cpu["new"].append(timed(time.process_time))
        wall["no_qr"].append(timed(time.perf_counter, with_qr=False))
        with previous_pipeline():
            wall["old"].append(timed(time.perf_counter))
            cpu["old"].append(timed(time.process_time))
    new, old = min(wall["new"]), min(wall["old"])
    new_cpu, old_cpu = min(cpu["new"]), min(cpu["old"])
    return [
        {
            "name": "notices_per_second",
            "value": 1 / new,
            "unit": "notices/s",
            "goal": "≥ 50",
            "baseline": 1 / old,
            "ratio": old / new,
        },
        {
            "name": "notices_per_cpu_second",
            "value": 1 / new_cpu,
            "unit": "notices/s",
            "goal": "≥ 50",
            "baseline": 1 / old_cpu,
            "ratio": old_cpu / new_cpu,
        },
        {
            "name": "notices_per_second_no_qr",
            "value": 1 / min(wall["no_qr"]),
            "unit": "notices/s",
            "goal": "",
        },
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
