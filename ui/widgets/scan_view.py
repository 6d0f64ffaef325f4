"""The pages of a scan beside a form: fit to width or zoomed, scrollable, page by page.

Pages come as QImages (decoded off the GUI thread); the view scales the current one
(Ctrl+wheel or the buttons zoom, "Fit width" follows the view's width).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QImage, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ZOOM_STEPS = (0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0)
NO_PICTURE = "No picture of this file can be shown."


class ScanView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: list[QImage] = []
        self.page = 0
        self.zoom: float | None = None  # None: fit the width of the view

        self.previous_button = self._button("‹", "Previous page", self.previous_page)
        self.page_label = QLabel()
        self.next_button = self._button("›", "Next page", self.next_page)
        self.zoom_out_button = self._button("−", "Zoom out (Ctrl+wheel)", self.zoom_out)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(64)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom_in_button = self._button("+", "Zoom in (Ctrl+wheel)", self.zoom_in)
        self.fit_button = self._button("Fit width", "Show the whole width of the page",
                                       self.fit_width)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.page_label)
        bar.addWidget(self.next_button)
        bar.addStretch(1)
        bar.addWidget(self.zoom_out_button)
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.zoom_in_button)
        bar.addWidget(self.fit_button)

        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setStyleSheet("background: white;")
        self.scroller = QScrollArea()
        self.scroller.setWidget(self.picture)
        self.scroller.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroller.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroller.setStyleSheet("QScrollArea { background: #8a949e; }")
        self.scroller.viewport().installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroller, 1)
        self._render()

    def _button(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # --- pages ---------------------------------------------------------------------------
    def set_pages(self, images: Sequence[QImage]) -> None:
        self._images = list(images)
        self.page = 0
        self.zoom = None
        self._render()

    def page_count(self) -> int:
        return len(self._images)

    def show_page(self, page: int) -> None:
        if 0 <= page < len(self._images) and page != self.page:
            self.page = page
            self._render()
            self.scroller.verticalScrollBar().setValue(0)

    def next_page(self) -> None:
        self.show_page(self.page + 1)

    def previous_page(self) -> None:
        self.show_page(self.page - 1)

    # --- zoom ----------------------------------------------------------------------------
    def current_scale(self) -> float:
        if not self._images:
            return 1.0
        if self.zoom is not None:
            return self.zoom
        width: int = self.scroller.viewport().width() - 2
        return max(0.05, min(4.0, width / max(1, self._images[self.page].width())))

    def zoom_in(self) -> None:
        scale = self.current_scale()
        self.zoom = next((step for step in ZOOM_STEPS if step > scale + 0.01), ZOOM_STEPS[-1])
        self._render()

    def zoom_out(self) -> None:
        scale = self.current_scale()
        self.zoom = next((step for step in reversed(ZOOM_STEPS) if step < scale - 0.01),
                         ZOOM_STEPS[0])
        self._render()

    def fit_width(self) -> None:
        self.zoom = None
        self._render()

    def _render(self) -> None:
        count = len(self._images)
        for widget in (self.previous_button, self.next_button, self.page_label):
            widget.setVisible(count > 1)
        for widget in (self.zoom_out_button, self.zoom_in_button, self.zoom_label,
                       self.fit_button):
            widget.setEnabled(count > 0)
        if not count:
            self.picture.setPixmap(QPixmap())
            self.picture.setText(NO_PICTURE)
            self.picture.adjustSize()
            self.zoom_label.setText("")
            return
        self.page_label.setText(f"Page {self.page + 1} of {count}")
        self.previous_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < count - 1)
        image = self._images[self.page]
        scale = self.current_scale()
        width = max(1, round(image.width() * scale))
        scaled = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.picture.setPixmap(QPixmap.fromImage(scaled))
        self.picture.resize(scaled.size())
        self.zoom_label.setText(f"{scale:.0%}" + (" (fit)" if self.zoom is None else ""))

    # --- events --------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.scroller.viewport():
            if event.type() == QEvent.Type.Resize and self.zoom is None and self._images:
                self._render()
            elif (event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent)
                  and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                if event.angleDelta().y() > 0:
                    self.zoom_in()
                elif event.angleDelta().y() < 0:
                    self.zoom_out()
                return True
        return super().eventFilter(watched, event)
