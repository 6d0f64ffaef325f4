"""Who is working on the case shown: a line above the steps, with what one can do.

- nobody: "Nobody is working on this case." [Work on it]
- me: "You are working on this case (since 10:42)." [Release]
- someone else: "Held by carol since 10:42 — …" in amber, [Take over] for supervisors.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from caseapp.clock import Clock
from caseapp.services.claims import describe, local_time
from caseapp.services.dto import ClaimView

STYLES = {
    "free": "#claim_banner { background: #f3f5f7; border: 1px solid #d5dbe1; }",
    "mine": "#claim_banner { background: #e6f4ea; border: 1px solid #8cc79b; }",
    "held": "#claim_banner { background: #fde7d9; border: 1px solid #e08a4f; }",
}


class ClaimBanner(QFrame):
    claim_requested = Signal()
    release_requested = Signal()
    take_over_requested = Signal()

    def __init__(self, clock: Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("claim_banner")
        self._clock = clock
        self.state = "free"
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)  # our markup; names escaped
        self.text.setWordWrap(True)
        self.claim_button = QPushButton("Work on it")
        self.claim_button.setToolTip("Claim the case: others are refused steps, letters and "
                                     "record actions while you work on it")
        self.claim_button.clicked.connect(self.claim_requested.emit)
        self.release_button = QPushButton("Release")
        self.release_button.setToolTip("Let others work on the case")
        self.release_button.clicked.connect(self.release_requested.emit)
        self.take_over_button = QPushButton("Take over")
        self.take_over_button.setToolTip("Supervisors: take the case from whoever holds it "
                                         "(recorded in the history)")
        self.take_over_button.clicked.connect(self.take_over_requested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.text, 1)
        for button in (self.claim_button, self.release_button, self.take_over_button):
            layout.addWidget(button)

    def set_clock(self, clock: Clock) -> None:
        self._clock = clock

    def set_claim(self, claim: ClaimView | None, me: str, *, can_take_over: bool,
                  busy: bool = False) -> None:
        live = claim is not None and claim.live
        if claim is not None and live and claim.holder == me:
            self.state = "mine"
            self.text.setText(f"You are working on this case (since "
                              f"{local_time(claim.since, self._clock)}); others see it as "
                              "yours until you release it or close it.")
        elif claim is not None and live:
            self.state = "held"
            holder = html.escape(claim.holder)
            self.text.setText(f"<b>{html.escape(describe(claim, self._clock))}</b> — {holder} is "
                              "working on this case: steps, letters and record actions are "
                              "refused until it is released or its claim runs out "
                              f"({local_time(claim.until, self._clock)}).")
        else:
            self.state = "free"
            lapsed = (f"{html.escape(describe(claim, self._clock))}. " if claim is not None
                      else "")
            self.text.setText(f"{lapsed}Nobody is working on this case.")
        self.setStyleSheet(STYLES[self.state])
        self.claim_button.setVisible(self.state == "free")
        self.release_button.setVisible(self.state == "mine")
        self.take_over_button.setVisible(self.state == "held" and can_take_over)
        for button in (self.claim_button, self.release_button, self.take_over_button):
            button.setEnabled(not busy)
