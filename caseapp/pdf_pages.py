"""ReportLab pages that know how many there are: "Page x of y" on letters and reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.pdfgen.canvas import Canvas

PageMark = Callable[[Canvas, int, int], None]
"""Draws on a finished page, given its number and the number of pages."""


def counting_canvas(mark: PageMark) -> Any:
    """A canvas class for ``build(canvasmaker=...)`` that keeps its pages until the end,
    then lets ``mark`` draw on each once the total is known."""

    class CountingCanvas(Canvas):  # type: ignore[misc]  # ReportLab has no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.saveState()
                mark(self, number, total)
                self.restoreState()
                super().showPage()
            super().save()

    return CountingCanvas
