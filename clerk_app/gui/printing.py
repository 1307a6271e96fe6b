"""Printing generated PDFs through Qt: the printer per document type, the print dialog, and batch
printing as a background job with progress and cancel (ARCHITECTURE.md: every long job is a plain
function that reports progress and can be cancelled).

Pages are rasterised by QtPdf at up to ``MAX_DPI`` and painted on the ``QPrinter``; this works for
any system printer (an A4 laser printer through CUPS or the Windows spooler, an 80 mm receipt
printer installed as a system printer). The queue slip goes to the receipt printer, everything
else to the A4 printer; the choice is kept per machine in ``printers.json`` in the config folder.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRect, QSize, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import QProgressDialog, QWidget

from clerk_app.gui.tasks import Cancelled, TaskRunner, TaskState
from clerk_app.i18n import _

MAX_DPI = 300
RECEIPT_TYPES = frozenset({"queue_slip"})


@dataclass(frozen=True, slots=True)
class PrintJob:
    """One document to print."""

    title: str
    pdf: bytes
    doc_type: str
    document_id: uuid.UUID | None = None
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class PrintResult:
    printed: tuple[PrintJob, ...]
    printer: str
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class PrinterChoices:
    """Printer names per kind of paper; empty means the system default printer."""

    a4: str = ""
    receipt: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # per document type, overrides a4/receipt

    def for_type(self, doc_type: str) -> str:
        if doc_type in self.extra:
            return self.extra[doc_type]
        return self.receipt if doc_type in RECEIPT_TYPES else self.a4


def load_choices(config_dir: Path) -> PrinterChoices:
    path = config_dir / "printers.json"
    if not path.is_file():
        return PrinterChoices()
    data = json.loads(path.read_text(encoding="utf-8"))
    return PrinterChoices(str(data.get("a4", "")), str(data.get("receipt", "")), dict(data.get("extra", {})))


def save_choices(config_dir: Path, choices: PrinterChoices) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "printers.json").write_text(json.dumps(asdict(choices), ensure_ascii=False, indent=1))


def make_printer(doc_type: str, choices: PrinterChoices) -> QPrinter:
    """A printer set up for ``doc_type``: the chosen (or default) printer, A4 or 80 mm paper."""
    name = choices.for_type(doc_type)
    info = QPrinterInfo.printerInfo(name) if name else QPrinterInfo.defaultPrinter()
    printer = QPrinter(info, QPrinter.PrinterMode.HighResolution) if not info.isNull() else QPrinter()
    if doc_type in RECEIPT_TYPES:
        size = QPageSize(QSizeF(80, 200), QPageSize.Unit.Millimeter, "80mm")
    else:
        size = QPageSize(QPageSize.PageSizeId.A4)
    printer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    printer.setFullPage(True)
    printer.setDocName("clerk-app")
    return printer


def ask_printer(printer: QPrinter, parent: QWidget | None) -> bool:
    """Qt's print dialog (on the GUI thread: it is user interaction, not work)."""
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(_("打印"))
    return dialog.exec() == QPrintDialog.DialogCode.Accepted


def _open(pdf: bytes) -> tuple[QPdfDocument, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready:
        raise ValueError(_("无法读取要打印的 PDF"))
    return document, buffer


def paint_pdf(pdf: bytes, printer: QPrinter, painter: QPainter, first: bool, state: TaskState | None) -> int:
    """Paint every page of ``pdf`` on an active painter; returns the number of pages."""
    document, buffer = _open(pdf)
    try:
        dpi = min(MAX_DPI, printer.resolution())
        target: QRect = printer.pageLayout().fullRectPixels(printer.resolution())
        for index in range(document.pageCount()):
            if state is not None:
                state.check()
            if index > 0 or not first:
                printer.newPage()
            points = document.pagePointSize(index)
            pixels = QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
            image = document.render(index, pixels)
            scale = min(target.width() / pixels.width(), target.height() / pixels.height())
            painter.drawImage(
                QRect(target.x(), target.y(), round(pixels.width() * scale), round(pixels.height() * scale)),
                image,
            )
        return document.pageCount()
    finally:
        document.close()
        buffer.close()


def print_jobs(jobs: Sequence[PrintJob], printer: QPrinter, state: TaskState | None = None) -> PrintResult:
    """Print ``jobs`` on ``printer`` in order (a plain function: run it as a background job).

    Progress is reported per document; a cancel stops before the next page and reports what was
    already sent.
    """
    done: list[PrintJob] = []
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError(_("无法开始打印：{printer}").format(printer=printer.printerName() or _("默认打印机")))
    try:
        for index, job in enumerate(jobs):
            if state is not None:
                state.progress(index, len(jobs), job.title)
                state.check()
            paint_pdf(job.pdf, printer, painter, first=not done, state=state)
            done.append(job)
        if state is not None:
            state.progress(len(jobs), len(jobs), "")
    except Cancelled:
        printer.abort()
        return PrintResult(tuple(done), printer.printerName(), cancelled=True)
    finally:
        if painter.isActive():
            painter.end()
    return PrintResult(tuple(done), printer.printerName())


def print_in_background(
    runner: TaskRunner,
    jobs: Sequence[PrintJob],
    printer: QPrinter,
    parent: QWidget | None,
    on_done: Callable[[PrintResult], None],
    on_error: Callable[[BaseException], None],
) -> TaskState:
    """Run :func:`print_jobs` as a job with a progress dialog whose Cancel button cancels it."""
    progress = QProgressDialog(_("正在打印…"), _("取消"), 0, max(1, len(jobs)), parent)
    progress.setWindowTitle(_("打印"))
    progress.setMinimumDuration(300)
    frozen = tuple(jobs)

    def finished(result: PrintResult) -> None:
        progress.reset()
        on_done(result)

    def failed(exc: BaseException) -> None:
        progress.reset()
        on_error(exc)

    def moved(done: int, total: int, text: str) -> None:
        progress.setMaximum(max(1, total))
        progress.setValue(done)
        if text:
            progress.setLabelText(_("正在打印：{title}").format(title=text))

    state = runner.job(lambda s: print_jobs(frozen, printer, s), finished, failed, moved)
    progress.canceled.connect(state.cancel)
    return state
