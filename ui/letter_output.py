"""Getting issued letters out of the window: printed through the Qt print dialog (one
letter or a batch, in the background with progress and Cancel; each letter printed is
audited with the printer's name), or saved as a PDF file.

The PDFs are read from the case database in the same background task that prints or
saves them; the GUI thread only shows the dialogs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QWidget

from caseapp.errors import InvalidInput
from caseapp.services import Desk
from caseapp.services.letters import LetterView
from ui.letter_print import Printed, PrintJob, job_names, print_pdfs
from ui.tasks import Progress, Task, TaskRunner


def write_file(path: Path, data: bytes) -> None:
    """Write the whole file or nothing (a temporary file renamed into place)."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=".caseapp-", suffix=".pdf",
                                             dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InvalidInput(f"The PDF could not be saved as {path}: "
                           f"{error.strerror or error}. Choose another folder.") from None


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


class LetterOutput(QObject):
    """Print and save letters of one desk; says ``message`` when something went out."""

    message = Signal(str)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.printer: QPrinter | None = None  # kept: the next print starts from its settings
        self.dialog: QWidget | None = None  # the last print or file dialog opened
        self.printing: Task | None = None

    # --- printing ------------------------------------------------------------------------
    def ask_print(self, letters: Sequence[LetterView], parent: QWidget,
                  on_done: Callable[[Printed], None] | None = None) -> None:
        """The Qt print dialog for these letters; printing starts when it is accepted."""
        if not letters:
            return
        if self.printer is None:
            self.printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer = self.printer
        dialog = QPrintDialog(printer, parent)
        what = (f"letter {letters[0].serial}" if len(letters) == 1
                else f"{len(letters)} letters")
        dialog.setWindowTitle(f"Print {what}")
        dialog.setOption(QPrintDialog.PrintDialogOption.PrintSelection, False)
        chosen = list(letters)
        dialog.accepted.connect(lambda: self.print_with(printer, chosen, on_done))
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        self.dialog = dialog
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.show()

    def print_with(self, printer: QPrinter, letters: Sequence[LetterView],
                   on_done: Callable[[Printed], None] | None = None) -> Task | None:
        """Print the letters (one job, in order) on a printer already set up."""
        if not letters:
            return None
        if self.printing is not None:
            self.message.emit("Letters are being printed: wait for them, or cancel in the "
                              "status bar.")
            return None
        desk = self._desk
        refs_serials = [(letter.ref, letter.serial) for letter in letters]
        printer.setDocName(letters[0].serial if len(letters) == 1
                           else f"{letters[0].ref} letters")

        def run(progress: Progress) -> Printed:
            pdfs = []
            for number, (ref, serial) in enumerate(refs_serials):
                progress.set(0, 0, f"reading letter {serial} ({number + 1} of "
                                   f"{len(refs_serials)})")
                progress.check()
                pdfs.append(desk.letter_pdf(ref, serial))
            job = PrintJob(job_names([serial for _ref, serial in refs_serials]), tuple(pdfs))
            printed = print_pdfs(job, printer, progress)
            for ref, serial in refs_serials:  # audited like a print to a CUPS queue
                desk.record_letter_printed(ref, serial, printer=printed.printer,
                                           copies=max(printer.copyCount(), 1))
            return printed

        def finished() -> None:
            self.printing = None

        def done(printed: Printed) -> None:
            finished()
            self.message.emit(
                f"Sent {printed.pages} page{'s' if printed.pages != 1 else ''} of "
                f"{printed.letters} letter{'s' if printed.letters != 1 else ''} to "
                f"{printed.printer}.")
            if on_done is not None:
                on_done(printed)

        def failed(error: BaseException) -> None:
            finished()
            self._runner.report(error)

        def cancelled() -> None:
            finished()
            self.message.emit("Printing cancelled.")

        self.printing = self._runner.run(
            run, label="Printing letters" if len(letters) > 1 else
            f"Printing letter {letters[0].serial}", on_done=done, on_error=failed,
            cancellable=True, on_cancelled=cancelled)
        return self.printing

    # --- saving --------------------------------------------------------------------------
    def ask_save(self, letter: LetterView, parent: QWidget) -> None:
        """A file dialog; the PDF is written where the user chose."""
        name = f"{letter.ref}-{letter.kind}-{letter.serial}.pdf"
        dialog = QFileDialog(parent, f"Save letter {letter.serial} as PDF",
                             str(documents_folder() / name), "PDF files (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda path: self.save_to(letter, Path(path)))
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        self.dialog = dialog
        dialog.open()

    def save_to(self, letter: LetterView, path: Path) -> Task:
        desk = self._desk

        def run(_progress: Progress) -> Path:
            write_file(path, desk.letter_pdf(letter.ref, letter.serial))
            return path

        return self._runner.run(run, label=f"Saving letter {letter.serial}",
                                on_done=lambda saved: self.message.emit(
                                    f"Saved letter {letter.serial} as {saved}"))
