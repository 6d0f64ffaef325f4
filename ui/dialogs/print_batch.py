"""File → Print acknowledgements due… (Ctrl+Shift+P): the acknowledgement letters due
today (overdue ones included), issued and printed as one batch on a print-server queue.

The due list and the printers are loaded in the background when the dialog opens; the
list can be read (and the cases checked or unchecked) even when no printer can be
reached, which the dialog says under the printer box. "Print N letters" runs
``Desk.print_batch`` in the background (ui/tasks.py) with a progress bar ("12 of 140 —
PR-2026-00042"); Stop ends the batch after the current letter and the cases not reached
stay checked for the next run. The summary (printed, failed with the reason per case,
skipped, not reached) stays in the dialog, and the table's Result column says the same
per case.

Printing sends nothing and takes no workflow step. Afterwards the dialog offers, and
asks before doing it, to record the printed letters as mailed first-class today and to
mark those cases acknowledged (where the Acknowledge step is open to the user), in the
background too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QFontMetrics, QKeyEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import EnvironmentProblem, UserError
from caseapp.letters.printing import MAX_COPIES, Printer
from caseapp.services import Desk
from caseapp.services.dto import StepRequest
from caseapp.services.letter_printing import (
    ACKNOWLEDGEMENT,
    BatchProblem,
    BatchResult,
    DueAcknowledgement,
    PrintedLetter,
)
from ui.dialogs.confirm import ask
from ui.formatting import date_text
from ui.models.print_batch import DueLettersModel, Outcome
from ui.pages.letters_tab import printer_label
from ui.tasks import Progress, Task, TaskRunner
from ui.widgets.rows_table import RowsTable

M = DueLettersModel
HINT_STYLE = "color: #5f6b76;"
PROBLEM_STYLE = "color: #b3261e;"
GOOD_STYLE = "color: #1e6b34; font-weight: bold;"
WARN_STYLE = "color: #8a5a00; font-weight: bold;"
BAD_STYLE = "color: #b3261e; font-weight: bold;"
MAIL_METHOD = "first_class"


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def reason_text(problem: BatchProblem) -> str:
    """The reason without the case's reference the desk's message may start with."""
    return problem.reason.removeprefix(f"{problem.ref}: ").removeprefix(f"{problem.ref} ")


@dataclass(frozen=True)
class FollowUpResult:
    """What recording the mailing (and acknowledging) did, case by case."""

    mailed: tuple[PrintedLetter, ...]
    acknowledged: tuple[str, ...]
    not_acknowledged: tuple[str, ...]
    """The Acknowledge step was not open to the user on these cases (e.g. taken already)."""
    failed: tuple[tuple[str, str], ...]
    """(ref, why) for the letters whose mailing could not be recorded."""
    not_done: tuple[PrintedLetter, ...]
    stopped: bool


@dataclass
class BatchTotals:
    """Everything the dialog's batches printed, for the follow-up offer."""

    unrecorded: list[PrintedLetter] = field(default_factory=list)
    printer: str = ""


