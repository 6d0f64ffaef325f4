"""Review of one scanned letter: its pages on the left, the case it proposes on the right.

Staff check the fields against the picture, confirm the day the letter reached the PO
box, and then create the case (Ctrl+Enter), add the scan to an existing case, skip it,
or stop reviewing the batch. Saving runs in the background; a refusal is shown under
the form and nothing typed is lost. A scan that could not be read shows why, and can
still become a case typed in by hand.
"""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.intake.ocr import media_type_of
from caseapp.services import Desk, ScannedLetter
from caseapp.services.dto import Changed, NewCase, PartyData
from ui.dialogs.saving import SavingDialog
from ui.scan_import import ScanRead
from ui.tasks import Progress, TaskRunner
from ui.widgets.request_form import HINT_STYLE
from ui.widgets.scan_case_form import ScanCaseForm
from ui.widgets.scan_view import ScanView

UNREADABLE_STYLE = ("#unreadable { background: #fdecea; border: 1px solid #e3a39c; "
                    "border-radius: 4px; } #unreadable QLabel { color: #7a1d14; }")
SHOW_TEXT = "Show the text read from the scan"
HIDE_TEXT = "Hide the text read from the scan"


class ScanReviewDialog(SavingDialog):
    created = Signal(object)  # Changed
    attached = Signal(str)  # the case reference
    skipped = Signal(str)  # the file name
    stopped = Signal(str)  # the file name: this one and the rest are not taken in

    def __init__(self, desk: Desk, runner: TaskRunner, read: ScanRead, number: int,
                 total: int, parent: QWidget | None = None, *, current_ref: str = "") -> None:
        super().__init__(parent, ok_text="Create case")
        self._desk = desk
        self._runner = runner
        self.read = read
        self.current_ref = current_ref
        self.ref_dialog: QInputDialog | None = None
        self.setWindowTitle(f"Scanned letter {number} of {total} — {read.filename}")
        self.resize(1320, 880)

        # --- heading: n of N, the file, what was read ---------------------------------
        self.position_label = QLabel(f"Scan {number} of {total}")
        font = QFont(self.position_label.font())
        font.setBold(True)
        self.position_label.setFont(font)
        pages = read.scan.page_count if read.scan else len(read.images)
        facts = read.filename + (f" · {pages} page{'s' if pages != 1 else ''}" if pages else "")
        self.file_label = QLabel(facts)
        self.file_label.setStyleSheet(HINT_STYLE)
        heading = QHBoxLayout()
        heading.addWidget(self.position_label)
        heading.addWidget(self.file_label, 1)

        # --- left: the pages ----------------------------------------------------------
        self.view = ScanView()
        self.view.set_pages(read.images)

        # --- right: why it is unreadable, the form, the OCR text --------------------------
        self.unreadable = QFrame()
        self.unreadable.setObjectName("unreadable")
        self.unreadable.setStyleSheet(UNREADABLE_STYLE)
        self.reason_label = QLabel(f"<b>This scan could not be read:</b> "
                                   f"{html.escape(read.reason)}.")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextFormat(Qt.TextFormat.RichText)
        self.by_hand_button = QPushButton("Create case &by hand")
        self.by_hand_button.setToolTip("Type the case in from the letter, with an empty form")
        self.by_hand_button.clicked.connect(self.create_by_hand)
        unreadable_layout = QVBoxLayout(self.unreadable)
        unreadable_layout.addWidget(self.reason_label)
        by_hand_row = QHBoxLayout()
        by_hand_row.addWidget(QLabel("Skip it, or:"))
        by_hand_row.addWidget(self.by_hand_button)
        by_hand_row.addStretch(1)
        unreadable_layout.addLayout(by_hand_row)
        self.unreadable.setVisible(not read.readable)

        today = desk.clock.today()
        self.form = ScanCaseForm(desk.rules.jurisdictions, today, desk.username)
        if read.proposal is not None:
            self.form.set_proposal(read.proposal, read.date_written)
        self.form.setVisible(read.readable)

        self.text_toggle = QToolButton()
        self.text_toggle.setText(SHOW_TEXT)
        self.text_toggle.setCheckable(True)
        self.text_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.text_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.text_toggle.setAutoRaise(True)
        self.text_toggle.toggled.connect(self._toggle_text)
        self.ocr_text = QPlainTextEdit()
        self.ocr_text.setReadOnly(True)
        self.ocr_text.setMinimumHeight(220)
        if read.scan is not None:
            self.ocr_text.setPlainText("\n\n".join(
                (f"— page {page.number} —\n" if read.scan.page_count > 1 else "") + page.text
                for page in read.scan.pages))
        self.ocr_text.hide()
        self.text_toggle.setVisible(read.readable)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 10, 0)
        right_layout.addWidget(self.unreadable)
        right_layout.addWidget(self.form)
        right_layout.addWidget(self.text_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        right_layout.addWidget(self.ocr_text)
        right_layout.addStretch(1)
        self.right_scroll = QScrollArea()
        self.right_scroll.setWidgetResizable(True)
        self.right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.right_scroll.setWidget(right)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(self.right_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 700])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        # --- buttons ------------------------------------------------------------------
        stop = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert stop is not None
        self.stop_button: QPushButton = stop
        self.stop_button.setText("Stop")
        self.stop_button.setToolTip("Stop reviewing: this scan and the ones after it are "
                                    "not taken in")
        self.skip_button = self.buttons.addButton("&Skip",
                                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.skip_button.setToolTip("Do not take this scan in; go on with the next one")
        self.skip_button.clicked.connect(self.skip)
        self.attach_button = self.buttons.addButton("&Add to existing case…",
                                                    QDialogButtonBox.ButtonRole.ActionRole)
        self.attach_button.setToolTip("A further letter of a case (a signed form, a copy of "
                                      "an ID…): keep it in that case's thread")
        self.attach_button.clicked.connect(self.ask_reference)
        self.attach_button.setEnabled(self._letter_media_type() is not None)
        self.ok_button.setToolTip("Create the case from this form (Ctrl+Enter)")
        self.ok_button.setEnabled(read.readable)
        self.ok_button.setDefault(False)
        self.ok_button.setAutoDefault(False)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._create_shortcut)

        layout = QVBoxLayout(self)
        layout.addLayout(heading)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        if read.readable:
            self.form.received_on.setFocus()

    # --- showing -------------------------------------------------------------------------
    def _toggle_text(self, shown: bool) -> None:
        self.ocr_text.setVisible(shown)
        self.text_toggle.setText(HIDE_TEXT if shown else SHOW_TEXT)
        self.text_toggle.setArrowType(Qt.ArrowType.DownArrow if shown
                                      else Qt.ArrowType.RightArrow)

    def create_by_hand(self) -> None:
        """An unreadable scan: an empty form to type the case in from the picture."""
        empty = NewCase(channel="postal", request_types=(), requester=PartyData(),
                        received_on=self._desk.clock.today())
        self.form.set_proposal(empty, None)
        self.form.hint.setText("Type the case in from the letter.")
        self.form.setVisible(True)
        self.by_hand_button.setEnabled(False)
        self.ok_button.setEnabled(True)
        self.form.requester.name.setFocus()

    # --- what is stored --------------------------------------------------------------------
    def _letter_media_type(self) -> str | None:
        if self.read.scan is not None:
            return self.read.scan.media_type
        return media_type_of(self.read.data) if self.read.data else None

    def letter(self, date_written: date | None = None) -> ScannedLetter | None:
        """The scan as it is stored with the case (None for a file that is no scan)."""
        media_type = self._letter_media_type()
        if media_type is None:
            return None
        scan = self.read.scan
        return ScannedLetter(
            filename=self.read.filename, data=self.read.data, media_type=media_type,
            text=scan.text if scan else "",
            page_count=scan.page_count if scan else max(1, len(self.read.images)),
            date_written=date_written if date_written else self.read.date_written)

    # --- the buttons -----------------------------------------------------------------------
    def set_saving(self, saving: bool) -> None:
        super().set_saving(saving)
        for button in (self.skip_button, self.attach_button, self.stop_button):
            button.setEnabled(not saving and (button is not self.attach_button
                                              or self._letter_media_type() is not None))

    def _create_shortcut(self) -> None:
        if self.ok_button.isEnabled() and self.ok_button.isVisible():
            self.submit()

    def submit(self) -> None:
        if self.saving or not self.form.isVisible():
            return
        problems = self.form.problems()
        if problems:
            self.show_problems(problems)
            return
        new = self.form.value()
        letter = self.letter()
        desk = self._desk
        self.set_saving(True)

        def create(_progress: Progress) -> Changed:
            if letter is None:  # not a picture at all: the case alone, typed in by hand
                return desk.create_case(new)
            return desk.create_case_from_scan(new, letter)

        self._runner.run(create, label="Creating the case", on_done=self._created,
                         on_error=self._failed)

    def _created(self, changed: Changed) -> None:
        self.saved()
        self.created.emit(changed)

    def _failed(self, error: BaseException) -> None:
        if not self.save_failed(error):
            self._runner.report(error)

    def ask_reference(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Add to existing case")
        dialog.setLabelText("Reference of the case this letter belongs to (e.g. "
                            "PR-2026-00042):")
        dialog.setTextValue(self.current_ref)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(self.attach_to)
        self.ref_dialog = dialog
        dialog.open()

    def attach_to(self, ref: str) -> None:
        ref = ref.strip().upper()
        letter = self.letter()
        if self.saving or letter is None:
            return
        if not ref:
            self.show_problems(["Give the reference of the case to add the scan to."])
            return
        desk = self._desk
        self.set_saving(True)

        def attach(_progress: Progress) -> Changed:
            return desk.attach_scan(ref, letter)

        self._runner.run(attach, label=f"Adding the scan to {ref}", on_done=self._attached,
                         on_error=self._failed)

    def _attached(self, changed: Changed) -> None:
        self.saved()
        self.attached.emit(changed.case.ref)

    def skip(self) -> None:
        if self.saving:
            return
        self.done(self.DialogCode.Rejected)
        self.skipped.emit(self.read.filename)

    def reject(self) -> None:
        """Stop (Esc, the window's close button): the rest of the batch is not taken in."""
        if self.saving:
            return
        super().reject()
        self.stopped.emit(self.read.filename)
