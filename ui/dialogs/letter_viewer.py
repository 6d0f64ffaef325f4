"""An issued letter as it was stored with the case (read in the background), with Print…
and Save PDF as…."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.letters import LetterView
from ui.letter_output import LetterOutput
from ui.letter_print import Printed
from ui.models.letters import status_details
from ui.tasks import TaskRunner
from ui.widgets.pdf_preview import PdfPreview


class LetterViewer(QDialog):
    def __init__(self, desk: Desk, runner: TaskRunner, output: LetterOutput,
                 letter: LetterView, parent: QWidget | None = None,
                 on_printed: Callable[[Printed], None] | None = None) -> None:
        super().__init__(parent)
        self.letter = letter
        self._output = output
        self.setWindowTitle(f"{letter.ref}: {letter.kind_label} {letter.serial}")
        self.resize(760, 900)
        about = QLabel(status_details(letter, desk.clock.timezone))
        about.setWordWrap(True)
        self.preview = PdfPreview(empty_text="Reading the letter…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.print_button = QPushButton("&Print…")
        self.print_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Print))
        self.print_button.clicked.connect(
            lambda: output.ask_print([letter], self, on_done=on_printed))
        self.save_button = QPushButton("Save PDF &as…")
        self.save_button.setShortcut(QKeySequence(QKeySequence.StandardKey.SaveAs))
        self.save_button.clicked.connect(lambda: output.ask_save(letter, self))
        for button in (self.print_button, self.save_button):
            button.setAutoDefault(False)
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(self.preview, 1)
        layout.addWidget(buttons)

        def loaded(pdf: bytes) -> None:
            if shiboken6.isValid(self):
                self.preview.set_pdf(pdf)

        def failed(error: BaseException) -> None:
            if shiboken6.isValid(self):
                self.preview.show_empty(str(getattr(error, "message", error)), problem=True)
            runner.report(error)

        ref, serial = letter.ref, letter.serial
        runner.run(lambda _p: desk.letter_pdf(ref, serial), label=f"Reading letter {serial}",
                   on_done=loaded, on_error=failed)
