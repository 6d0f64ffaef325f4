"""Screenshots of the search page's filters and of the Reports window (part of
tests/ui/screenshots.py; on their own, quicker):

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.screenshots_search_reports docs/

Writes search_filters.png (the main window searching with the filters, a custom
received period among them) and reports_page.png (the §7102 metrics of the demo's
year gone by) into the folder given.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from caseapp.services.search import SavedSearchView, SearchQuery
from ui.main_window import MainWindow


def search_and_reports_shots(window: MainWindow, out: Path) -> None:
    from tests.ui.screenshots import _save, _settle

    # A supervisor's question: the Californian requests received in February.
    window.run_saved_search(SavedSearchView("February, California", SearchQuery(
        jurisdiction="CA", received_from=date(2026, 2, 1), received_to=date(2026, 2, 28))))
    _settle(window)
    page = window.search_page
    page.focus_results()
    page.open_current()
    _settle(window)
    _save(window, out / "search_filters.png")
    window.close_search()
    _settle(window)

    reports = window.reports.show("metrics")
    _settle(window)
    _save(reports, out / "reports_page.png")
    reports.close()
    _settle(window)


def main(argv: list[str]) -> int:
    from tests.ui.screenshots import AGENT, _fill_demo, _settle
    from ui.app import build_main_window

    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        desk = _fill_demo(Path(temp))
        window = build_main_window(desk.as_user(AGENT))
        window.show()
        _settle(window)
        search_and_reports_shots(window, out)
        window.close()
        desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