class PrintBatchDialog(QDialog):
    batch_done = Signal(object)  # BatchResult
    changed = Signal()  # letters issued and printed, mailed, cases acknowledged: reload

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None, *,
                 day: date | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.day = day or desk.clock.today()
        self.due: tuple[DueAcknowledgement, ...] | None = None
        self.printers: tuple[Printer, ...] | None = None
        self.printer_problem = ""
        self.task: Task | None = None
        self.last_result: BatchResult | None = None
        self.follow_up: FollowUpResult | None = None
        self.totals = BatchTotals()
        self.active_dialog: QWidget | None = None
        self._close_when_done = False
        self._printer_generation = 0
        self.setWindowTitle("Print acknowledgements due")
        self.resize(880, 700)

        self.intro = QLabel(
            f"Cases whose acknowledgement letter is due by {date_text(self.day)} (overdue "
            "ones included) and has not gone out. For each checked case the batch issues "
            "the letter (or reuses one issued today) and prints it.")
        self.intro.setWordWrap(True)
        self.intro.setStyleSheet(HINT_STYLE)

        self.model = DueLettersModel(self.day, self)
        width = self.fontMetrics().horizontalAdvance
        bold = self.font()
        bold.setBold(True)
        bold_width = QFontMetrics(bold).horizontalAdvance  # overdue dates are bold
        self.table: RowsTable[DueAcknowledgement] = RowsTable(
            self.model, multi=True,
            widths={M.COL_REQUESTER: width("Dana Whitfield-Smith") + 40,
                    M.COL_REF: width("PR-2026-000000") + 12,
                    M.COL_DUE: bold_width("2026-00-00  ⚠ overdue 000 d") + 16,
                    M.COL_LETTER: width("L-2026-000000 issued, not sent") + 12})
        self.table.setToolTip("Uncheck the cases not to print now; Space checks or unchecks "
                              "the selected rows")
        self.table.installEventFilter(self)
        self.model.dataChanged.connect(lambda *_: self._update())
        self.model.modelReset.connect(self._update)

        self.list_note = QLabel("Looking for acknowledgements due…")
        self.list_note.setWordWrap(True)
        self.check_all_button = QPushButton("Check all")
        self.check_all_button.setAutoDefault(False)
        self.check_all_button.clicked.connect(lambda: self.model.set_all_checked(True))
        self.check_none_button = QPushButton("Check none")
        self.check_none_button.setAutoDefault(False)
        self.check_none_button.clicked.connect(lambda: self.model.set_all_checked(False))
        list_row = QHBoxLayout()
        list_row.addWidget(self.list_note, 1)
        list_row.addWidget(self.check_all_button)
        list_row.addWidget(self.check_none_button)

        self.printer_combo = QComboBox()
        self.printer_combo.setMinimumContentsLength(28)
        self.printer_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.printer_combo.addItem("Looking for printers…")
        self.printer_combo.setEnabled(False)
        self.printer_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.copies = QSpinBox()
        self.copies.setRange(1, MAX_COPIES)
        self.copies.setValue(1)
        self.copies.setToolTip("Copies of each letter")
        self.printers_again_button = QPushButton("Look again")
        self.printers_again_button.setAutoDefault(False)
        self.printers_again_button.setToolTip("Ask the print server for its printers again")
        self.printers_again_button.clicked.connect(self.load_printers)
        printer_row = QHBoxLayout()
        printer_label_widget = QLabel("&Printer:")
        printer_label_widget.setBuddy(self.printer_combo)
        copies_label = QLabel("&Copies:")
        copies_label.setBuddy(self.copies)
        printer_row.addWidget(printer_label_widget)
        printer_row.addWidget(self.printer_combo, 1)
        printer_row.addWidget(copies_label)
        printer_row.addWidget(self.copies)
        printer_row.addWidget(self.printers_again_button)
        self.printer_note = QLabel()
        self.printer_note.setWordWrap(True)
        self.printer_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.printer_note.hide()

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAutoDefault(False)
        self.stop_button.setToolTip("End the batch after the letter being printed; the cases "
                                    "not reached stay due")
        self.stop_button.clicked.connect(self.stop)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.stop_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        progress_row.setContentsMargins(0, 0, 0, 0)
        self.progress_box.hide()

        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline.hide()
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.summary.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.summary.setMaximumHeight(self.fontMetrics().height() * 11)
        self.summary.hide()
        self.mailed_button = QPushButton("Record as mailed…")
        self.mailed_button.setAutoDefault(False)
        self.mailed_button.setToolTip("Once the printed letters are in the mail: record them "
                                      "as mailed first-class today, and mark the cases "
                                      "acknowledged")
        self.mailed_button.clicked.connect(self.offer_follow_up)
        self.follow_up_note = QLabel()
        self.follow_up_note.setWordWrap(True)
        self.follow_up_note.setStyleSheet(HINT_STYLE)
        follow_row = QHBoxLayout()
        follow_row.addWidget(self.follow_up_note, 1)
        follow_row.addWidget(self.mailed_button, 0, Qt.AlignmentFlag.AlignTop)
        self.follow_up_box = QWidget()
        self.follow_up_box.setLayout(follow_row)
        follow_row.setContentsMargins(0, 0, 0, 0)
        self.follow_up_box.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.print_button = QPushButton("Print")
        self.print_button.setDefault(True)
        self.print_button.clicked.connect(self.start_printing)
        self.buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(list_row)
        layout.addLayout(printer_row)
        layout.addWidget(self.printer_note)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.headline)
        layout.addWidget(self.summary)
        layout.addWidget(self.follow_up_box)
        layout.addWidget(self.buttons)

        runner.task_progressed.connect(self._progressed)
        self._update()
        self.load_due()
        self.load_printers()

    # --- loading -------------------------------------------------------------------------
    def load_due(self) -> None:
        desk, day = self._desk, self.day
        self.list_note.setText("Looking for acknowledgements due…")

        def loaded(due: tuple[DueAcknowledgement, ...]) -> None:
            if shiboken6.isValid(self):
                self.due = due
                self.table.set_rows(due, key=lambda row: row.ref)
                self.table.clearSelection()
                self._update()

        def failed(error: BaseException) -> None:
            if shiboken6.isValid(self):
                self.list_note.setText("The due list could not be loaded.")
            self._runner.report(error)

        self._runner.run(lambda _p: desk.acknowledgements_due(day),
                         label="Looking for acknowledgements due", on_done=loaded,
                         on_error=failed)

    def load_printers(self) -> None:
        """The print server's printers, in the background; the default one preselected."""
        self._printer_generation += 1
        generation = self._printer_generation
        self.printers = None
        self.printer_problem = ""
        combo = self.printer_combo
        combo.clear()
        combo.addItem("Looking for printers…")
        combo.setEnabled(False)
        self.printer_note.hide()
        self.printers_again_button.setEnabled(False)
        desk = self._desk

        def found(printers: tuple[Printer, ...]) -> None:
            if shiboken6.isValid(self) and generation == self._printer_generation:
                self._show_printers(printers, "")

        def failed(error: BaseException) -> None:
            if not shiboken6.isValid(self) or generation != self._printer_generation:
                return
            if isinstance(error, UserError):  # no CUPS client, server down: say so here
                self._show_printers((), error.message)
            else:
                self._show_printers((), "The printers could not be listed.")
                self._runner.report(error)

        self._runner.run(lambda _p: desk.printers(), label="Looking for printers",
                         on_done=found, on_error=failed)

    def _show_printers(self, printers: tuple[Printer, ...], problem: str) -> None:
        self.printers = printers
        combo = self.printer_combo
        combo.clear()
        self.printers_again_button.setEnabled(True)
        if problem or not printers:
            self.printer_problem = problem or (
                "The print server has no printers: nothing can be printed from here. Ask "
                "IT to set up the letter printer, then press Look again.")
            combo.addItem("No printer available")
            combo.setEnabled(False)
            text = self.printer_problem
            if problem:
                text = (f"Printing is not available: {problem} The list above stays "
                        "usable; press Look again once the print server is back.")
            self.printer_note.setText(text)
            self.printer_note.setStyleSheet(PROBLEM_STYLE)
            self.printer_note.show()
            self._update()
            return
        self.printer_problem = ""
        items = combo.model()
        chosen = -1
        for number, printer in enumerate(printers):
            combo.addItem(printer_label(printer), printer.name)
            combo.setItemData(number, printer_label(printer), Qt.ItemDataRole.ToolTipRole)
            if isinstance(items, QStandardItemModel) and not printer.accepting:
                item = items.item(number)
                if item is not None:
                    item.setEnabled(False)
            if chosen < 0 and printer.accepting and (
                    printer.is_default or not any(p.is_default and p.accepting
                                                  for p in printers)):
                chosen = number
        combo.setEnabled(True)
        combo.setCurrentIndex(max(chosen, 0))
        if chosen < 0:
            self.printer_note.setText("No printer is taking jobs now: nothing can be "
                                      "printed. Press Look again later.")
            self.printer_note.setStyleSheet(PROBLEM_STYLE)
            self.printer_note.show()
        else:
            self.printer_note.hide()
        self._update()

    def chosen_printer(self) -> Printer | None:
        if not self.printers or not self.printer_combo.isEnabled():
            return None
        name = self.printer_combo.currentData()
        printer = next((p for p in self.printers if p.name == name), None)
        return printer if printer is not None and printer.accepting else None

    # --- state ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.task is not None

    def _update(self) -> None:
        checked = len(self.model.checked_refs()) if self.due is not None else 0
        printer = self.chosen_printer()
        busy = self.busy
        self.print_button.setText(f"Print {plural(checked, 'letter')}" if checked
                                  else "Print")
        self.print_button.setEnabled(not busy and checked > 0 and printer is not None)
        if printer is None:
            self.print_button.setToolTip(self.printer_problem or "Choose a printer first")
        elif not checked:
            self.print_button.setToolTip("Check the cases to print")
        else:
            self.print_button.setToolTip(
                f"Issue and print {plural(checked, 'acknowledgement letter')} on "
                f"{printer.name}")
        for widget in (self.check_all_button, self.check_none_button, self.copies):
            widget.setEnabled(not busy)
        self.printer_combo.setEnabled(not busy and bool(self.printers))
        self.printers_again_button.setEnabled(not busy and self.printers is not None)
        self.mailed_button.setEnabled(not busy and bool(self.totals.unrecorded))
        if self.due is None:
            return
        if not self.due:
            self.list_note.setText(f"No acknowledgements are due by {date_text(self.day)}: "
                                   "nothing to print.")
            return
        overdue = sum(1 for row in self.due if self.model.overdue(row))
        parts = [plural(len(self.due), "acknowledgement") + " due"]
        if overdue:
            parts.append(f"{overdue} overdue")
        self.list_note.setText(", ".join(parts) + f"; {checked} checked to print.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Space in the table checks (or unchecks) every selected row."""
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Space
                and not self.busy):
            rows = self.table.selected_rows()
            if rows:
                checked = set(self.model.checked_refs())
                to_check = not all(row.ref in checked for row in rows)
                self.model.set_checked((row.ref for row in rows), to_check)
                return True
        return super().eventFilter(watched, event)

    # --- printing ------------------------------------------------------------------------
    def start_printing(self) -> Task | None:
        refs = self.model.checked_refs()
        printer = self.chosen_printer()
        if self.busy or not refs or printer is None:
            return None
        desk, copies, name = self._desk, self.copies.value(), printer.name

        def work(progress: Progress) -> BatchResult:
            return desk.print_batch(
                refs, kind=ACKNOWLEDGEMENT, printer=name, copies=copies,
                progress=lambda done, total, ref: progress.set(done, total, ref),
                should_stop=lambda: progress.cancelled)

        self.totals.printer = name
        self._begin(len(refs), f"Printing on {name}…")
        self.task = self._runner.run(
            work, label=f"Printing {plural(len(refs), 'acknowledgement')}",
            on_done=self._printed, on_error=self._print_failed, cancellable=True)
        self._update()
        return self.task

    def _begin(self, total: int, text: str) -> None:
        self.model.set_locked(True)
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(text)
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.progress_box.show()

    def _end(self) -> None:
        self.task = None
        self.model.set_locked(False)
        self.stop_button.setEnabled(False)
        self.progress_box.hide()
        self._update()

    def _progressed(self, task_id: int) -> None:
        task = self.task
        if task is None or task.id != task_id or not shiboken6.isValid(self):
            return
        done, total, ref = task.progress.snapshot()
        if total <= 0:
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(min(done, total))
        text = f"{min(done + 1, total)} of {total} — {ref}" if ref else f"{done} of {total}"
        if task.progress.cancelled:
            text += " (stopping after this one)"
        self.progress_bar.setFormat(text)

    def stop(self) -> None:
        """End the batch (or the recording) after the current case."""
        if self.task is None:
            return
        self._runner.cancel(self.task.id)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.progress_bar.setFormat(self.progress_bar.format().split(" (")[0]
                                    + " (stopping after this one)")

    def _printed(self, result: BatchResult) -> None:
        if not shiboken6.isValid(self):
            return
        self.last_result = result
        names = {row.ref: row.requester for row in self.due or ()}
        outcomes: dict[str, Outcome] = {}
        for letter in result.printed:
            issued = " (issued now)" if letter.issued_now else ""
            detail = (f"Letter {letter.serial} was {letter.how}." if letter.recovered else
                      f"Letter {letter.serial}{issued} went to {letter.printer}, job "
                      f"{letter.job_id}, {plural(letter.copies, 'copy', 'copies')}.")
            outcomes[letter.ref] = Outcome("printed", f"✓ Printed {letter.serial}", detail)
        for problem in result.failed:
            outcomes[problem.ref] = Outcome("failed", "✗ Failed", reason_text(problem))
        for problem in result.skipped:
            outcomes[problem.ref] = Outcome("skipped", "Printed already", reason_text(problem))
        for ref in result.not_done:
            outcomes[ref] = Outcome("not_reached", "Not reached",
                                    "The batch was stopped before this case: it is still "
                                    "due, and checked for the next batch.")
        self.model.set_outcomes(outcomes)
        self.totals.unrecorded.extend(result.printed)
        self._end()
        self._show_batch_summary(result, names)
        self.batch_done.emit(result)
        if result.printed or result.failed:
            self.changed.emit()  # letters were issued and printed
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    def _print_failed(self, error: BaseException) -> None:
        """The batch was refused before anything was printed (printer gone, not taking
        jobs, server down)."""
        if not shiboken6.isValid(self):
            return
        self._end()
        self.headline.setText("Nothing was printed." + (
            f" {error.message}" if isinstance(error, UserError) else ""))
        self.headline.setStyleSheet(BAD_STYLE)
        self.headline.show()
        if isinstance(error, UserError):
            self.load_printers()  # what the server has now
        self._runner.report(error)
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    def _show_batch_summary(self, result: BatchResult, names: dict[str, str]) -> None:
        total = result.total
        printed = len(result.printed)
        if result.stopped and result.not_done:
            headline = (f"Stopped: {plural(printed, 'letter')} printed, "
                        f"{len(result.not_done)} of {total} not reached.")
            style = WARN_STYLE
        elif result.failed:
            headline = (f"Printed {printed} of {plural(total, 'letter')}; "
                        f"{len(result.failed)} failed.")
            style = BAD_STYLE
        elif printed:
            headline = f"Printed {plural(printed, 'letter')} on {self.totals.printer}."
            style = GOOD_STYLE
        else:
            headline = "Nothing was printed."
            style = WARN_STYLE
        if result.skipped:
            headline += f" {len(result.skipped)} skipped (printed already today)."
        self.headline.setText(headline)
        self.headline.setStyleSheet(style)
        self.headline.show()

        def who(ref: str) -> str:
            return f"{ref}  {names.get(ref, '')}".rstrip()

        lines: list[str] = []
        if result.printed:
            lines.append(f"Printed ({printed}):")
            lines += [f"  {who(p.ref)} — {p.serial}" + (f", {p.how}" if p.recovered else "")
                      for p in result.printed]
        if result.failed:
            lines.append(f"Failed ({len(result.failed)}):")
            lines += [f"  {who(p.ref)}: {reason_text(p)}" for p in result.failed]
        if result.skipped:
            lines.append(f"Skipped ({len(result.skipped)}):")
            lines += [f"  {who(p.ref)}: {reason_text(p)}" for p in result.skipped]
        if result.not_done:
            lines.append(f"Not reached ({len(result.not_done)}), still due:")
            lines += [f"  {who(ref)}" for ref in result.not_done]
        self.summary.setPlainText("\n".join(lines))
        self.summary.show()
        self._show_follow_up()

    # --- after printing: mailed, acknowledged --------------------------------------------
    def _show_follow_up(self, done: str = "") -> None:
        waiting = len(self.totals.unrecorded)
        if waiting:
            text = (f"Printing takes no step on the cases. Once the {plural(waiting, 'letter')} "
                    "printed are in the mail, record them as mailed (and mark the cases "
                    "acknowledged); otherwise each case's page offers Acknowledge.")
        else:
            text = ""
        self.follow_up_note.setText("\n".join(part for part in (done, text) if part))
        self.mailed_button.setText(f"Record {waiting} as mailed…" if waiting
                                   else "Record as mailed…")
        self.mailed_button.setVisible(bool(waiting))
        self.follow_up_box.setVisible(bool(done or waiting))
        self._update()

    def offer_follow_up(self) -> None:
        """Ask, then record the printed letters as mailed first-class today and (when
        ticked) take Acknowledge on those cases."""
        letters = list(self.totals.unrecorded)
        if self.busy or not letters:
            return
        count = plural(len(letters), "printed letter")
        acknowledge = QCheckBox("Also mark these cases acknowledged (where the Acknowledge "
                                "step is open to you)")
        acknowledge.setChecked(True)

        def accepted() -> None:
            self.record_mailed(letters, acknowledge=acknowledge.isChecked())

        box = ask(self, "Record as mailed",
                  f"Record the {count} as mailed first-class today ({date_text(self.day)})? "
                  "Do this once they are in the mail.",
                  f"Record {len(letters)} as mailed", accepted)
        box.setCheckBox(acknowledge)
        self.active_dialog = box

    def record_mailed(self, letters: list[PrintedLetter], *, acknowledge: bool) -> Task | None:
        if self.busy or not letters:
            return None
        desk = self._desk

        def work(progress: Progress) -> FollowUpResult:
            mailed: list[PrintedLetter] = []
            acknowledged: list[str] = []
            not_acknowledged: list[str] = []
            failed: list[tuple[str, str]] = []
            total = len(letters)
            for index, letter in enumerate(letters):
                if progress.cancelled:
                    return FollowUpResult(tuple(mailed), tuple(acknowledged),
                                          tuple(not_acknowledged), tuple(failed),
                                          tuple(letters[index:]), stopped=True)
                progress.set(index, total, letter.ref)
                try:
                    desk.record_mailing(letter.ref, letter.serial, method=MAIL_METHOD)
                    mailed.append(letter)
                    if acknowledge:
                        if desk.step_after_sending(letter.ref, ACKNOWLEDGEMENT) is None:
                            not_acknowledged.append(letter.ref)
                        else:
                            desk.take_step(letter.ref, StepRequest(step="acknowledge"))
                            acknowledged.append(letter.ref)
                except EnvironmentProblem as error:  # the rest would fail the same way
                    failed.append((letter.ref, error.message))
                    return FollowUpResult(tuple(mailed), tuple(acknowledged),
                                          tuple(not_acknowledged), tuple(failed),
                                          tuple(letters[index + 1:]), stopped=True)
                except UserError as error:
                    failed.append((letter.ref, error.message))
            progress.set(total, total, "")
            return FollowUpResult(tuple(mailed), tuple(acknowledged), tuple(not_acknowledged),
                                  tuple(failed), (), stopped=False)

        self._begin(len(letters), "Recording the mailing…")
        self.task = self._runner.run(work, label="Recording letters as mailed",
                                     on_done=self._recorded, on_error=self._record_failed,
                                     cancellable=True)
        self._update()
        return self.task

    def _recorded(self, outcome: FollowUpResult) -> None:
        if not shiboken6.isValid(self):
            return
        self.follow_up = outcome
        mailed = {letter.serial for letter in outcome.mailed}
        self.totals.unrecorded = [letter for letter in self.totals.unrecorded
                                  if letter.serial not in mailed]
        acknowledged = set(outcome.acknowledged)
        self.model.set_outcomes({
            letter.ref: Outcome("printed", f"✓ {letter.serial} mailed"
                                + (", acknowledged" if letter.ref in acknowledged else ""),
                                f"Letter {letter.serial} was printed and recorded as mailed "
                                f"first-class on {date_text(self.day)}"
                                + (", and the case acknowledged." if letter.ref in acknowledged
                                   else "."))
            for letter in outcome.mailed})
        self._end()
        parts = [f"Recorded {plural(len(outcome.mailed), 'letter')} as mailed first-class "
                 f"on {date_text(self.day)}"]
        if outcome.acknowledged:
            parts.append(f"marked {plural(len(outcome.acknowledged), 'case')} acknowledged")
        done = "; ".join(parts) + "."
        if outcome.not_acknowledged:
            done += (f" Not acknowledged here (the step is not open to you on them): "
                     f"{', '.join(outcome.not_acknowledged)}.")
        if outcome.failed:
            done += " Not recorded: " + "; ".join(f"{ref}: {why}"
                                                   for ref, why in outcome.failed)
        if outcome.stopped and outcome.not_done:
            done += f" Stopped before {plural(len(outcome.not_done), 'letter')}."
        self._show_follow_up(done)
        if outcome.mailed:
            self.changed.emit()
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    def _record_failed(self, error: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._end()
        self._runner.report(error)
        self.changed.emit()  # some may have been recorded before the failure
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    # --- closing -------------------------------------------------------------------------
    def reject(self) -> None:
        """Close; while a batch runs, stop it after the current letter and close then."""
        if self.busy:
            self._close_when_done = True
            self.stop()
            return
        super().reject()
