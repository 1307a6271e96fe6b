"""Preview of a generated PDF with QtPdf: page navigation, zoom, fit to width, print.

The PDF bytes are loaded from memory (``QBuffer``); nothing is written to disk for a preview.
Printing is handed back to the caller through ``print_requested`` so that it runs as a
background job (see :mod:`clerk_app.gui.printing`) and never blocks the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, Signal
from PySide6.QtPdf import QPdfDocument, QPdfPageNavigator
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clerk_app.i18n import _

ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.25, 5.0


class PdfPreview(QWidget):
    """A PDF viewer for bytes in memory."""

    print_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self._data = QByteArray()
        self._buffer = QBuffer(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.previous = QPushButton(_("上一页"))
        self.next = QPushButton(_("下一页"))
        self.page = QSpinBox()
        self.page.setMinimum(1)
        self.pages_label = QLabel()
        self.zoom_out = QPushButton(_("缩小"))
        self.zoom_in = QPushButton(_("放大"))
        self.fit = QPushButton(_("适合宽度"))
        self.print_button = QPushButton(_("打印…"))
        bar = QHBoxLayout()
        for widget in (self.previous, self.page, self.pages_label, self.next):
            bar.addWidget(widget)
        bar.addStretch(1)
        for widget in (self.zoom_out, self.fit, self.zoom_in, self.print_button):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.previous.clicked.connect(lambda: self.go_to(self.current_page() - 1))
        self.next.clicked.connect(lambda: self.go_to(self.current_page() + 1))
        self.page.valueChanged.connect(lambda value: self.go_to(value - 1))
        self.zoom_in.clicked.connect(lambda: self.zoom(ZOOM_STEP))
        self.zoom_out.clicked.connect(lambda: self.zoom(1 / ZOOM_STEP))
        self.fit.clicked.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth))
        self.print_button.clicked.connect(self.print_requested)
        self._navigator().currentPageChanged.connect(self._sync_page)

    def _navigator(self) -> QPdfPageNavigator:
        return self.view.pageNavigator()

    def load(self, pdf: bytes) -> None:
        """Show ``pdf``; raises ValueError if QtPdf cannot read it."""
        self.document.close()
        self._buffer.close()
        self._data = QByteArray(pdf)
        self._buffer.setData(self._data)
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(self._buffer)
        if self.document.status() != QPdfDocument.Status.Ready:
            raise ValueError(_("无法显示该 PDF 文件"))
        count = self.document.pageCount()
        self.page.blockSignals(True)
        self.page.setMaximum(max(1, count))
        self.page.setValue(1)
        self.page.blockSignals(False)
        self.pages_label.setText(_("共 {n} 页").format(n=count))
        self._update_buttons()

    def page_count(self) -> int:
        return self.document.pageCount()

    def current_page(self) -> int:
        return self._navigator().currentPage()

    def go_to(self, index: int) -> None:
        if 0 <= index < self.page_count():
            self._navigator().jump(index, QPointF(), self._navigator().currentZoom())
            self._sync_page(index)

    def zoom(self, factor: float) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(min(ZOOM_MAX, max(ZOOM_MIN, self.view.zoomFactor() * factor)))

    def _sync_page(self, index: int) -> None:
        self.page.blockSignals(True)
        self.page.setValue(index + 1)
        self.page.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        index = self.current_page()
        self.previous.setEnabled(index > 0)
        self.next.setEnabled(index < self.page_count() - 1)


class PreviewDialog(QDialog):
    """A window around :class:`PdfPreview` (non-modal: the clerk may keep working)."""

    def __init__(self, title: str, pdf: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(820, 980)
        self.preview = PdfPreview(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.preview)
        self.preview.load(pdf)
