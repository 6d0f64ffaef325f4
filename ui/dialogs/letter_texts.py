"""Settings → Letter texts: every letter kind in English and Spanish, its text in a plain
editor, and the sample letter it makes, rendered in the background a moment after each
change.

A text that cannot make a letter (a TOML or template syntax error, an unknown
placeholder) shows what is wrong under the editor, its line highlighted; it cannot be
saved (the desk refuses it too). Save (Ctrl+S) keeps the administrator's text in the
settings folder, used by every letter from then on; Revert goes back to the shipped
text. Only an administrator changes texts; others can read them and see the samples.
Unsaved changes are never dropped without asking.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFontDatabase,
    QHideEvent,
    QKeySequence,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import EnvironmentProblem, UserError
from caseapp.letters.templates import TemplateProblem
from caseapp.services import Desk
from caseapp.services.letter_templates import TemplateInfo
from caseapp.services.letters import RenderedLetter
from ui.dialogs.confirm import ask
from ui.formatting import LANGUAGE_LABELS
from ui.models.letters import LetterTemplatesModel
from ui.tasks import Progress, TaskRunner
from ui.widgets.pdf_preview import PdfPreview
from ui.widgets.rows_table import RowsTable

TYPING_DELAY_MS = 500
PROBLEM_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #5f6b76;"
PROBLEM_LINE = QColor("#fde7e9")
ADMIN_ONLY = "Only an administrator can change letter texts."


def _key(info: TemplateInfo) -> tuple[str, str]:
    return info.kind, info.language


@dataclass(frozen=True)
class Shown:
    """The text being edited: whose it is and what it was when loaded or saved."""

    info: TemplateInfo
    saved_text: str


class LetterTextsDialog(QDialog):
    saved = Signal(object)  # TemplateInfo, after a save or a revert

    def __init__(self, desk: Desk, runner: TaskRunner, is_admin: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.is_admin = is_admin
        self.shown: Shown | None = None
        self.renders: str | None = None  # the last text that made a letter
        self.problem: TemplateProblem | None = None
        self.problem_at: int | None = None
        self.sample: RenderedLetter | None = None
        self.saving = False
        self._rendering = False
        self._dirty = False
        self._save_after_preview = False
        self._closing = False
        self.active_dialog: QWidget | None = None
        self.setWindowTitle("Letter texts")
        self.resize(1440, 860)

        self.model = LetterTemplatesModel(self)
        self.table: RowsTable[TemplateInfo] = RowsTable(
            self.model, widths={LetterTemplatesModel.COL_KIND: 190,
                                LetterTemplatesModel.COL_LANGUAGE: 64})
        self.table.setSortingEnabled(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.selectionModel().selectionChanged.connect(self._chosen)

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)  # our markup, values escaped
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setTabChangesFocus(False)
        self.editor.setReadOnly(True)
        self.editor.textChanged.connect(self._edited)
        self.editor.cursorPositionChanged.connect(self._show_position)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(PROBLEM_STYLE)
        self.problem_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.go_button = QPushButton("Go to the line")
        self.go_button.setAutoDefault(False)
        self.go_button.clicked.connect(self.go_to_problem)
        problem_row = QHBoxLayout()
        problem_row.addWidget(self.problem_label, 1)
        problem_row.addWidget(self.go_button, 0, Qt.AlignmentFlag.AlignTop)
        self.position = QLabel()
        self.position.setStyleSheet(HINT_STYLE)
        help_text = QLabel("Placeholders such as {{ case.ref }} and the block language "
                           "(# heading, - bullet, | table |) are described in "
                           "resources/letters/README.md.")
        help_text.setWordWrap(True)
        help_text.setStyleSheet(HINT_STYLE)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.heading)
        middle_layout.addWidget(self.editor, 1)
        middle_layout.addLayout(problem_row)
        bottom_row = QHBoxLayout()
        bottom_row.addWidget(help_text, 1)
        bottom_row.addWidget(self.position, 0, Qt.AlignmentFlag.AlignTop)
        middle_layout.addLayout(bottom_row)

        self.preview = PdfPreview(empty_text="The sample letter appears here.")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(middle)
        splitter.addWidget(self.preview)
        splitter.setSizes([345, 565, 530])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = QPushButton("&Save")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("&Revert to shipped…")
        self.revert_button.setAutoDefault(False)
        self.revert_button.clicked.connect(self.ask_revert)
        for button in (self.save_button, self.revert_button):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.save_action = QAction("Save", self)
        self.save_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.save_action.triggered.connect(lambda _checked=False: self.save())
        self.addAction(self.save_action)
        self.status = QLabel("" if is_admin else ADMIN_ONLY)
        self.status.setWordWrap(True)
        self.status.setStyleSheet(HINT_STYLE)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_DELAY_MS)
        self._timer.timeout.connect(self._render)
        self._show_problem(None)
        self._update_buttons()
        self.reload_list()

    # --- the list ------------------------------------------------------------------------
    def reload_list(self, select: tuple[str, str] | None = None) -> None:
        desk = self._desk

        def listed(infos: list[TemplateInfo]) -> None:
            if not shiboken6.isValid(self):
                return
            wanted = select or (_key(self.shown.info) if self.shown else None)
            self.model.set_rows(tuple(infos))
            if wanted is None and infos:
                wanted = _key(infos[0])
            if wanted is not None:
                self._select(wanted)

        self._runner.run(lambda _p: desk.list_letter_templates(),
                         label="Listing the letter texts", on_done=listed)

    def _select(self, key: tuple[str, str]) -> None:
        self.table.select_where(lambda info: _key(info) == key)

    def _chosen(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        info = self.table.current_row()
        if info is None:
            return
        shown = self.shown
        if shown is not None and _key(shown.info) == _key(info):
            self.shown = Shown(info, shown.saved_text)  # edited mark may have changed
            self._update_heading()
            return
        if self.modified() and shown is not None:
            self.table.selectionModel().blockSignals(True)
            self._select(_key(shown.info))
            self.table.selectionModel().blockSignals(False)
            self.active_dialog = ask(
                self, "Unsaved changes",
                f"Your changes to {shown.info.label} ({shown.info.language}) are not saved. "
                "Discard them?", "Discard changes", lambda: self.load(info), warning=True)
            return
        self.load(info)

    def choose(self, kind: str, language: str) -> None:
        """Select one text (as a click in the list would)."""
        self._select((kind, language))

    def load(self, info: TemplateInfo) -> None:
        desk = self._desk
        kind, language = info.kind, info.language
        selection = self.table.selectionModel()
        selection.blockSignals(True)  # chosen already: no second question
        self._select(_key(info))
        selection.blockSignals(False)
        self.table.viewport().update()

        def loaded(text: str) -> None:
            if not shiboken6.isValid(self):
                return
            self.shown = Shown(info, text)
            self.editor.blockSignals(True)
            self.editor.setPlainText(text)
            self.editor.blockSignals(False)
            self.editor.setReadOnly(not self.is_admin)
            self.editor.document().setModified(False)
            self.renders = None
            self._show_problem(None)
            self._update_heading()
            self._update_buttons()
            self._render()

        self._runner.run(lambda _p: desk.letter_template_text(kind, language),
                         label=f"Reading the letter text {language}/{kind}", on_done=loaded)

    def _update_heading(self) -> None:
        shown = self.shown
        if shown is None:
            self.heading.setText("")
            return
        info = shown.info
        where = (f"Edited text, used instead of the shipped one ({info.where})" if info.edited
                 else "The text shipped with caseapp")
        language = LANGUAGE_LABELS.get(info.language, info.language)
        self.heading.setText(f"<b>{html.escape(info.label)}</b> · {html.escape(language)} · "
                             f"{html.escape(where)}")

    # --- editing and the sample ----------------------------------------------------------
    def text(self) -> str:
        return self.editor.toPlainText()

    def modified(self) -> bool:
        return self.shown is not None and self.text() != self.shown.saved_text

    def _edited(self) -> None:
        self._timer.start()
        self._update_buttons()

    def _show_position(self) -> None:
        cursor = self.editor.textCursor()
        self.position.setText(f"Line {cursor.blockNumber() + 1}, "
                              f"column {cursor.positionInBlock() + 1}")

    def _render(self) -> None:
        if not self.isVisible():  # closed meanwhile: nobody to show it to
            self._timer.stop()
            return
        shown = self.shown
        if shown is None:
            return
        if self._rendering:
            self._dirty = True
            return
        self._timer.stop()
        text = self.text()
        kind, language = shown.info.kind, shown.info.language
        desk = self._desk
        self._rendering = True
        self.preview.set_note("Rendering the sample letter…")

        def run(_progress: Progress) -> RenderedLetter:
            return desk.preview_letter_template(kind, language, text)

        def wanted() -> bool:
            self._rendering = False
            if not shiboken6.isValid(self):
                return False
            current = self.shown
            if current is None or (current.info.kind, current.info.language) != (kind,
                                                                                  language):
                self._dirty = False
                return False
            if self._dirty or text != self.text():
                self._dirty = False
                self._render()
                return False
            return True

        def done(letter: RenderedLetter) -> None:
            if not wanted():
                return
            self.renders = text
            self.sample = letter
            self._show_problem(None)
            self.preview.set_pdf(letter.pdf, "Sample letter (made-up values)")
            self._update_buttons()
            if self._save_after_preview:
                self._save_after_preview = False
                self.save()

        def failed(error: BaseException) -> None:
            if not wanted():
                return
            self._save_after_preview = False
            if isinstance(error, TemplateProblem):
                self.renders = None
                self._show_problem(error)
                self.preview.set_note("This text cannot make a letter: the sample shows "
                                      "the last text that could.", problem=True)
                self._update_buttons()
            else:
                self.preview.set_note("")
                self._runner.report(error)

        self._runner.run(run, label="Rendering the sample letter", on_done=done,
                         on_error=failed)

    def _show_problem(self, problem: TemplateProblem | None) -> None:
        self.problem = problem
        self.problem_at = problem.line if problem else None
        if problem is None:
            self.problem_label.setText("")
            self.problem_label.hide()
            self.go_button.hide()
            self.editor.setExtraSelections([])
            return
        message = problem.message
        if message.startswith("edited"):  # the desk names the source; here it is plain
            message = message.removeprefix("edited").lstrip(":, ")
        where = f"Line {self.problem_at}: " if self.problem_at else ""
        self.problem_label.setText(f"{where}{message}")
        self.problem_label.show()
        self.go_button.setVisible(self.problem_at is not None)
        self._highlight(self.problem_at)

    def _highlight(self, line: int | None) -> None:
        if line is None:
            self.editor.setExtraSelections([])
            return
        block = self.editor.document().findBlockByNumber(line - 1)
        if not block.isValid():
            self.editor.setExtraSelections([])
            return
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(PROBLEM_LINE)
        selection.format.setProperty(
            QTextFormat.Property.FullWidthSelection, True)
        cursor = QTextCursor(block)
        selection.cursor = cursor
        self.editor.setExtraSelections([selection])

    def go_to_problem(self) -> None:
        """The cursor to the start of the problem's line, the editor focused."""
        line = self.problem_at
        if line is None:
            return
        block = self.editor.document().findBlockByNumber(line - 1)
        if block.isValid():
            cursor = QTextCursor(block)
            self.editor.setTextCursor(cursor)
            self.editor.centerCursor()
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- saving --------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        shown = self.shown
        can_change = self.is_admin and shown is not None and not self.saving
        renders = self.renders is not None and self.renders == self.text()
        self.save_button.setEnabled(can_change and self.modified() and renders)
        self.save_button.setToolTip(
            ADMIN_ONLY if not self.is_admin else
            "Save the text: every letter of this kind and language uses it from now on "
            "(Ctrl+S)" if renders or not self.modified() else
            "The text is saved once it makes a letter: fix what is shown under the editor")
        self.revert_button.setEnabled(can_change and shown is not None and (
            shown.info.edited or self.modified()))
        self.revert_button.setToolTip(ADMIN_ONLY if not self.is_admin else
                                      "Go back to the text shipped with caseapp")

    def save(self) -> None:
        """Ctrl+S: saved if the text makes a letter; otherwise the problem is shown."""
        shown = self.shown
        if shown is None or self.saving:
            return
        if not self.is_admin:
            self.status.setText(ADMIN_ONLY)
            return
        if not self.modified():
            self.status.setText("Nothing to save: the text is as it was saved.")
            return
        text = self.text()
        if self.renders != text:
            if self.problem is not None and not self._timer.isActive() and (
                    not self._rendering):
                self.status.setText("Not saved: the text cannot make a letter. Fix the "
                                    "problem shown under the editor.")
                self.go_to_problem()
                return
            self._save_after_preview = True  # saved as soon as the sample is made
            self._render()
            return
        info = shown.info
        desk = self._desk
        self.saving = True
        self._update_buttons()
        self.status.setText("Saving…")

        def done(saved: TemplateInfo) -> None:
            if not shiboken6.isValid(self):
                return
            self.saving = False
            self.shown = Shown(saved, text)
            self.editor.document().setModified(False)
            self.status.setText("Saved. Letters of this kind in this language use the new "
                                "text from now on, on every workstation of the desk.")
            self._update_heading()
            self._update_buttons()
            self.reload_list()
            self.saved.emit(saved)

        def failed(error: BaseException) -> None:
            if not shiboken6.isValid(self):
                self._runner.report(error)
                return
            self.saving = False
            self._update_buttons()
            if isinstance(error, TemplateProblem):
                self._show_problem(error)
                self.status.setText("Not saved: the text cannot make a letter.")
                self.go_to_problem()
            elif isinstance(error, UserError) and not isinstance(error, EnvironmentProblem):
                self.status.setText(f"Not saved: {error.message}")
            else:
                self.status.setText("Not saved.")
                self._runner.report(error)

        self._runner.run(lambda _p: desk.save_letter_template(info.kind, info.language, text),
                         label=f"Saving the letter text {info.language}/{info.kind}",
                         on_done=done, on_error=failed)

    def ask_revert(self) -> None:
        shown = self.shown
        if shown is None or not self.revert_button.isEnabled():
            return
        info = shown.info
        self.active_dialog = ask(
            self, "Revert to the shipped text",
            f"Go back to the text of {info.label} ({info.language}) shipped with caseapp? "
            + ("The edited text is no longer used on any workstation (its hash stays in "
               "the audit trail)." if info.edited else "Your unsaved changes are discarded."),
            "Revert", self.revert, warning=True)

    def revert(self) -> None:
        shown = self.shown
        if shown is None or not self.is_admin:
            return
        info = shown.info
        desk = self._desk
        self.saving = True
        self._update_buttons()

        def done(reverted: TemplateInfo) -> None:
            if not shiboken6.isValid(self):
                return
            self.saving = False
            self.shown = None  # nothing to keep: load the shipped text
            self.status.setText(f"Back to the shipped text of {info.label} "
                                f"({info.language}).")
            self.load(reverted)
            self.reload_list(select=_key(reverted))
            self.saved.emit(reverted)

        def failed(error: BaseException) -> None:
            if shiboken6.isValid(self):
                self.saving = False
                self._update_buttons()
                if isinstance(error, UserError) and not isinstance(error,
                                                                   EnvironmentProblem):
                    self.status.setText(f"Not reverted: {error.message}")
                    return
            self._runner.report(error)

        self._runner.run(lambda _p: desk.revert_letter_template(info.kind, info.language),
                         label=f"Reverting the letter text {info.language}/{info.kind}",
                         on_done=done, on_error=failed)

    # --- closing -------------------------------------------------------------------------
    def reject(self) -> None:
        if self.saving:
            return
        if self.modified() and not self._closing:
            shown = self.shown
            assert shown is not None

            def discard() -> None:
                self._closing = True
                self.reject()

            self.active_dialog = ask(
                self, "Unsaved changes",
                f"Your changes to {shown.info.label} ({shown.info.language}) are not "
                "saved. Close and discard them?", "Discard changes", discard, warning=True)
            return
        super().reject()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
