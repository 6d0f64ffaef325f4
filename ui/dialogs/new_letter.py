"""New letter: choose the kind, language and delivery, see the draft exactly as it would
be issued (rendered in the background, again a moment after each change), then Issue.

Every letter kind is listed. One the case is not ready for (a deletion confirmation
before the deletion ran, a letter to mail with no postal address…) says why in place of
the draft, in the desk's words, and cannot be issued. Issuing runs in the background too;
a refusal shows in the dialog and nothing chosen or typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from caseapp.errors import EnvironmentProblem, UserError
from caseapp.letters.kinds import LETTER_KINDS
from caseapp.services import Desk
from caseapp.services.dto import CaseDetail, NoticeView
from caseapp.services.letters import LetterRequest, RenderedLetter
from ui.formatting import LANGUAGE_LABELS
from ui.tasks import Progress, TaskRunner
from ui.widgets.pdf_preview import PdfPreview

NEEDS_TEXT = ("verification_request", "information_request")
NEEDS_NOTICE = ("downstream_notice",)
DELIVERY_LABELS = {"post": "Print and mail", "email": "Email", "file": "PDF only (no sending)"}
TYPING_DELAY_MS = 450
CHOICE_DELAY_MS = 30
ISSUE_KEYS = "Ctrl+Return"
PROBLEM_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #5f6b76;"


def default_delivery(detail: CaseDetail) -> str:
    """How a letter usually goes out on this case: as the request came in, when possible."""
    requester = detail.requester
    if detail.channel == "postal" and requester.postal_address.strip():
        return "post"
    if requester.email:
        return "email"
    if requester.postal_address.strip():
        return "post"
    return "file"


@dataclass(frozen=True)
class DraftState:
    request: LetterRequest
    letter: RenderedLetter | None
    problem: str


class NewLetterDialog(QDialog):
    issued = Signal(object)  # RenderedLetter, once stored with the case

    def __init__(self, desk: Desk, runner: TaskRunner, detail: CaseDetail,
                 parent: QWidget | None = None, *, kind: str = "") -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self.ref = detail.ref
        self.draft: DraftState | None = None
        self.issuing = False
        self._rendering = False
        self._dirty = False
        self.setWindowTitle(f"{detail.ref}: new letter")
        self.resize(1060, 760)

        self.kind = QComboBox()
        for name, info in LETTER_KINDS.items():
            self.kind.addItem(info.label, name)
        if kind:
            self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))
        self.language = QComboBox()
        case_language = LANGUAGE_LABELS.get(detail.language, detail.language)
        self.language.addItem(f"The case's ({case_language})", "")
        for code, label in LANGUAGE_LABELS.items():
            self.language.addItem(label, code)
        self.delivery = QComboBox()
        for name, label in DELIVERY_LABELS.items():
            self.delivery.addItem(label, name)
        self.delivery.setCurrentIndex(self.delivery.findData(default_delivery(detail)))
        self.needed = QPlainTextEdit()
        self.needed.setPlaceholderText("e.g. a copy of a recent bill showing your name and "
                                       "address")
        self.needed.setTabChangesFocus(True)
        self.needed.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.needed_label = QLabel("What we need")
        self.notice = QComboBox()
        self.notice.setPlaceholderText("Loading the case's notices…")
        self.notice_label = QLabel("Notice")
        form = QFormLayout()
        form.addRow("&Letter", self.kind)
        form.addRow("L&anguage", self.language)
        form.addRow("&Send by", self.delivery)
        form.addRow(self.needed_label, self.needed)
        form.addRow(self.notice_label, self.notice)
        self.needed_label.setBuddy(self.needed)
        self.notice_label.setBuddy(self.notice)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(PROBLEM_STYLE)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        hint = QLabel("The draft on the right is the letter exactly as it will be issued, "
                      "except for its serial number. Issuing stores it with the case.")
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.problem)
        left_layout.addStretch(1)
        left_layout.addWidget(hint)

        self.preview = PdfPreview(empty_text="The draft appears here.")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 680])
        splitter.setChildrenCollapsible(False)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.issue_button = QPushButton("&Issue letter")
        self.issue_button.setAutoDefault(False)
        self.issue_button.setDefault(False)
        self.issue_button.clicked.connect(self.issue)
        self.buttons.addButton(self.issue_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.issue_action = QAction("Issue", self)
        self.issue_action.setShortcut(QKeySequence(ISSUE_KEYS))
        self.issue_action.triggered.connect(lambda _checked=False: self.issue())
        self.addAction(self.issue_action)
        keys = self.issue_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.issue_button.setToolTip(f"Give the letter its serial number and store it with "
                                     f"the case ({keys})")
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._render)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.language.currentIndexChanged.connect(lambda _i: self.schedule(CHOICE_DELAY_MS))
        self.delivery.currentIndexChanged.connect(lambda _i: self.schedule(CHOICE_DELAY_MS))
        self.notice.currentIndexChanged.connect(lambda _i: self.schedule(CHOICE_DELAY_MS))
        self.needed.textChanged.connect(lambda: self.schedule(TYPING_DELAY_MS))
        self._show_fields()
        self._update_issue()
        self._load_notices()
        self.schedule(CHOICE_DELAY_MS)

    # --- what is asked -------------------------------------------------------------------
    def request(self) -> LetterRequest:
        kind = str(self.kind.currentData())
        notice = self.notice.currentData() if kind in NEEDS_NOTICE else None
        return LetterRequest(
            kind=kind, language=str(self.language.currentData()),
            delivery=str(self.delivery.currentData()),
            needed=self.needed.toPlainText().strip() if kind in NEEDS_TEXT else "",
            notice_id=notice if isinstance(notice, int) else None)

    def _kind_changed(self) -> None:
        self._show_fields()
        self.schedule(CHOICE_DELAY_MS)

    def _show_fields(self) -> None:
        kind = str(self.kind.currentData())
        self.needed_label.setVisible(kind in NEEDS_TEXT)
        self.needed.setVisible(kind in NEEDS_TEXT)
        self.notice_label.setVisible(kind in NEEDS_NOTICE)
        self.notice.setVisible(kind in NEEDS_NOTICE)
        if kind == "verification_request":
            self.needed_label.setText("What we need to verify")
        elif kind == "information_request":
            self.needed_label.setText("What we need to know")

    def _load_notices(self) -> None:
        desk, ref = self._desk, self.ref

        def loaded(notices: tuple[NoticeView, ...]) -> None:
            if not shiboken6.isValid(self):
                return
            self.notice.clear()
            for notice in notices:
                self.notice.addItem(f"{notice.recipient_name} — {notice.status_label}",
                                    notice.id)
            self.notice.setPlaceholderText("" if notices else "This case has no downstream "
                                           "notices.")
            if str(self.kind.currentData()) in NEEDS_NOTICE:
                self.schedule(CHOICE_DELAY_MS)

        self._runner.run(lambda _p: desk.notices(ref), label=f"Loading the notices of {ref}",
                         on_done=loaded, on_error=lambda _error: None)

    # --- the draft -----------------------------------------------------------------------
    def schedule(self, delay_ms: int) -> None:
        """Render the draft a moment from now (typing restarts the wait)."""
        self._timer.start(delay_ms)
        self._update_issue()

    def _render(self) -> None:
        if not self.isVisible():  # closed meanwhile: nobody to show it to
            self._timer.stop()
            return
        if self._rendering:  # one at a time: the latest wish is rendered next
            self._dirty = True
            return
        request = self.request()
        self._rendering = True
        self.preview.set_note("Rendering the draft…")
        desk, ref = self._desk, self.ref

        def run(_progress: Progress) -> RenderedLetter:
            return desk.draft_letter(ref, request)

        def finished() -> bool:
            """True when this result is still wanted."""
            self._rendering = False
            if not shiboken6.isValid(self):
                return False
            if self._dirty:
                self._dirty = False
                self._render()
                return False
            return request == self.request()

        def done(letter: RenderedLetter) -> None:
            if finished():
                self._show_draft(DraftState(request, letter, ""))

        def failed(error: BaseException) -> None:
            if not finished():
                return
            if isinstance(error, UserError) and not isinstance(error, EnvironmentProblem):
                self._show_draft(DraftState(request, None, error.message))
            else:
                self.preview.set_note("")
                self._runner.report(error)

        self._runner.run(run, label=f"Drafting a letter for {ref}", on_done=done,
                         on_error=failed)

    def _show_draft(self, state: DraftState) -> None:
        self.draft = state
        letter = state.letter
        if letter is None:
            self.preview.show_empty(f"This letter cannot be issued now.\n\n{state.problem}",
                                    problem=True)
            self.summary.setText("")
            self.problem.setText(state.problem)
            self.problem.show()
        else:
            self.problem.hide()
            self.preview.set_pdf(letter.pdf, f"Draft: {letter.title}")
            to = ", ".join(letter.recipient) if state.request.delivery != "email" else (
                letter.email)
            self.summary.setText(f"To: {to or '—'}\nSubject: {letter.subject}")
        self._update_issue()

    def current_draft(self) -> RenderedLetter | None:
        """The draft shown, if it is of what is chosen now."""
        state = self.draft
        if state is None or state.letter is None or state.request != self.request():
            return None
        return state.letter

    def _update_issue(self) -> None:
        ready = (not self.issuing and not self._timer.isActive() and not self._rendering
                 and self.current_draft() is not None)
        self.issue_button.setEnabled(ready)
        self.issue_action.setEnabled(ready)

    # --- issuing -------------------------------------------------------------------------
    def issue(self) -> None:
        if self.issuing or self.current_draft() is None:
            return
        request = self.request()
        desk, ref = self._desk, self.ref
        self.issuing = True
        self.issue_button.setText("Issuing…")
        self._update_issue()
        for widget in (self.kind, self.language, self.delivery, self.needed, self.notice):
            widget.setEnabled(False)

        def unlock() -> None:
            self.issuing = False
            self.issue_button.setText("&Issue letter")
            for widget in (self.kind, self.language, self.delivery, self.needed,
                           self.notice):
                widget.setEnabled(True)
            self._update_issue()

        def done(letter: RenderedLetter) -> None:
            if not shiboken6.isValid(self):
                return
            self.issued.emit(letter)
            unlock()
            self.accept()

        def failed(error: BaseException) -> None:
            if not shiboken6.isValid(self):
                self._runner.report(error)
                return
            unlock()
            if isinstance(error, UserError) and not isinstance(error, EnvironmentProblem):
                self.problem.setText(f"Not issued: {error.message}")
                self.problem.show()
            else:
                self._runner.report(error)

        self._runner.run(lambda _p: desk.issue_letter(ref, request),
                         label=f"Issuing a letter for {ref}", on_done=done, on_error=failed)

    def reject(self) -> None:
        if self.issuing:  # the letter may be stored already: wait for the answer
            return
        super().reject()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
