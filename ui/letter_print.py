"""Printing letters through Qt: the PDF's pages drawn onto a QPrinter.

``print_pdfs`` runs in a background task (ui/tasks.py): painting on a QPrinter is
allowed outside the GUI thread, and each page is rendered there from a QPdfDocument of
the task's own, so a long letter or a batch of letters never freezes the window. The
task reports the pages done and stops (the job aborted) when the user cancels.

Each page is printed at its real size (a Letter page on A4 paper is scaled down to fit,
never up), rendered at ``PRINT_DPI`` (or the printer's resolution if lower).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

from caseapp.errors import ConfigError, InvalidInput
from ui.tasks import Progress, TaskCancelled

PRINT_DPI = 300


@dataclass(frozen=True)
class PrintJob:
    """What goes to the printer: the PDFs in order, each with a name for the progress."""

    names: tuple[str, ...]
    pdfs: tuple[bytes, ...]


@dataclass(frozen=True)
class Printed:
    letters: int
    pages: int
    printer: str


def _load(pdf: bytes, name: str) -> tuple[QPdfDocument, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        raise InvalidInput(f"The PDF of {name} cannot be read for printing.")
    return document, buffer


def _wanted(printer: QPrinter, total: int) -> list[int]:
    """The pages (0-based, across the whole job) the print dialog asked for."""
    if printer.printRange() == QPrinter.PrintRange.PageRange and printer.fromPage() > 0:
        first = printer.fromPage() - 1
        last = min(printer.toPage() or total, total) - 1
        return list(range(first, last + 1))
    return list(range(total))


def print_pdfs(job: PrintJob, printer: QPrinter, progress: Progress) -> Printed:
    """Paint every page of the job onto ``printer`` (one print job)."""
    loaded = [_load(pdf, name) for pdf, name in zip(job.pdfs, job.names, strict=True)]
    pages = [(number, document, page) for number, (document, _buffer) in enumerate(loaded)
             for page in range(document.pageCount())]
    wanted = _wanted(printer, len(pages))
    if not wanted:
        raise InvalidInput("The pages chosen in the print dialog are not in the letters.")
    printer.setFullPage(True)  # the letter has its own margins
    painter = QPainter()
    if not painter.begin(printer):
        raise ConfigError(f"The printer {printer.printerName() or printer.outputFileName()} "
                          "cannot be used: check that it is switched on and set up, then "
                          "print again.")
    try:
        resolution = printer.resolution()
        dpi = min(PRINT_DPI, resolution)
        paper = printer.paperRect(QPrinter.Unit.DevicePixel)
        for done, index in enumerate(wanted):
            if progress.cancelled:
                printer.abort()
                raise TaskCancelled()
            number, document, page = pages[index]
            progress.set(done, len(wanted), f"{job.names[number]}, page {page + 1}")
            if done:
                printer.newPage()
            points = document.pagePointSize(page)
            image = document.render(page, QSize(round(points.width() / 72 * dpi),
                                                round(points.height() / 72 * dpi)))
            width = points.width() / 72 * resolution
            height = points.height() / 72 * resolution
            scale = min(1.0, paper.width() / width, paper.height() / height)
            left = (paper.width() - width * scale) / 2
            painter.drawImage(QRectF(left, 0, width * scale, height * scale), image)
        progress.set(len(wanted), len(wanted), "sent to the printer")
    finally:
        if painter.isActive():
            painter.end()
        for document, buffer in loaded:
            document.close()
            buffer.close()
    return Printed(len(job.pdfs), len(wanted),
                   printer.printerName() or printer.outputFileName())


def job_names(serials: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"letter {serial}" for serial in serials)
