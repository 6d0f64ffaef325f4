"""The strip across the top of the window while a large embedded database is checked
after start (ui/backup.py): reading works, changes wait. It says what is going on with a
busy bar, and stays, in another colour, when the check failed or could not run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolBar, QWidget

CHECKING_TEXT = ("Checking the database… you can read cases; changes wait until it is "
                 "done (started {started}).")
DAMAGED_TEXT = ("The database is damaged: nothing is written to it. Restore its newest "
                "backup (or another one under Settings → Backups…).")
NOT_CHECKED_TEXT = ("The database could not be checked: {problem} You can read cases; "
                    "changes wait until the check passes.")
STYLES = {
    "checking": "#check_banner { background: #e8f0fb; border-bottom: 1px solid #b6cbe8; }",
    "problem": "#check_banner { background: #fbe9e7; border-bottom: 1px solid #e6a39a; }",
}


class CheckBanner(QToolBar):
    check_again = Signal()
    restore = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Database check", parent)
        self.setObjectName("check_bar")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)  # not one to hide from the menu
        self.content = QWidget()
        self.content.setObjectName("check_banner")
        self.content.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # quick_check says nothing of how far it got
        self.busy.setFixedWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.check_again_button = QPushButton("Check again")
        self.check_again_button.clicked.connect(self.check_again)
        self.restore_button = QPushButton("Restore a backup…")
        self.restore_button.clicked.connect(self.restore)
        row = QHBoxLayout(self.content)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.busy)
        row.addWidget(self.text, 1)
        row.addWidget(self.check_again_button)
        row.addWidget(self.restore_button)
        self.addWidget(self.content)

    def show_checking(self, started: str) -> None:
        self._show(CHECKING_TEXT.format(started=started), "checking", busy=True)

    def show_damaged(self) -> None:
        self._show(DAMAGED_TEXT, "problem", restore=True)

    def show_not_checked(self, problem: str) -> None:
        self._show(NOT_CHECKED_TEXT.format(problem=problem.rstrip(".") + "."), "problem",
                   check_again=True)

    def _show(self, text: str, style: str, *, busy: bool = False, check_again: bool = False,
              restore: bool = False) -> None:
        self.content.setStyleSheet(STYLES[style])
        self.text.setText(text)
        self.busy.setVisible(busy)
        self.check_again_button.setVisible(check_again)
        self.restore_button.setVisible(restore)
        self.setProperty("state", style)
