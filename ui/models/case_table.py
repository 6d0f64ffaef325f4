"""The case list: a lazy table model over frozen CaseRow values.

Rows come from ``Desk.list_cases`` a page at a time, in background tasks: the first
page when the query is set, the next when the view scrolls to the end (``fetchMore``),
never two at once. Sorting is done by the server (``CaseQuery.sort``), so a list of
100,000 cases is never loaded whole.

A list scrolled past its first page is not reloaded when other workstations add cases
(that would lose the place): it counts them instead (``new_cases``), and ``show_new``
loads it again with them at the top.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QFont

from caseapp.services import Desk
from caseapp.services.claims import local_time
from caseapp.services.dto import CaseDetail, CasePage, CaseQuery, CaseRow
from ui.formatting import (
    RESPONSE_SENT,
    channel_text,
    date_text,
    days_text,
    plain_tooltip,
    types_long_text,
    types_text,
)
from ui.icons import CHILD_BACKGROUND, OVERDUE_RED, badge
from ui.tasks import Progress, TaskRunner

PAGE_SIZE = 200
MAX_IN_PLACE = 20
"""Changed cases refreshed one by one in a list scrolled past its first page; more than
this at once (a large import) shows at the next reload."""

AnyIndex = QModelIndex | QPersistentModelIndex


def row_from_detail(detail: CaseDetail) -> CaseRow:
    """The list line for a case just loaded or changed (there is no get-one-row service)."""
    deadlines = detail.deadlines
    claim = detail.claim
    return CaseRow(
        ref=detail.ref,
        status=detail.status,
        status_label=detail.status_label,
        is_open=detail.is_open,
        channel=detail.channel,
        request_types=detail.request_types,
        requester_name=detail.requester.name,
        jurisdiction=detail.jurisdiction,
        received_on=deadlines.received_on,
        due_on=deadlines.respond_by,
        days_left=deadlines.days_left,
        overdue=deadlines.overdue,
        priority=detail.priority,
        is_child=detail.is_child,
        assignee=detail.assignee,
        intake_review=detail.intake_review,
        claimed_by=claim.holder if claim is not None and claim.live else "",
        claimed_since=claim.since if claim is not None and claim.live else None,
    )


class CaseTableModel(QAbstractTableModel):
    COL_REF = 0
    COL_STATUS = 1
    COL_TYPES = 2
    COL_REQUESTER = 3
    COL_CHANNEL = 4
    COL_JURISDICTION = 5
    COL_RECEIVED = 6
    COL_DUE = 7
    COL_ASSIGNEE = 8
    COL_HELD = 9

    #: Comparable value of a cell (the server sorts; this is for proxies and tests).
    SortRole = Qt.ItemDataRole.UserRole
    #: The CaseRow behind a row.
    RowRole = Qt.ItemDataRole.UserRole + 1

    HEADERS = ("Ref", "Status", "Types", "Requester", "Channel", "Jurisdiction", "Received",
               "Due", "Assignee", "Held by")
    #: CaseQuery.sort key per column; the Types and Held by columns fall back to the desk
    #: order.
    SORT_KEYS = ("ref", "status", "desk", "requester", "channel", "jurisdiction", "received",
                 "due", "assignee", "desk")

    loading_changed = Signal(bool)
    #: After each page: the total number of cases matching the query.
    loaded = Signal(int)
    #: Cases of the query created since its first page was read that the list does not
    #: show (a list scrolled further is not reloaded for them); 0 after each reload.
    new_cases = Signal(int)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._runner = runner
        self._query = CaseQuery()
        self._rows: list[CaseRow] = []
        self._positions: dict[str, int] = {}
        self._total: int | None = None
        self._fetching = False
        self._generation = 0
        self._mark: int | None = None  # the audit seq read before the first page
        self._pinned = 0  # new cases shown at the top (show_new), before the first page
        self._new_count = 0
        self._new_lookup = 0
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    # --- what to show --------------------------------------------------------------------
    @property
    def query(self) -> CaseQuery:
        return self._query

    @property
    def total(self) -> int | None:
        """Cases matching the query (None before the first page arrived)."""
        return self._total

    @property
    def is_loading(self) -> bool:
        return self._fetching

    @property
    def new_count(self) -> int:
        """What ``new_cases`` last said."""
        return self._new_count

    def set_query(self, query: CaseQuery) -> None:
        """Show another query: drop the rows and load its first page."""
        self._query = query
        self.reload()

    def reload(self, *, pin_new: bool = False) -> None:
        """Load the first page again; ``pin_new``: with the cases created since the last
        load at the top (until the next reload puts them in their place)."""
        since = self._mark if pin_new else None
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._positions = {}
        self._total = None
        self._fetching = False
        self._pinned = 0
        self.endResetModel()
        self._set_new_count(0)
        self._fetch(0, pin_since=since)

    def show_new(self) -> None:
        """The user asked to see the new cases: the list from the top, them first."""
        self.reload(pin_new=True)

    def row(self, position: int) -> CaseRow:
        return self._rows[position]

    def position_of(self, ref: str) -> int | None:
        return self._positions.get(ref)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.SORT_KEYS[column] if 0 <= column < len(self.SORT_KEYS) else "desk"
        descending = order == Qt.SortOrder.DescendingOrder and key != "desk"
        if (key, descending) == (self._query.sort, self._query.descending):
            return
        self.set_query(replace(self._query, sort=key, descending=descending))

    # --- lazy loading --------------------------------------------------------------------
    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() or self._fetching or self._total is None:
            return False
        return len(self._rows) < self._total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            # Pinned rows are not counted: they come again (and are left out) further on.
            self._fetch(len(self._rows) - self._pinned)

    def _fetch(self, offset: int, pin_since: int | None = None) -> None:
        self._fetching = True
        self.loading_changed.emit(True)
        generation = self._generation
        query = self._query
        desk = self._desk

        def load(_progress: Progress) -> tuple[CasePage, int | None, tuple[CaseRow, ...]]:
            # The mark before the page: a case committed after it is "new" (or listed).
            mark = desk.audit_mark() if offset == 0 else None
            page = desk.list_cases(query, offset, PAGE_SIZE)
            pinned = () if pin_since is None else desk.cases_created_since(
                query, pin_since, PAGE_SIZE).rows
            return page, mark, pinned

        self._runner.run(
            load,
            label="Loading cases",
            on_done=lambda loaded: self._page_arrived(generation, *loaded),
            on_error=lambda error: self._page_failed(generation, error),
        )

    def _page_arrived(self, generation: int, page: CasePage, mark: int | None = None,
                      pinned: tuple[CaseRow, ...] = ()) -> None:
        if generation != self._generation:
            return  # an answer to a query no longer shown
        self._fetching = False
        self._total = page.total
        if mark is not None:
            self._mark = mark
        # Cases added meanwhile shift the pages; a case already listed is not repeated.
        fresh: dict[str, CaseRow] = {}
        for row in (*pinned, *page.rows):
            if row.ref not in self._positions:
                fresh.setdefault(row.ref, row)
        self._pinned += len(pinned)
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for offset, row in enumerate(fresh.values()):
                self._positions[row.ref] = first + offset
            self._rows.extend(fresh.values())
            self.endInsertRows()
        if not page.rows:  # fewer cases than counted (some were closed meanwhile)
            self._total = len(self._rows)
        self.loading_changed.emit(False)
        self.loaded.emit(self._total)

    def _page_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._fetching = False
            self.loading_changed.emit(False)
        self._runner.report(error)

    # --- one row changed -----------------------------------------------------------------
    def apply_detail(self, detail: CaseDetail) -> None:
        """Show a case's new state in its row (after a mutation), if it is listed."""
        position = self._positions.get(detail.ref)
        if position is None:
            return
        self._rows[position] = row_from_detail(detail)
        self.dataChanged.emit(self.index(position, 0),
                              self.index(position, self.columnCount() - 1))

    def changes_heard(self, refs: Iterable[str]) -> bool:
        """Cases changed at some workstation (caseapp.services.changes): show them without
        losing the place in the list. True when the list was reloaded.

        While the list holds its first page only (nothing more loading), it is reloaded:
        one page, whatever the number of cases; new cases appear and changed ones move
        where the order puts them. Once the user scrolled further (more pages loaded, or
        one loading), reloading would throw away what they scrolled to and bring them
        back to the top: the listed cases that changed are refreshed in place instead,
        one query each, and new cases are counted (``new_cases``: the list offers to show
        them) until the next reload (F5, or ``show_new``). New cases shown at the top
        (``show_new``) are kept there the same way."""
        if not self._rows or (len(self._rows) <= PAGE_SIZE and not self._fetching
                              and not self._pinned):  # (pinned: asked for, kept)
            self.reload()
            return True
        listed = sorted(ref for ref in set(refs) if ref in self._positions)
        for ref in listed[:MAX_IN_PLACE]:
            self.update_row(ref)
        if any(ref not in self._positions for ref in refs):
            self._look_for_new()  # perhaps created elsewhere: counted for new_cases
        return False

    def _look_for_new(self) -> None:
        mark = self._mark
        if mark is None:
            return
        self._new_lookup += 1
        lookup, generation = self._new_lookup, self._generation
        desk, query = self._desk, self._query

        def found(page: CasePage) -> None:
            if (generation, lookup) != (self._generation, self._new_lookup):
                return  # the list was loaded again, or a later look is coming
            # Cases created after the mark may be listed already (a page read later).
            listed = sum(1 for row in page.rows if row.ref in self._positions)
            self._set_new_count(page.total - listed)

        self._runner.run(lambda _p: desk.cases_created_since(query, mark, PAGE_SIZE),
                         label="Looking for new cases", on_done=found)

    def _set_new_count(self, count: int) -> None:
        if count != self._new_count:
            self._new_count = count
            self.new_cases.emit(count)

    def update_row(self, ref: str) -> None:
        """Reload one listed case in the background (e.g. a ref in Changed.refs)."""
        if ref not in self._positions:
            return
        desk = self._desk
        self._runner.run(lambda _p: desk.get_case(ref), label=f"Refreshing {ref}",
                         on_done=self.apply_detail)

    # --- Qt model API --------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == self.COL_TYPES:
            return "Sorting by this column shows the desk order (urgent first, then due)."
        if role == Qt.ItemDataRole.ToolTipRole and section == self.COL_HELD:
            return ("Who is working on the case now (a claim: others are refused steps, "
                    "letters and record actions). Sorting shows the desk order.")
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == self.SortRole:
            return self._sort_value(row, column)
        if role == self.RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(row, column) or ""
            if index.row() < self._pinned:
                tip = f"New: created since the list was loaded (F5 puts it in order).\n{tip}"
            return plain_tooltip(tip)
        if role == Qt.ItemDataRole.ForegroundRole and row.overdue:
            return QBrush(OVERDUE_RED)
        if role == Qt.ItemDataRole.BackgroundRole and row.is_child:
            return QBrush(CHILD_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and (
            (row.overdue and column == self.COL_DUE)
            or (row.priority == "urgent" and column == self.COL_REF)
        ):
            return self._bold
        if role == Qt.ItemDataRole.FontRole and row.intake_review and column in (
                self.COL_TYPES, self.COL_REQUESTER, self.COL_JURISDICTION):
            return self._italic  # proposed by the classifier, not confirmed yet
        if (role == Qt.ItemDataRole.DecorationRole and column == self.COL_REQUESTER
                and row.is_child):
            return badge("child")
        if (role == Qt.ItemDataRole.DecorationRole and column == self.COL_REF
                and row.intake_review):
            return badge("review")
        if (role == Qt.ItemDataRole.DecorationRole and column == self.COL_REF
                and index.row() < self._pinned):
            return badge("new")  # shown at the top by show_new (until the next reload)
        return None

    def _display(self, row: CaseRow, column: int) -> str | None:
        if column == self.COL_REF:
            return row.ref
        if column == self.COL_STATUS:
            return row.status_label
        if column == self.COL_TYPES:
            return types_text(row.request_types)
        if column == self.COL_REQUESTER:
            return row.requester_name or "(no name)"
        if column == self.COL_CHANNEL:
            return channel_text(row.channel)
        if column == self.COL_JURISDICTION:
            return row.jurisdiction
        if column == self.COL_RECEIVED:
            return date_text(row.received_on)
        if column == self.COL_DUE:
            if not row.is_open:
                return date_text(row.due_on)
            if row.status == RESPONSE_SENT:  # the clock stopped: no countdown
                return f"{date_text(row.due_on)} (response sent)"
            return f"{date_text(row.due_on)} ({days_text(row.days_left)})"
        if column == self.COL_ASSIGNEE:
            return row.assignee or "—"
        if column == self.COL_HELD:
            return row.claimed_by
        return None

    def _sort_value(self, row: CaseRow, column: int) -> Any:
        values: tuple[Any, ...] = (
            row.ref, row.status, types_text(row.request_types), row.requester_name,
            row.channel, row.jurisdiction, row.received_on, row.due_on, row.assignee,
            row.claimed_by,
        )
        return values[column] if 0 <= column < len(values) else None

    def _held_text(self, row: CaseRow) -> str:
        """``Held by carol since 10:42`` (as the case page's banner says it)."""
        if not row.claimed_by:
            return "Nobody is working on this case."
        if row.claimed_since is None:
            return f"Held by {row.claimed_by}"
        return f"Held by {row.claimed_by} since {local_time(row.claimed_since, self._desk.clock)}"

    def _tooltip(self, row: CaseRow, column: int) -> str | None:
        lines = []
        if column == self.COL_TYPES:
            lines.append(types_long_text(row.request_types))
        elif column == self.COL_DUE and row.is_open and row.status != RESPONSE_SENT:
            lines.append(f"Response due {date_text(row.due_on)}: {days_text(row.days_left)}.")
        elif column == self.COL_REQUESTER:
            lines.append(row.requester_name or "No requester name recorded.")
        elif column == self.COL_ASSIGNEE and not row.assignee:
            lines.append("Nobody is assigned.")
        elif column == self.COL_HELD:
            lines.append(self._held_text(row))
        else:
            lines.append(f"{row.ref} — {row.status_label}, priority {row.priority}")
        if row.overdue:
            lines.append("Overdue: the legal response deadline has passed.")
        if row.is_child:
            lines.append("Concerns a child's data (COPPA): handle first.")
        if row.intake_review:
            lines.append("To review: opened from an email; check the proposed request "
                         "types, requester and jurisdiction, then confirm.")
        return "\n".join(lines)
