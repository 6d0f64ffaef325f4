"""The banner on a case opened from mail whose proposed classification nobody has
confirmed yet."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

REVIEW_TEXT = ("Opened from an email: check the proposed request types, requester and "
               "jurisdiction, then confirm.")


class ReviewBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("review_banner")
        self.setStyleSheet("#review_banner { background: #fff4c2; border: 1px solid #e0c34a; "
                           "border-radius: 4px; } QLabel { color: #3d3000; }")
        self.text = QLabel(REVIEW_TEXT)
        self.text.setWordWrap(True)
        font = self.text.font()
        font.setBold(True)
        self.text.setFont(font)
        self.proposal = QLabel()
        self.proposal.setWordWrap(True)
        self.edit_request_button = QPushButton("Edit request…")
        self.edit_requester_button = QPushButton("Edit requester…")
        self.confirm_button = QPushButton("Confirm")
        buttons = QHBoxLayout()
        buttons.addWidget(self.edit_request_button)
        buttons.addWidget(self.edit_requester_button)
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.text)
        layout.addWidget(self.proposal)
        layout.addLayout(buttons)
