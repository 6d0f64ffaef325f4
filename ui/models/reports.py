"""The reports' tables: the §7102 metrics (one row per request type) and the §7101
request log (one row per request), over the frozen rows the desk returns.

The figures are shown as the CSV and the PDF print them (days: the median as counted,
the mean to one decimal, "–" while nothing was answered). Rows of privacy requests
outside the §7102 categories are marked "*" and greyed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from caseapp.reports.csv_files import days_text, mean_text
from caseapp.reports.model import LogRow, MetricsRow
from caseapp.workflow.jurisdictions import DEFAULT_CODE
from ui.formatting import date_text
from ui.models.frozen_rows import CellsModel

OTHER_GREY = QColor("#5f6b76")
NOT_7102 = "Not a §7102 category: a privacy request the desk reports besides"


class MetricsModel(CellsModel[MetricsRow]):
    COL_TYPE = 0
    COL_RECEIVED = 1
    COL_COMPLIED = 2
    COL_WHOLE = 3
    COL_PART = 4
    COL_DENIED = 5
    COL_NOT_VERIFIABLE = 6
    COL_NOT_BY_CONSUMER = 7
    COL_EXEMPT = 8
    COL_OTHER = 9
    COL_WITHDRAWN = 10
    COL_OPEN = 11
    COL_MEDIAN = 12
    COL_MEAN = 13
    HEADERS = ("Request type", "Received", "Complied\n(whole or part)", "In whole",
               "In part", "Denied", "Not\nverifiable", "Not by a\nconsumer", "Exempt",
               "Other\nbasis", "Withdrawn", "Open", "Median\ndays", "Mean\ndays")
    HEADER_TIPS = (
        "The request types §7102 asks for, then (*) other privacy requests",
        "Requests received in the year (duplicates are counted in the request they repeat)",
        "Complied with in whole or in part: the response was sent",
        "Complied with in whole",
        "Complied with in part (deletions that kept records under a legal exception)",
        "Denied, on any basis (the next four columns)",
        "Denied: the requester's identity could not be verified",
        "Denied: the request was not made by a consumer",
        "Denied: the information is exempt",
        "Denied on another basis",
        "Withdrawn by the requester",
        "Still awaiting a response (on hold included)",
        "Median calendar days from receipt to the response or denial",
        "Mean calendar days from receipt to the response or denial",
    )

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.HEADER_TIPS)):
            return self.HEADER_TIPS[section]
        return super().headerData(section, orientation, role)

    def rows(self) -> tuple[MetricsRow, ...]:
        return self._rows

    def _figure(self, row: MetricsRow, column: int) -> int | float | None:
        figures: dict[int, int | float | None] = {
            self.COL_RECEIVED: row.received, self.COL_COMPLIED: row.complied,
            self.COL_WHOLE: row.complied_whole, self.COL_PART: row.complied_part,
            self.COL_DENIED: row.denied, self.COL_NOT_VERIFIABLE: row.denied_not_verifiable,
            self.COL_NOT_BY_CONSUMER: row.denied_not_by_consumer,
            self.COL_EXEMPT: row.denied_exempt, self.COL_OTHER: row.denied_other,
            self.COL_WITHDRAWN: row.withdrawn, self.COL_OPEN: row.open,
            self.COL_MEDIAN: row.median_days, self.COL_MEAN: row.mean_days,
        }
        return figures.get(column)

    def text(self, row: MetricsRow, column: int) -> str:
        if column == self.COL_TYPE:
            return row.label if row.ccpa else f"{row.label} *"
        if column == self.COL_MEDIAN:
            return days_text(row.median_days) or "–"
        if column == self.COL_MEAN:
            return mean_text(row.mean_days) or "–"
        return str(self._figure(row, column))

    def sort_value(self, row: MetricsRow, column: int) -> Any:
        if column == self.COL_TYPE:
            return row.label
        value = self._figure(row, column)
        return -1.0 if value is None else value

    def tooltip(self, row: MetricsRow, column: int) -> str:
        return NOT_7102 if column == self.COL_TYPE and not row.ccpa else ""

    def colour(self, row: MetricsRow, column: int) -> QColor | None:
        return None if row.ccpa else OTHER_GREY

    def bold(self, row: MetricsRow, column: int) -> bool:
        return column in (self.COL_RECEIVED, self.COL_COMPLIED, self.COL_DENIED)

    def numeric(self, column: int) -> bool:
        return column != self.COL_TYPE


def jurisdiction_text(code: str) -> str:
    """As the log's PDF prints it: the general rules (no state's law known) are "other"."""
    return "other" if code in ("", DEFAULT_CODE) else code


class RequestLogModel(CellsModel[LogRow]):
    COL_REF = 0
    COL_RECEIVED = 1
    COL_NATURE = 2
    COL_MANNER = 3
    COL_JURISDICTION = 4
    COL_RESPONSE_ON = 5
    COL_RESPONSE = 6
    COL_BASIS = 7
    HEADERS = ("Reference", "Date of request", "Nature of request", "Manner",
               "Jurisdiction", "Date of response", "Nature of response", "Basis for denial")
    TOOLTIP_FALLS_BACK_TO_TEXT = True  # the long columns are cut short

    def rows(self) -> tuple[LogRow, ...]:
        return self._rows

    def text(self, row: LogRow, column: int) -> str:
        if column == self.COL_REF:
            return row.ref
        if column == self.COL_RECEIVED:
            return row.received_on.isoformat()
        if column == self.COL_NATURE:
            return row.nature
        if column == self.COL_MANNER:
            return row.manner
        if column == self.COL_JURISDICTION:
            return jurisdiction_text(row.jurisdiction)
        if column == self.COL_RESPONSE_ON:
            return date_text(row.response_on) if row.response_on else ""
        if column == self.COL_RESPONSE:
            return row.response
        if column == self.COL_BASIS:
            return row.denial_basis
        return ""

    def sort_value(self, row: LogRow, column: int) -> Any:
        if column == self.COL_RESPONSE_ON:  # not answered yet: after every date
            return row.response_on.isoformat() if row.response_on else "9999"
        return self.text(row, column)
