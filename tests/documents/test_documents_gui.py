"""Preview (QtPdf), printing through QPrinter, batch print with cancel, and the 文书 page."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from clerk_app.documents import samples
from clerk_app.documents.archive import Archive, issue
from clerk_app.documents.dto import DeliveryReceipt, DocType
from clerk_app.documents.numbers import refill
from clerk_app.documents.render import render
from clerk_app.documents.signing import create_signer, publish_key
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import licence_fields
from clerk_app.gui import app as gui_app
from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.pages.documents import DocumentsPage
from clerk_app.gui.pdf_preview import PdfPreview
from clerk_app.gui.printing import (
    PrinterChoices,
    PrintJob,
    PrintResult,
    make_printer,
    print_in_background,
    print_jobs,
)
from clerk_app.gui.tasks import TaskState
from clerk_app.gui.workstation import Workstation
from clerk_app.services.demo import DEMO_USERS, ensure_demo
from clerk_app.services.runtime import open_runtime
from clerk_app.settings import resolve_paths

HOSTILE_CORRECTION = render(samples.hostile()[2], load_templates())
ONE_PAGE = render(samples.realistic()[2], load_templates())


def _pdf_printer(path: Path) -> QPrinter:
    printer = make_printer("correction", PrinterChoices())
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer


def test_preview_navigates_and_zooms(qtbot: QtBot) -> None:
    preview = PdfPreview()
    qtbot.addWidget(preview)
    preview.load(HOSTILE_CORRECTION)
    pages = len(pypdf.PdfReader(io.BytesIO(HOSTILE_CORRECTION)).pages)
    assert preview.page_count() == pages > 2
    assert preview.pages_label.text() == f"共 {pages} 页"
    assert not preview.previous.isEnabled()
    preview.next.click()
    assert preview.current_page() == 1 and preview.page.value() == 2
    preview.page.setValue(pages)
    assert preview.current_page() == pages - 1
    assert not preview.next.isEnabled()
    before = preview.view.zoomFactor()
    preview.zoom_in.click()
    assert preview.view.zoomFactor() == pytest.approx(before * 1.25)
    with pytest.raises(ValueError):
        preview.load(b"not a pdf")


def test_print_jobs_reach_the_printer(tmp_path: Path, qapp: QApplication) -> None:
    out = tmp_path / "printed.pdf"
    jobs = [PrintJob("a", ONE_PAGE, "correction"), PrintJob("b", HOSTILE_CORRECTION, "correction")]
    result = print_jobs(jobs, _pdf_printer(out))
    assert not result.cancelled and len(result.printed) == 2
    expected = 1 + len(pypdf.PdfReader(io.BytesIO(HOSTILE_CORRECTION)).pages)
    assert len(pypdf.PdfReader(out).pages) == expected


def test_cancelled_batch_stops_and_says_so(tmp_path: Path, qapp: QApplication) -> None:
    state = TaskState(lambda *_args: None)
    state.cancel()
    result = print_jobs([PrintJob("a", ONE_PAGE, "correction")], _pdf_printer(tmp_path / "x.pdf"), state)
    assert result.cancelled and result.printed == ()


def test_receipt_printer_gets_80mm_paper() -> None:
    printer = make_printer("queue_slip", PrinterChoices(receipt="", a4=""))
    size = printer.pageLayout().pageSize().size(printer.pageLayout().pageSize().Unit.Millimeter)
    assert round(size.width()) == 80


@pytest.fixture
def station(qapp: QApplication, data_dir: Path) -> Iterator[Workstation]:
    gui_app.configure(qapp, "zh_CN")
    runtime = open_runtime(resolve_paths(data_dir))
    ensure_demo(runtime.central, runtime.local)
    ws = Workstation(runtime, qapp)
    ws.errors.interactive = False
    yield ws
    ws.shutdown()
    runtime.close()


def _page(station: Workstation, qtbot: QtBot) -> DocumentsPage:
    user = next(u for u in DEMO_USERS if u.username == "wangxy")
    session = station.auth.login(3, user.username, user.password)
    ctx = PageContext(station.runtime, session, station.tasks, station.errors, station.auth)
    page = DocumentsPage(ctx)
    qtbot.addWidget(page)
    return page


def _issue_two(station: Workstation) -> None:
    runtime = station.runtime
    refill(runtime.local, runtime.central, "delivery", 2026)
    archive = Archive(runtime.paths.data / "documents")
    base = next(d for d in samples.realistic() if isinstance(d, DeliveryReceipt))
    with runtime.local.unit_of_work() as uow:
        for _ in range(2):
            issue(
                uow,
                archive,
                load_templates(),
                DocType.DELIVERY,
                lambda n: dataclasses.replace(base, number=n),
                device_id=runtime.device_id,
                actor_name="wangxy",
                year=2026,
            )
        uow.commit()


def test_documents_page_lists_previews_and_batch_prints(
    qtbot: QtBot, station: Workstation, tmp_path: Path
) -> None:
    _issue_two(station)
    page = _page(station, qtbot)
    page.activated()
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    assert page.table.item(0, 0).text().startswith("呼政送〔2026〕")
    page.table.selectAll()
    page.preview_selected()
    qtbot.waitUntil(lambda: len(page._dialogs) == 1, timeout=5000)
    assert page._dialogs[0].preview.page_count() == 1
    done: list[PrintResult] = []
    loaded: list[list[object]] = []
    page._load([r.id for r in page.selected()], loaded.append)
    qtbot.waitUntil(lambda: bool(loaded), timeout=5000)
    jobs = [PrintJob(d.title, d.pdf, d.doc_type, d.id, d.sha256) for d in loaded[0]]  # type: ignore[attr-defined]
    print_in_background(
        station.tasks,
        jobs,
        _pdf_printer(tmp_path / "batch.pdf"),
        page,
        lambda r: (done.append(r), page._printed(r)),
        station.errors,
    )
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert len(done[0].printed) == 2 and not done[0].cancelled
    qtbot.waitUntil(
        lambda: page.table.item(0, 5) is not None and page.table.item(0, 5).text() == "1", timeout=5000
    )


def test_documents_page_verifies_a_scanned_payload(qtbot: QtBot, station: Workstation) -> None:
    signer = create_signer("11150100MB0000000X")
    with station.runtime.local.unit_of_work() as uow:
        publish_key(uow, signer, "11150100MB0000000X", "示例市行政审批和政务服务局")
        uow.commit()
    page = _page(station, qtbot)
    licence = next(d for d in samples.realistic() if d.__class__.__name__ == "Licence")
    page.verify_input.setText(signer.sign(licence_fields(licence)))  # type: ignore[arg-type]
    page.verify()
    qtbot.waitUntil(lambda: page.verify_result.text() != "", timeout=5000)
    assert page.verify_result.text().startswith("真实")
    page.verify_input.setText("CLK1.garbage")
    page.verify()
    qtbot.waitUntil(lambda: not page.verify_result.text().startswith("真实"), timeout=5000)


def _cups_pdf_queue() -> str:
    """A running CUPS with a cups-pdf queue: started and created here when this machine can."""
    lpstat = shutil.which("lpstat")
    if lpstat is None:
        pytest.skip("CUPS is not installed here (no lpstat); apt-get install cups printer-driver-cups-pdf")
    running = subprocess.run([lpstat, "-r"], capture_output=True, text=True, check=False).stdout
    if "is running" not in running:
        cupsd = shutil.which("cupsd") or "/usr/sbin/cupsd"
        if os.geteuid() != 0 or not Path(cupsd).exists():
            pytest.skip("cupsd is not running and cannot be started by this user")
        subprocess.run([cupsd], check=False, timeout=30)
        for _ in range(50):
            if "is running" in subprocess.run([lpstat, "-r"], capture_output=True, text=True).stdout:
                break
            time.sleep(0.2)
        else:
            pytest.skip("cupsd did not start")
    lpadmin = shutil.which("lpadmin") or "/usr/sbin/lpadmin"
    if not Path("/usr/lib/cups/backend/cups-pdf").exists() or not Path(lpadmin).exists():
        pytest.skip("the cups-pdf backend is not installed (apt-get install printer-driver-cups-pdf)")
    # the queue gets the cups-pdf driver (a raw queue would hand cups-pdf a job it cannot convert:
    # an empty PDF under another name); lpadmin on an existing queue sets it again
    lpinfo = shutil.which("lpinfo") or "/usr/sbin/lpinfo"
    models = subprocess.run([lpinfo, "-m"], capture_output=True, text=True, check=False).stdout
    model = next((line.split()[0] for line in models.splitlines() if "cups-pdf/CUPS-PDF" in line), None)
    if model is None:
        pytest.skip("no cups-pdf driver (PPD) known to CUPS here")
    subprocess.run([lpadmin, "-p", "ClerkPDF", "-v", "cups-pdf:/", "-E", "-m", model], check=True)
    return "ClerkPDF"


def test_print_to_a_real_cups_queue(qapp: QApplication) -> None:
    queue = _cups_pdf_queue()
    printer = make_printer("correction", PrinterChoices(a4=queue))
    assert printer.printerName() == queue
    name = f"clerk-test-{uuid.uuid4().hex[:8]}"
    printer.setDocName(name)
    result = print_jobs([PrintJob("a", HOSTILE_CORRECTION, "correction")], printer)
    assert result.printed and not result.cancelled
    out_dir = Path.home() / "PDF"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(out_dir.glob(f"{name}*.pdf")) if out_dir.is_dir() else []
        if found:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"cups-pdf wrote nothing for {name} into {out_dir}")
    lpstat = shutil.which("lpstat") or "lpstat"
    while time.monotonic() < deadline:  # the backend writes the file while the job is still listed
        pending = subprocess.run([lpstat, "-o", queue], capture_output=True, text=True, check=False).stdout
        if not pending.strip():
            break
        time.sleep(0.3)
    pages = len(pypdf.PdfReader(found[0]).pages)
    assert pages == len(pypdf.PdfReader(io.BytesIO(HOSTILE_CORRECTION)).pages)
    found[0].unlink()


def test_documents_page_is_in_the_navigation() -> None:
    from clerk_app.gui.pages import PAGES

    assert DocumentsPage in PAGES


def test_screenshots_of_the_document_screens(
    station: Workstation, tmp_path: Path, qapp: QApplication
) -> None:
    from clerk_app.gui.documents_shots import DOCUMENTS_SHOTS
    from clerk_app.gui.screenshots import SHOTS, ShotContext

    assert all(shot in SHOTS for shot in DOCUMENTS_SHOTS)
    ctx = ShotContext(qapp, station, tmp_path)
    written = [path for shot in DOCUMENTS_SHOTS for path in shot(ctx)]
    station.tasks.wait_idle(10_000)
    assert [p.name for p in written] == [
        "documents-page.png",
        "documents-preview.png",
        "documents-verify.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)
    assert station.errors.last is None


def _supervisor_page(station: Workstation, qtbot: QtBot) -> DocumentsPage:
    user = next(u for u in DEMO_USERS if u.username == "chenjing")
    session = station.auth.login(None, user.username, user.password)
    ctx = PageContext(station.runtime, session, station.tasks, station.errors, station.auth)
    page = DocumentsPage(ctx)
    qtbot.addWidget(page)
    return page


def test_opening_the_page_tops_up_number_blocks(qtbot: QtBot, station: Workstation) -> None:
    from clerk_app.documents.numbers import remaining

    page = _page(station, qtbot)
    assert page.printers_button.isHidden()  # a clerk does not choose printers
    page.activated()
    qtbot.waitUntil(lambda: page.last_refill is not None, timeout=10_000)
    assert page.last_refill is not None and not page.last_refill.offline
    assert remaining(station.runtime.local, "acceptance", page.last_refill.year) == 50
    assert "编号充足" in page.numbers_label.text()


def test_sync_rounds_trigger_the_refill(qtbot: QtBot, station: Workstation) -> None:
    from PySide6.QtCore import QObject, Signal

    class FakeSync(QObject):
        status_changed = Signal(object)

    class Status:
        state = "online"

    page = _page(station, qtbot)
    sync = FakeSync()
    page.attach_sync(sync)
    sync.status_changed.emit(Status())
    qtbot.waitUntil(lambda: page.last_refill is not None, timeout=10_000)


def test_supervisor_sets_a_printer_per_document_type(qtbot: QtBot, station: Workstation) -> None:
    from clerk_app.gui.printing import load_choices, save_choices

    config = station.runtime.paths.config
    save_choices(config, PrinterChoices(a4="Gone-Printer"))
    page = _supervisor_page(station, qtbot)
    assert not page.printers_button.isHidden()
    dialog = page.printer_dialog()
    qtbot.addWidget(dialog)
    assert dialog.a4.currentData() == "Gone-Printer"  # kept although not installed here
    assert set(dialog.per_type) >= {"acceptance", "licence", "queue_slip"}
    combo = dialog.per_type["licence"]
    combo.addItem("Licence-Printer", "Licence-Printer")
    combo.setCurrentIndex(combo.findData("Licence-Printer"))
    save_choices(config, dialog.choices())
    choices = load_choices(config)
    assert choices.for_type("licence") == "Licence-Printer"
    assert choices.for_type("acceptance") == "Gone-Printer"
    assert choices.for_type("queue_slip") == ""


def test_supervisor_sets_the_numbering_block_size(qtbot: QtBot, station: Workstation) -> None:
    from clerk_app.documents.numbers import NumberingSettings
    from clerk_app.services.documents import load_numbering

    page = _supervisor_page(station, qtbot)
    page.edit_numbering()
    qtbot.waitUntil(lambda: getattr(page, "_numbering_dialog", None) is not None, timeout=10_000)
    dialog = page._numbering_dialog
    assert dialog.block_size.value() == 50 and dialog.threshold.value() == 10
    dialog.block_size.setValue(120)
    dialog.threshold.setValue(30)
    dialog.accept()

    def saved() -> bool:
        with station.runtime.local.unit_of_work() as uow:
            return load_numbering(uow.session).default == NumberingSettings(120, 30)

    qtbot.waitUntil(saved, timeout=10_000)
    qtbot.waitUntil(lambda: page.last_refill is not None, timeout=10_000)
