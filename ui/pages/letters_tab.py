"""The case page's Letters tab: the case's issued letters, where each one is, and what
can be done with them: draft and issue a new one, open it, save it as a PDF, print it
(the Qt print dialog, one letter or several in one job), print it straight to a printer
or email it (when the desk offers those), record that it was mailed or came back.

Everything the desk is asked runs in the background (ui/tasks.py). After a change the
tab reloads its letters and says ``changed`` so that the case page reloads the case
(its history and tasks follow); ``issued`` carries a letter just issued.

``went_out`` says a letter actually went out, for the page to offer the workflow step it
completes (acknowledged, response sent): when it is recorded as mailed, when it was
emailed, and when a letter to be mailed was printed (the print dialog or Print to; that
once per letter). Never when it is only issued: the step's date is what compliance
reports count, and an issued letter may sit unsent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.letters.printing import Printer
from caseapp.services import Desk
from caseapp.services.dto import CaseDetail
from caseapp.services.letter_email import EmailedLetter
from caseapp.services.letters import STEP_AFTER_SENDING, LetterView, RenderedLetter
from ui.dialogs.confirm import ask
from ui.dialogs.letter_mailing import Mailing, MarkMailedDialog, Returned, ReturnedDialog
from ui.dialogs.letter_viewer import LetterViewer
from ui.dialogs.new_letter import NewLetterDialog
from ui.dialogs.saving import SavingDialog
from ui.letter_output import LetterOutput
from ui.letter_print import Printed
from ui.models.letters import LettersModel
from ui.tasks import Progress, TaskRunner
from ui.widgets.flow_layout import FlowLayout
from ui.widgets.rows_table import RowsTable

L = LettersModel
NEW_LETTER_KEYS = "Ctrl+Shift+L"
HINT_STYLE = "color: #5f6b76;"


def printer_label(printer: Printer) -> str:
    """A print-server queue as the Print to menu lists it."""
    about = printer.description if printer.description != printer.name else ""
    text = f"{printer.name} — {about}" if about else printer.name
    if printer.is_default:
        text += " (default)"
    if not printer.accepting:
        text += " (not taking jobs)"
    elif printer.state == "disabled":
        text += " (paused: jobs wait)"
    return text


class LettersTab(QWidget):
    changed = Signal(str)  # the case's ref, after a letter was issued, mailed, returned…
    issued = Signal(object)  # RenderedLetter, just issued
    went_out = Signal(str, str, str)  # ref, kind, what happened: mailed, emailed, printed
    loaded = Signal(str)  # the case's ref, whenever its letters were (re)loaded
    count_changed = Signal(int)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._generation = 0
        self.detail: CaseDetail | None = None
        self.letters: tuple[LetterView, ...] = ()
        self.active_dialog: QWidget | None = None
        self._printers: tuple[Printer, ...] | None = None
        self._pending_select = ""
        self._summary = ""
        self._message = ""
        self._offered_printed: set[str] = set()  # serials whose printing offered the step
        self.output = LetterOutput(desk, runner, self)
        self.output.message.connect(self._say)

        self.new_letter_action = QAction("New &letter…", self)
        self.new_letter_action.setShortcut(QKeySequence(NEW_LETTER_KEYS))
        self.new_letter_action.triggered.connect(lambda _checked=False: self.new_letter())
        self.print_action = QAction("Print…", self)
        self.print_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Print))
        self.print_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.print_action.triggered.connect(lambda _checked=False: self.print_selected())
        self.addAction(self.print_action)

        self.model = LettersModel(desk.clock.timezone, self)
        width = self.fontMetrics().horizontalAdvance
        self.table: RowsTable[LetterView] = RowsTable(
            self.model, multi=True,
            widths={L.COL_KIND: width("Verification request") + 10,
                    L.COL_SERIAL: width("L-2026-000000") + 8,
                    L.COL_ISSUED: width("2026-00-00") + 8, L.COL_HOW: width("Certified") + 8})
        self.table.setToolTip("Enter or double-click opens a letter; select several to "
                              "print them in one go")
        self.table.activated.connect(lambda _index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)

        def button(text: str, tip: str, slot: object) -> QPushButton:
            made = QPushButton(text)
            made.setToolTip(tip)
            made.clicked.connect(slot)
            return made

        keys = self._keys(self.new_letter_action)
        self.new_button = button("New letter…", f"Draft a letter, see it, issue it ({keys})",
                                 self.new_letter)
        self.open_button = button("Open", "See the letter as it was issued (Enter)",
                                  self.open_selected)
        self.save_button = button("Save PDF as…", "Save the letter as a PDF file",
                                  self.save_selected)
        self.print_button = button(
            "Print…", f"Print the selected letters through the print dialog "
            f"({self._keys(self.print_action)})", self.print_selected)
        self.print_to_button = QPushButton("Print to")
        self.print_to_button.setToolTip("Print the selected letters on a printer, without "
                                        "the dialog")
        self.print_to_menu = QMenu(self.print_to_button)
        self.print_to_menu.aboutToShow.connect(self._fill_printers)
        self.print_to_button.setMenu(self.print_to_menu)
        self.email_button = button("Email…", "Send the letter to the requester by email",
                                   self.email_selected)
        self.mailed_button = button("Mark mailed…", "Record when and how the printed letter "
                                    "went in the mail", self.mark_mailed)
        self.returned_button = button("Returned…", "The post office returned the letter as "
                                      "undeliverable", self.mark_returned)
        buttons = FlowLayout()
        for made in (self.new_button, self.open_button, self.save_button, self.print_button,
                     self.print_to_button, self.email_button, self.mailed_button,
                     self.returned_button):
            buttons.addWidget(made)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        self.clear()

    @staticmethod
    def _keys(action: QAction) -> str:
        return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)

    # --- which case ----------------------------------------------------------------------
    @property
    def ref(self) -> str | None:
        return self.detail.ref if self.detail is not None else None

    def set_case(self, detail: CaseDetail) -> None:
        """Show this case's letters (loaded in the background when the case changes)."""
        changed = detail.ref != self.ref
        self.detail = detail
        if changed:
            self._message = ""
            self._show(())
            self.reload()
        self._update_buttons()

    def clear(self) -> None:
        self._generation += 1
        self.detail = None
        self._show(())

    def reload(self) -> None:
        ref = self.ref
        if ref is None:
            return
        self._generation += 1
        generation = self._generation
        desk = self._desk

        def loaded(letters: list[LetterView]) -> None:
            if generation == self._generation and ref == self.ref:
                self._show(tuple(letters))
                if self._pending_select:  # the letter just issued
                    self.select_serial(self._pending_select)
                    self._pending_select = ""
                self.loaded.emit(ref)

        self._runner.run(lambda _p: desk.list_letters(ref),
                         label=f"Loading the letters of {ref}", on_done=loaded)

    def _show(self, letters: tuple[LetterView, ...]) -> None:
        self.letters = letters
        self.table.set_rows(letters, key=lambda letter: letter.serial)
        if self.detail is None:
            self._summary = ""
        elif not letters:
            self._summary = (f"No letters yet. New letter… "
                             f"({self._keys(self.new_letter_action)}) drafts one.")
        else:
            waiting = sum(1 for letter in letters if letter.status == "issued"
                          and letter.delivery in ("post", "email"))
            returned = sum(1 for letter in letters if letter.status == "returned")
            parts = [f"{len(letters)} letter{'s' if len(letters) != 1 else ''}"]
            if waiting:
                parts.append(f"{waiting} not sent yet")
            if returned:
                parts.append(f"{returned} returned undeliverable")
            self._summary = ", ".join(parts) + "."
        self._show_hint()
        self.count_changed.emit(len(letters))
        self._update_buttons()

    def _show_hint(self) -> None:
        self.hint.setText("\n".join(text for text in (self._summary, self._message) if text))

    def _say(self, text: str) -> None:
        """What just happened (printed, saved, issued…), under the summary."""
        self._message = text
        self._show_hint()

    # --- selection and buttons -----------------------------------------------------------
    def selected(self) -> list[LetterView]:
        return self.table.selected_rows()

    def _one(self) -> LetterView | None:
        chosen = self.selected()
        return chosen[0] if len(chosen) == 1 else None

    def _update_buttons(self) -> None:
        chosen = self.selected()
        one = chosen[0] if len(chosen) == 1 else None
        has_case = self.detail is not None
        self.new_button.setEnabled(has_case)
        self.new_letter_action.setEnabled(has_case)
        for made in (self.open_button, self.save_button, self.mailed_button,
                     self.email_button):
            made.setEnabled(one is not None)
        self.print_button.setEnabled(bool(chosen))
        self.print_action.setEnabled(bool(chosen))
        self.print_to_button.setEnabled(bool(chosen))
        self.print_button.setText(f"Print {len(chosen)}…" if len(chosen) > 1 else "Print…")
        returnable = one is not None and one.mailed_on is not None
        self.returned_button.setEnabled(returnable)
        self.returned_button.setToolTip(
            "The post office returned the letter as undeliverable" if returnable else
            "Only a letter recorded as mailed can come back undeliverable")
        if one is not None and one.delivery == "email" and one.status == "issued":
            self.mailed_button.setToolTip("This letter was issued to be emailed; record a "
                                          "mailing only if it was printed and mailed")
        else:
            self.mailed_button.setToolTip("Record when and how the printed letter went in "
                                          "the mail")

    def select_serial(self, serial: str) -> bool:
        self.table.select_where(lambda letter: letter.serial == serial)
        return any(letter.serial == serial for letter in self.selected())

    # --- dialogs -------------------------------------------------------------------------
    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def new_letter(self, kind: str = "") -> NewLetterDialog | None:
        detail = self.detail
        if detail is None:
            return None
        dialog = NewLetterDialog(self._desk, self._runner, detail, self, kind=kind)
        dialog.issued.connect(self._issued)
        self._open(dialog)
        return dialog

    def _issued(self, letter: RenderedLetter) -> None:
        if letter.ref == self.ref:
            self._pending_select = letter.serial
            self.reload()
        self._say(f"Issued {letter.title!r} as {letter.serial}.")
        self.changed.emit(letter.ref)
        self.issued.emit(letter)
        # Not went_out: issued is not sent. The step is offered once it is printed, mailed
        # or emailed.

    def open_selected(self) -> None:
        letter = self._one()
        if letter is None:
            return
        def printed(_printed: Printed) -> None:  # printed from the viewer: as from here
            self._changed()
            self._printed([letter])

        self._open(LetterViewer(self._desk, self._runner, self.output, letter, self,
                                on_printed=printed))

    def save_selected(self) -> None:
        letter = self._one()
        if letter is not None:
            self.output.ask_save(letter, self)
            self.active_dialog = self.output.dialog

    def print_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return

        def printed(_printed: Printed) -> None:
            self._changed()
            self._printed(chosen)

        self.output.ask_print(chosen, self, on_done=printed)
        self.active_dialog = self.output.dialog

    def _printed(self, letters: Sequence[LetterView]) -> None:
        """Letters printed: one to be mailed has gone out as far as the step it completes
        is concerned (the acknowledgement's date is the day it was printed to be mailed),
        so the step is offered, once per letter; a copy of a letter already mailed or
        emailed, or of one to be emailed, offers nothing. Of several printed together,
        the first that completes a step is offered (the page asks one thing at a time)."""
        letter = next((letter for letter in letters
                       if letter.kind in STEP_AFTER_SENDING and letter.delivery == "post"
                       and letter.status == "issued"
                       and letter.serial not in self._offered_printed), None)
        if letter is not None:
            self._offered_printed.add(letter.serial)
            self.went_out.emit(letter.ref, letter.kind,
                               f"Letter {letter.serial} was printed to be mailed.")

    # --- straight to a printer, by email -----------------------------------------------
    def _fill_printers(self) -> None:
        """The print server's printers, asked in the background the first time."""
        menu = self.print_to_menu
        menu.clear()
        if self._printers is None:
            waiting = menu.addAction("Looking for printers…")
            waiting.setEnabled(False)
            desk = self._desk

            def found(printers: tuple[Printer, ...]) -> None:
                self._printers = printers
                if shiboken6.isValid(menu) and menu.isVisible():
                    self._fill_printers()

            def failed(error: BaseException) -> None:
                if shiboken6.isValid(menu):
                    menu.hide()
                self._runner.report(error)

            self._runner.run(lambda _p: desk.printers(), label="Looking for printers",
                             on_done=found, on_error=failed)
            return
        if not self._printers:
            none = menu.addAction("The print server has no printers")
            none.setEnabled(False)
        for printer in self._printers:
            action = menu.addAction(printer_label(printer), partial(self.print_to,
                                                                    printer.name))
            action.setEnabled(printer.accepting)
        menu.addSeparator()
        menu.addAction("Look for printers again", self._forget_printers)

    def _forget_printers(self) -> None:
        self._printers = None

    def print_to(self, printer: str) -> None:
        """Print the selected letters on a print-server queue, without the dialog."""
        chosen = self.selected()
        if not chosen:
            return
        desk = self._desk
        pairs = [(letter.ref, letter.serial) for letter in chosen]

        def run(progress: Progress) -> tuple[int, int]:
            recovered = 0
            for done, (ref, serial) in enumerate(pairs):
                progress.check()
                progress.set(done, len(pairs), f"letter {serial}")
                recovered += desk.print_letter(ref, serial, printer=printer).recovered
            return len(pairs) - recovered, recovered

        def done(counts: tuple[int, int]) -> None:
            sent, recovered = counts
            said = [f"Sent {sent} letter{'s' if sent != 1 else ''} to {printer}."] if sent else []
            if recovered:  # printed by a run cut short: found on the server, not sent again
                said.append(f"{recovered} letter{'s were' if recovered != 1 else ' was'} "
                            "already printed before an interruption: recorded, not sent "
                            "again (print once more for another copy).")
            self._say(" ".join(said))
            self._changed()
            self._printed(chosen)

        self._runner.run(run, label=f"Printing on {printer}", on_done=done,
                         on_error=lambda error: self._failed(error), cancellable=True,
                         on_cancelled=self._changed)

    def email_selected(self) -> None:
        """Ask, then email the letter (its PDF attached) to the requester."""
        letter = self._one()
        if letter is None:
            return
        desk, ref, serial = self._desk, letter.ref, letter.serial
        again = letter.emailed_at is not None

        kind = letter.kind

        def sent(emailed: EmailedLetter) -> None:
            self._emailed(emailed)
            self.went_out.emit(ref, kind, f"Letter {serial} was emailed to {emailed.to}.")

        def send() -> None:
            self._runner.run(lambda _p: desk.email_letter(ref, serial, again=again),
                             label=f"Emailing letter {serial}", on_done=sent,
                             on_error=self._failed)

        to = f" to {letter.emailed_to}" if again and letter.emailed_to else (
            " to the requester's email address")
        self.active_dialog = ask(
            self, f"Email letter {serial}",
            f"Send {letter.kind_label.lower()} {serial}{' again' if again else ''}{to}? "
            "The PDF is attached; replies come back to the case.",
            "Send again" if again else "Send email", send)

    def _emailed(self, emailed: EmailedLetter) -> None:
        self._say(f"Emailed letter {emailed.serial} to {emailed.to}.")
        self._changed()

    # --- mailed, returned ----------------------------------------------------------------
    def mark_mailed(self) -> None:
        letter = self._one()
        if letter is None:
            return
        today = self._desk.clock.today()
        issued_on = letter.issued_on  # the desk's local day, as the service checks it
        dialog = MarkMailedDialog(letter, today, issued_on, self)
        ref, serial = letter.ref, letter.serial

        def save(mailing: Mailing) -> None:
            self._save(dialog, f"Recording the mailing of {serial}", lambda: (
                self._desk.record_mailing(ref, serial, method=mailing.method,
                                          mailed_on=mailing.mailed_on,
                                          tracking_number=mailing.tracking_number)),
                       then=lambda view: self.went_out.emit(
                           ref, view.kind, f"Letter {serial} was mailed."))

        dialog.submitted.connect(save)
        self._open(dialog)

    def mark_returned(self) -> None:
        letter = self._one()
        if letter is None or letter.mailed_on is None:
            return
        dialog = ReturnedDialog(letter, self._desk.clock.today(), self)
        ref, serial = letter.ref, letter.serial

        def save(returned: Returned) -> None:
            self._save(dialog, f"Recording letter {serial} returned", lambda: (
                self._desk.record_returned(ref, serial, returned_on=returned.returned_on,
                                           note=returned.note)))

        dialog.submitted.connect(save)
        self._open(dialog)

    def _save(self, dialog: SavingDialog, label: str, change: Callable[[], LetterView],
              then: Callable[[LetterView], None] | None = None) -> None:
        def done(view: LetterView) -> None:
            if shiboken6.isValid(dialog):
                dialog.saved()
            self._changed()
            if then is not None:
                then(view)

        def failed(error: BaseException) -> None:
            inline = shiboken6.isValid(dialog) and dialog.save_failed(error)
            if not inline:
                self._runner.report(error)

        self._runner.run(lambda _p: change(), label=label, on_done=done, on_error=failed)

    def _changed(self) -> None:
        ref = self.ref
        if ref is not None:
            self.reload()
            self.changed.emit(ref)

    def _failed(self, error: BaseException) -> None:
        self._runner.report(error)
        self._changed()  # what went out before the failure is shown
