"""Someone else saved the case while you were editing part of it (its request, its
requester, its data subject): what they changed, field by field, beside what you
changed, and which of yours to apply on top.

Nothing is overwritten silently: "Keep theirs" drops your edit; "Apply mine on top"
saves only the fields ticked, on the new version. A field only you changed is ticked;
a field you both changed (to different values) is not, until you choose yours.

The dialog knows no fields of its own: each edit dialog gives the values before, now
and yours (:func:`field_merges`), its field labels and how a value reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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

from caseapp.services.cases import EditConflict

ELIDE = 60

#: How a field's value reads for people (field name, value → text); None and "" are
#: shown as "—" and "(empty)" before it is asked.
Describe = Callable[[str, object], str]


def same(first: object, second: object) -> bool:
    """Equal values; a tuple of choices (request types) compares as a set."""
    if isinstance(first, tuple) and isinstance(second, tuple):
        return set(first) == set(second)
    return first == second


@dataclass(frozen=True)
class FieldMerge:
    name: str
    before: object
    theirs: object
    mine: object | None  # None when not changed by you (see ``changed_by_me``)
    changed_by_me: bool = True
    """Whether you changed it: ``mine`` alone cannot say, None being a value too (an
    unknown age)."""

    @property
    def they_changed(self) -> bool:
        return not same(self.before, self.theirs)

    @property
    def conflict(self) -> bool:
        return self.changed_by_me and self.they_changed and not same(self.mine, self.theirs)


def field_merges(before: Mapping[str, object], theirs: Mapping[str, object],
                 mine: Mapping[str, object], order: Mapping[str, str]) -> list[FieldMerge]:
    """Every field (in the order of ``order``'s keys) that either side changed.

    ``before`` and ``theirs`` hold every field; ``mine`` only the ones you changed."""
    rows = []
    for name in order:
        changed = name in mine
        merge = FieldMerge(name, before[name], theirs[name], mine.get(name),
                           changed_by_me=changed)
        if merge.they_changed or (changed and not same(mine[name], theirs[name])):
            rows.append(merge)
    return rows


class MergeEditDialog(QDialog):
    """Accepted: apply :meth:`chosen` (field → your value) on the new version; rejected:
    keep theirs (your edit is dropped)."""

    def __init__(self, ref: str, who: str, rows: list[FieldMerge], labels: Mapping[str, str],
                 describe: Describe, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{ref}: changed by {who} while you were editing")
        self.setMinimumWidth(640)
        self._describe = describe
        self.rows = rows
        self.checks: dict[str, QCheckBox] = {}
        intro = QLabel(f"{who} saved {ref} while you were editing it. Nothing of "
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
            grid.addWidget(QLabel(labels[merge.name]), row, 0)
            grid.addWidget(self._value(merge.name, merge.before), row, 1)
            theirs_label = self._value(merge.name, merge.theirs)
            if merge.they_changed:
                theirs_label.setStyleSheet("font-weight: bold; color: #8a3b00;")
            grid.addWidget(theirs_label, row, 2)
            if not merge.changed_by_me:
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
        text = ("—" if value is None else "(empty)" if value == "" else
                self._describe(name, value))
        label = QLabel(text if len(text) <= ELIDE else text[:ELIDE - 1] + "…")
        label.setTextFormat(Qt.TextFormat.PlainText)  # what people typed: never markup
        label.setWordWrap(True)
        if len(text) > ELIDE:
            label.setToolTip(text)
        return label

    def chosen(self) -> dict[str, object]:
        """Your values for the fields ticked."""
        return {merge.name: merge.mine for merge in self.rows
                if merge.name in self.checks and self.checks[merge.name].isChecked()}


def open_merge(parent: QWidget, conflict: EditConflict, rows: list[FieldMerge],
               labels: Mapping[str, str], describe: Describe,
               apply_mine: Callable[[dict[str, object]], None],
               keep_theirs: Callable[[], None]) -> MergeEditDialog:
    """Open the merge over ``parent``, an edit dialog whose save met ``conflict``; it
    closes itself and calls one of the two."""
    dialog = MergeEditDialog(conflict.current.ref, conflict.who, rows, labels, describe,
                             parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: apply_mine(dialog.chosen()))
    dialog.rejected.connect(keep_theirs)
    dialog.open()
    return dialog
