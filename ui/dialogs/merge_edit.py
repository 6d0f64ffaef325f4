"""Someone else saved the case while you were editing its request: what they changed,
field by field, beside what you changed, and which of yours to apply on top.

Nothing is overwritten silently: "Keep theirs" drops your edit; "Apply mine on top"
saves only the fields ticked, on the new version. A field only you changed is ticked;
a field you both changed (to different values) is not, until you choose yours.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import CaseDetail
from caseapp.workflow.jurisdictions import Jurisdictions
from ui.formatting import date_text, types_text

FIELD_LABELS = {
    "request_types": "Request types",
    "jurisdiction": "Jurisdiction",
    "received_on": "Received on",
    "priority": "Priority",
    "summary": "Summary",
    "language": "Language",
}
LANGUAGES = {"en": "English", "es": "Spanish"}
ELIDE = 60


def values_of(detail: CaseDetail) -> dict[str, object]:
    """The editable request fields of a case, as the edit dialog's change names them."""
    return {"request_types": tuple(detail.request_types), "jurisdiction": detail.jurisdiction,
            "received_on": detail.deadlines.received_on, "priority": detail.priority,
            "summary": detail.summary.strip(), "language": detail.language}


def same(name: str, first: object, second: object) -> bool:
    if name == "request_types" and isinstance(first, tuple) and isinstance(second, tuple):
        return set(first) == set(second)
    return first == second


@dataclass(frozen=True)
class FieldMerge:
    name: str
    before: object
    theirs: object
    mine: object | None  # None: not changed by you

    @property
    def they_changed(self) -> bool:
        return not same(self.name, self.before, self.theirs)

    @property
    def conflict(self) -> bool:
        return (self.mine is not None and self.they_changed
                and not same(self.name, self.mine, self.theirs))


def field_merges(base: CaseDetail, theirs: CaseDetail, mine: object) -> list[FieldMerge]:
    """Every field that either side changed (``mine``: the edit dialog's RequestChange)."""
    before, now = values_of(base), values_of(theirs)
    rows = []
    for item in fields(mine):  # type: ignore[arg-type]
        if item.name not in FIELD_LABELS:
            continue
        value = getattr(mine, item.name)
        merge = FieldMerge(item.name, before[item.name], now[item.name], value)
        if merge.they_changed or (value is not None and not same(item.name, value,
                                                                  now[item.name])):
            rows.append(merge)
    return rows


class MergeEditDialog(QDialog):
    """Accepted: apply :meth:`chosen` (field → your value) on the new version; rejected:
    keep theirs (your edit is dropped)."""

    def __init__(self, base: CaseDetail, theirs: CaseDetail, mine: object, who: str,
                 jurisdictions: Jurisdictions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{theirs.ref}: changed by {who} while you were editing")
        self.setMinimumWidth(640)
        self._jurisdictions = jurisdictions
        self.rows = field_merges(base, theirs, mine)
        self.checks: dict[str, QCheckBox] = {}
        intro = QLabel(f"{who} saved {theirs.ref} while you were editing it. Nothing of "
                       "yours was saved yet, and nothing of theirs will be overwritten "
                       "unless you tick it below.")
        intro.setWordWrap(True)
        grid = QGridLayout()
        for column, title in enumerate(("", "Before", f"Now ({who})", "Yours")):
            header = QLabel(title)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            grid.addWidget(header, 0, column)
        for row, merge in enumerate(self.rows, start=1):
            grid.addWidget(QLabel(FIELD_LABELS[merge.name]), row, 0)
            grid.addWidget(self._value(merge.name, merge.before), row, 1)
            theirs_label = self._value(merge.name, merge.theirs)
            if merge.they_changed:
                theirs_label.setStyleSheet("font-weight: bold; color: #8a3b00;")
            grid.addWidget(theirs_label, row, 2)
            if merge.mine is None:
                grid.addWidget(QLabel("(not changed)"), row, 3)
                continue
            grid.addWidget(self._value(merge.name, merge.mine), row, 3)
            check = QCheckBox("Apply mine")
            check.setChecked(not merge.conflict)
            check.setToolTip("Both of you changed this: tick to put yours over theirs"
                             if merge.conflict else "Only you changed this")
            self.checks[merge.name] = check
            grid.addWidget(check, row, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(3, 1)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("Apply mine on top",
                                              QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep_button = buttons.addButton("Keep theirs",
                                             QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self._sync()
        for check in self.checks.values():
            check.toggled.connect(self._sync)

    def _sync(self) -> None:
        self.apply_button.setEnabled(any(c.isChecked() for c in self.checks.values()))

    def _value(self, name: str, value: object) -> QLabel:
        text = self._text(name, value)
        label = QLabel(text if len(text) <= ELIDE else text[:ELIDE - 1] + "…")
        label.setTextFormat(Qt.TextFormat.PlainText)  # what people typed: never markup
        label.setWordWrap(True)
        if len(text) > ELIDE:
            label.setToolTip(text)
        return label

    def _text(self, name: str, value: object) -> str:
        if value is None:
            return "—"
        if name == "request_types" and isinstance(value, tuple):
            return types_text(value)
        if name == "jurisdiction" and isinstance(value, str):
            return self._jurisdictions.name(value)
        if name == "received_on" and isinstance(value, date):
            return date_text(value)
        if name == "language" and isinstance(value, str):
            return LANGUAGES.get(value, value)
        return str(value) or "(empty)"

    def chosen(self) -> dict[str, object]:
        """Your values for the fields ticked."""
        return {merge.name: merge.mine for merge in self.rows
                if merge.name in self.checks and self.checks[merge.name].isChecked()}
