"""The search page's filters: every field of a SearchQuery but the text and the page.

Three rows of narrow combos and a row of check boxes (the results page is no wider than
the case list it stands in for):

    status       request      channel      jurisdiction
    received     due          waiting on   assignee
    [from  –  to]                      (only for "Custom range…")
    ☐ Mine ☐ Child ☐ Overdue    Clear filters   (+ the page's buttons)

The received date is a combo of presets (any time, today, the last 7 or 30 days, this
year, last year) or a custom range of two date edits, either end of which may be left
at "any". ``changed`` says the user changed a filter; ``show_query`` sets every control
from a query without saying so; ``fill`` puts the controls' values into a query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from typing import Final

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import UserView
from caseapp.services.search import RECEIVED_PERIODS, SearchQuery
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES
from caseapp.workflow.jurisdictions import DEFAULT_CODE, Jurisdictions
from caseapp.workflow.rules import Workflow
from ui.formatting import channel_text, types_text
from ui.widgets.request_form import jurisdiction_text, pydate, qdate

ANY_DATE: Final = QDate(2000, 1, 1)
"""A date edit at this date means "no limit" (shown as ANY_DATE_TEXT)."""
ANY_DATE_TEXT: Final = "any date"
DATE_DELAY_MS: Final = 300  # typing a date changes it digit by digit: search once it rests
CUSTOM: Final = "custom"

Range = tuple[date | None, date | None]


RECEIVED_PRESETS: Final[tuple[tuple[str, str], ...]] = (
    ("today", "Received today"),
    ("7_days", "Received in the last 7 days"),
    ("30_days", "Received in the last 30 days"),
    ("this_year", "Received this year"),
    ("last_year", "Received last year"),
)
"""The service's periods (caseapp.services.search.RECEIVED_PERIODS), which move with the
day: a saved "last 7 days" is the last 7 days whenever it runs."""
DUE_CHOICES: Final = (("today", "Due today"), ("week", "Due within 7 days"))
WAITING_CHOICES: Final = (("verification", "Waiting on verification"),
                          ("downstream", "Waiting on downstream answers"))


def _combo(any_text: str, items: Iterable[tuple[str, str]], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItem(any_text, "")
    for value, label in items:
        combo.addItem(label, value)
    # Narrow enough that the results never squeeze the case page; the list opens wide.
    combo.setSizeAdjustPolicy(
        QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(9)
    combo.setToolTip(tip)
    _fit_popup(combo)
    return combo


def _fit_popup(combo: QComboBox) -> None:
    combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)


def _select(combo: QComboBox, value: str, label: str = "") -> None:
    """Choose ``value``; one the combo does not list (a user not loaded yet, a code from
    elsewhere) is added, so that the filter is kept as it was asked for."""
    found = combo.findData(value)
    if found < 0 and value:
        combo.addItem(label or value, value)
        found = combo.count() - 1
    combo.setCurrentIndex(max(found, 0))


def _date_edit(tip: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(ANY_DATE)
    edit.setSpecialValueText(ANY_DATE_TEXT)  # shown at the minimum: no limit this end
    edit.setToolTip(tip)
    return edit


def jurisdiction_label(jurisdictions: Jurisdictions, code: str) -> str:
    """Short enough for a narrow combo: 'CA — California' (the law is in the tooltip)."""
    if code == DEFAULT_CODE:
        return "No state identified"
    return f"{code} — {jurisdictions.name(code).split(' (')[0]}"


def user_labels(users: Iterable[UserView]) -> list[tuple[str, str]]:
    """(username, label) by name: the display name, with the user name only where two
    people share a name; former staff last."""
    users = list(users)
    names = [user.display_name or user.username for user in users]
    labels = []
    for user, name in zip(users, names, strict=True):
        label = name if names.count(name) == 1 else f"{name} ({user.username})"
        labels.append((user.username, label if user.active else f"{label} — inactive",
                       not user.active))
    return [(username, label) for username, label, _inactive
            in sorted(labels, key=lambda item: (item[2], item[1].casefold()))]


class SearchFilters(QWidget):
    changed = Signal()  # the user changed a filter (or cleared them)

    def __init__(self, workflow: Workflow, jurisdictions: Jurisdictions,
                 today: Callable[[], date], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self._quiet = False
        self._last_range: Range = (None, None)  # the period shown before the last change
        self.status_combo = _combo("Any status", [(name, state.label) for name, state
                                                  in workflow.states.items()],
                                   "Only cases in this state")
        self.type_combo = _combo("Any request", [(t, types_text([t])) for t in REQUEST_TYPES],
                                 "Only cases with this request type")
        self.channel_combo = _combo("Any channel", [(c, channel_text(c)) for c in CHANNELS],
                                    "Only cases that came in this way")
        self.jurisdiction_combo = _combo(
            "Any jurisdiction", [(code, jurisdiction_label(jurisdictions, code))
                                 for code in (*jurisdictions.codes, DEFAULT_CODE)],
            "Only cases under this jurisdiction's rules")
        for number, code in enumerate((*jurisdictions.codes, DEFAULT_CODE), start=1):
            self.jurisdiction_combo.setItemData(number, jurisdiction_text(jurisdictions, code),
                                                Qt.ItemDataRole.ToolTipRole)
        self.received_combo = _combo(
            "Received any time", [*RECEIVED_PRESETS, (CUSTOM, "Received between…")],
            "Only cases received in this period (the day the legal clock started)")
        self.due_combo = _combo("Any due date", DUE_CHOICES,
                                "Only cases still awaiting a response, due today or "
                                "within 7 days (today included)")
        self.waiting_combo = _combo("Waiting on: any", WAITING_CHOICES,
                                    "Only open cases waiting on the requester's identity, "
                                    "or on answers to notices sent downstream")
        self.assignee_combo = _combo("Any assignee", [], "Only cases assigned to this person")
        self.received_from = _date_edit("Received on or after this day; the lowest date, "
                                        f"“{ANY_DATE_TEXT}”, sets no limit")
        self.received_to = _date_edit("Received on or before this day; the lowest date, "
                                      f"“{ANY_DATE_TEXT}”, sets no limit")
        self.mine_check = QCheckBox("Mine")
        self.mine_check.setToolTip("Only open cases assigned to you")
        self.child_check = QCheckBox("Child")
        self.child_check.setToolTip("Only cases about a child under 13")
        self.overdue_check = QCheckBox("Overdue")
        self.overdue_check.setToolTip("Only cases past their due date, still awaiting a "
                                      "response")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setToolTip("Every filter back to “any” (the text stays)")
        self.clear_button.clicked.connect(self.clear)

        self._date_timer = QTimer(self)
        self._date_timer.setSingleShot(True)
        self._date_timer.setInterval(DATE_DELAY_MS)
        self._date_timer.timeout.connect(self._user_changed)
        for combo in self.combos():
            if combo is not self.received_combo:
                combo.currentIndexChanged.connect(lambda _i: self._user_changed())
        self.received_combo.currentIndexChanged.connect(self._received_chosen)
        for edit in (self.received_from, self.received_to):
            edit.dateChanged.connect(lambda _day: self._dates_edited())
        for check in self.checks():
            check.toggled.connect(lambda _on: self._user_changed())

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for number, combo in enumerate(self.combos()):
            grid.addWidget(combo, number // 4, number % 4)
            grid.setColumnStretch(number % 4, 1)
        self.dates_row = QWidget()
        dates = QHBoxLayout(self.dates_row)
        dates.setContentsMargins(0, 0, 0, 0)
        dates.addWidget(QLabel("Received from"))
        dates.addWidget(self.received_from)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.received_to)
        dates.addStretch(1)
        self.dates_row.hide()
        self.last_row = QHBoxLayout()
        self.last_row.setContentsMargins(0, 0, 0, 0)
        for check in self.checks():
            self.last_row.addWidget(check)
        self.last_row.addStretch(1)
        self.last_row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.dates_row)
        layout.addLayout(self.last_row)
        self._chain: list[QWidget] = [*self.combos(), self.received_from, self.received_to,
                                      *self.checks(), self.clear_button]
        self._update_clear()

    def combos(self) -> tuple[QComboBox, ...]:
        """In reading (and Tab) order."""
        return (self.status_combo, self.type_combo, self.channel_combo,
                self.jurisdiction_combo, self.received_combo, self.due_combo,
                self.waiting_combo, self.assignee_combo)

    def checks(self) -> tuple[QCheckBox, ...]:
        return (self.mine_check, self.child_check, self.overdue_check)

    def add_buttons(self, *buttons: QWidget) -> None:
        """The page's own buttons, at the end of the last row (and of the Tab order)."""
        for button in buttons:
            self.last_row.addWidget(button)
        self._chain += buttons
        for first, second in zip(self._chain, self._chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def set_users(self, users: Iterable[UserView]) -> None:
        """The desk's staff to choose an assignee from (the choice made is kept)."""
        combo = self.assignee_combo
        chosen = str(combo.currentData() or "")
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for username, label in user_labels(users):
            combo.addItem(label, username)
            combo.setItemData(combo.count() - 1, username, Qt.ItemDataRole.ToolTipRole)
        _select(combo, chosen)
        _fit_popup(combo)
        combo.blockSignals(False)

    # --- the query -----------------------------------------------------------------------
    def received_range(self) -> Range:
        """The dates of the period shown (a preset as of today)."""
        key = str(self.received_combo.currentData() or "")
        if key == CUSTOM:
            return self._edited(self.received_from), self._edited(self.received_to)
        if key in RECEIVED_PERIODS:
            return RECEIVED_PERIODS[key](self._today())
        return None, None

    def fill(self, query: SearchQuery) -> SearchQuery:
        """``query`` with the filters shown here (its text and page kept)."""
        key = str(self.received_combo.currentData() or "")
        received_from, received_to = self.received_range() if key == CUSTOM else (None, None)
        within = key if key in RECEIVED_PERIODS else ""

        def data(combo: QComboBox) -> str:
            return str(combo.currentData() or "")

        return replace(
            query, status=data(self.status_combo), request_type=data(self.type_combo),
            channel=data(self.channel_combo), jurisdiction=data(self.jurisdiction_combo),
            assignee=data(self.assignee_combo), child=self.child_check.isChecked(),
            overdue=self.overdue_check.isChecked(), received_from=received_from,
            received_to=received_to, received_within=within, due=data(self.due_combo),
            waiting_on=data(self.waiting_combo), mine=self.mine_check.isChecked())

    def is_set(self) -> bool:
        """Any filter other than "any"."""
        empty = SearchQuery()
        return self.fill(empty) != empty

    def show_query(self, query: SearchQuery) -> None:
        """Every control as ``query`` has it (a saved search, a dashboard tile); quietly."""
        self._quiet = True
        try:
            _select(self.status_combo, query.status)
            _select(self.type_combo, query.request_type)
            _select(self.channel_combo, query.channel)
            _select(self.jurisdiction_combo, query.jurisdiction.strip().upper())
            _select(self.assignee_combo, query.assignee.strip())
            _select(self.due_combo, query.due)
            _select(self.waiting_combo, query.waiting_on)
            self._show_range(query.received_from, query.received_to, query.received_within)
            self.mine_check.setChecked(query.mine)
            self.child_check.setChecked(query.child)
            self.overdue_check.setChecked(query.overdue)
        finally:
            self._quiet = False
        self._date_timer.stop()
        self._update_clear()

    def reset(self) -> None:
        """No filters, quietly."""
        self.show_query(SearchQuery())

    def clear(self) -> None:
        """"Clear filters": no filters, and say so."""
        had = self.is_set()
        self.reset()
        if had:
            self.changed.emit()

    # --- inside --------------------------------------------------------------------------
    def _show_range(self, start: date | None, end: date | None, within: str = "") -> None:
        if within in RECEIVED_PERIODS:
            key = within
            start, end = RECEIVED_PERIODS[within](self._today())
        else:  # fixed dates stay fixed, even when they happen to be a preset's today
            key = "" if start is None and end is None else CUSTOM
        _select(self.received_combo, key)
        self.received_from.setDate(qdate(start) if start else ANY_DATE)
        self.received_to.setDate(qdate(end) if end else ANY_DATE)
        self.dates_row.setVisible(key == CUSTOM)

    @staticmethod
    def _edited(edit: QDateEdit) -> date | None:
        day = edit.date()
        return None if day <= ANY_DATE else pydate(day)

    def _received_chosen(self) -> None:
        custom = self.received_combo.currentData() == CUSTOM
        if custom and not self._quiet:
            # Start from the period shown before (or the last 30 days): then adjust it.
            before = self._last_range
            start, end = before if any(before) else RECEIVED_PERIODS["30_days"](self._today())
            self._quiet = True
            self.received_from.setDate(qdate(start) if start else ANY_DATE)
            self.received_to.setDate(qdate(end) if end else ANY_DATE)
            self._quiet = False
        self.dates_row.setVisible(custom)
        self._user_changed()

    def _dates_edited(self) -> None:
        if not self._quiet:
            self._date_timer.start()

    def _user_changed(self) -> None:
        self._date_timer.stop()
        self._update_clear()
        if not self._quiet:
            self.changed.emit()

    def _update_clear(self) -> None:
        self._last_range = self.received_range()
        self.clear_button.setEnabled(self.is_set())
