"""Change what an existing case asks for: request types, jurisdiction, received date,
priority, summary, language. Due dates are recomputed by the service."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from caseapp.services.cases import EditConflict
from caseapp.services.dto import CaseDetail
from caseapp.workflow.jurisdictions import Jurisdictions
from ui.dialogs.merge_edit import MergeEditDialog, field_merges, open_merge
from ui.dialogs.saving import SavingDialog
from ui.formatting import date_text, types_text
from ui.widgets.request_form import HINT_STYLE, RequestForm

FIELD_LABELS = {
    "request_types": "Request types",
    "jurisdiction": "Jurisdiction",
    "received_on": "Received on",
    "priority": "Priority",
    "summary": "Summary",
    "language": "Language",
}
LANGUAGES = {"en": "English", "es": "Spanish"}


@dataclass(frozen=True)
class RequestChange:
    """What the user changed; None = left as it was (the keywords of Desk.update_case)."""

    request_types: tuple[str, ...] | None = None
    jurisdiction: str | None = None
    received_on: date | None = None
    priority: str | None = None
    summary: str | None = None
    language: str | None = None
    base_version: int | None = None
    """The case's version the values were edited from (an older one makes it stale)."""

    def is_empty(self) -> bool:
        return replace(self, base_version=None) == RequestChange()

    def changed(self) -> dict[str, object]:
        """The fields changed (the merge's "yours")."""
        return {item.name: getattr(self, item.name) for item in fields(self)
                if item.name in FIELD_LABELS and getattr(self, item.name) is not None}


def values_of(detail: CaseDetail) -> dict[str, object]:
    """The editable request fields of a case, as RequestChange names them."""
    return {"request_types": tuple(detail.request_types), "jurisdiction": detail.jurisdiction,
            "received_on": detail.deadlines.received_on, "priority": detail.priority,
            "summary": detail.summary.strip(), "language": detail.language}


class EditRequestDialog(SavingDialog):
    """Emits ``submitted`` with a RequestChange and stays open, saving, until ``saved()``
    or ``save_failed()``; closes at once when nothing was changed."""

    submitted = Signal(object)  # RequestChange

    def __init__(self, detail: CaseDetail, jurisdictions: Jurisdictions, today: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, ok=QDialogButtonBox.StandardButton.Save)
        self.detail = detail
        self.jurisdictions = jurisdictions
        self.submitted_change: RequestChange | None = None
        self.merge_dialog: MergeEditDialog | None = None
        self.setWindowTitle(f"{detail.ref}: edit the request")
        self.setMinimumWidth(560)
        intro = QLabel("Due dates are recomputed from what is saved here. Changes are "
                       "recorded in the case history.")
        intro.setWordWrap(True)
        intro.setStyleSheet(HINT_STYLE)
        self.request = RequestForm(jurisdictions, today, automatic_priority=False)
        self.request.set_case(detail)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.request)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def change(self) -> RequestChange:
        """Only what differs from the case as it was shown when the dialog opened (so a
        field someone else changed meanwhile is not written back)."""
        detail, form = self.detail, self.request
        types = form.request_types()
        # "From the requester's state" stands for the jurisdiction derived from it now.
        jurisdiction = form.jurisdiction_code() or form.derived_jurisdiction()
        received = form.received_date()
        priority = form.priority_name()
        summary = form.summary_text()
        language = form.language_code()
        return RequestChange(
            request_types=types if set(types) != set(detail.request_types) else None,
            jurisdiction=jurisdiction if jurisdiction != detail.jurisdiction else None,
            received_on=received if received != detail.deadlines.received_on else None,
            priority=priority if priority != detail.priority else None,
            summary=summary if summary != detail.summary.strip() else None,
            language=language if language != detail.language else None,
            base_version=detail.version,
        )

    def submit(self) -> None:
        problems = self.request.problems()
        if problems:
            self.show_problems(problems)
            return
        change = self.change()
        if change.is_empty():
            self.accept()
            return
        self.set_saving(True)
        self.submitted_change = change
        self.submitted.emit(change)

    def save_failed(self, error: BaseException) -> bool:
        """Someone else saved the case meanwhile: show theirs beside yours and let the
        user keep theirs or apply theirs-plus-mine (caseapp.services.cases.EditConflict)."""
        mine = self.submitted_change
        if not isinstance(error, EditConflict) or mine is None:
            return super().save_failed(error)
        self.set_saving(False)
        rows = field_merges(values_of(self.detail), values_of(error.current), mine.changed(),
                            FIELD_LABELS)
        self.merge_dialog = open_merge(
            self, error, rows, FIELD_LABELS, self._describe,
            lambda chosen: self._apply_on_top(error.current, chosen),
            lambda: self._keep_theirs(error.current))
        return True

    def _describe(self, name: str, value: object) -> str:
        if name == "request_types" and isinstance(value, tuple):
            return types_text(value)
        if name == "jurisdiction" and isinstance(value, str):
            return self.jurisdictions.name(value)
        if name == "received_on" and isinstance(value, date):
            return date_text(value)
        if name == "language" and isinstance(value, str):
            return LANGUAGES.get(value, value)
        return str(value)

    def _apply_on_top(self, current: CaseDetail, chosen: dict[str, object]) -> None:
        """Save the ticked fields of yours on the version saved meanwhile."""
        self.detail = current
        self.request.set_case(current)
        change = RequestChange(base_version=current.version, **chosen)  # type: ignore[arg-type]
        if change.is_empty():
            self.accept()
            return
        self.set_saving(True)
        self.submitted_change = change
        self.submitted.emit(change)

    def _keep_theirs(self, current: CaseDetail) -> None:
        self.detail = current
        self.submitted_change = None
        self.accept()  # nothing of yours is saved; the case page shows theirs
