"""The cases the retention purge would take the personal information out of (a preview)."""

from __future__ import annotations

from typing import Any, ClassVar

from caseapp.services.retention import COUNT_LABELS, PurgeCandidate
from ui.models.frozen_rows import CellsModel


class PurgePreviewModel(CellsModel[PurgeCandidate]):
    COL_REF = 0
    COL_STATUS = 1
    COL_CLOSED = 2
    COL_KEPT = 3
    COL_WHAT = 4
    HEADERS = ("Case", "Status", "Closed", "Kept until", "Personal information removed")
    TOOLTIP_FALLS_BACK_TO_TEXT: ClassVar[bool] = True

    def set_cases(self, cases: tuple[PurgeCandidate, ...]) -> None:
        self.set_rows(cases)

    def text(self, row: PurgeCandidate, column: int) -> str:
        if column == self.COL_REF:
            return row.ref
        if column == self.COL_STATUS:
            return row.status_label
        if column == self.COL_CLOSED:
            return row.closed_on.isoformat()
        if column == self.COL_KEPT:
            return row.kept_until.isoformat()
        if column == self.COL_WHAT:
            return row.counts.describe()
        return ""

    def sort_value(self, row: PurgeCandidate, column: int) -> Any:
        if column == self.COL_CLOSED:
            return row.closed_on.toordinal()
        if column == self.COL_KEPT:
            return row.kept_until.toordinal()
        if column == self.COL_WHAT:
            return row.counts.total
        return self.text(row, column)

    def tooltip(self, row: PurgeCandidate, column: int) -> str:
        if column == self.COL_WHAT:
            return "\n".join(f"{COUNT_LABELS[name].capitalize()}: {count}"
                             for name, count in row.counts.as_dict().items() if count)
        if column == self.COL_KEPT:
            return (f"Closed on {row.closed_on}: kept through {row.kept_until} (24 months, "
                    "11 CCR §7101), purged from the day after")
        return ""
