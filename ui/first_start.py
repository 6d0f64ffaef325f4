"""First start on an empty desk: a banner offering to try intake on the samples.

"Try it" imports resources/demo/sample-mailbox.mbox (ten fictitious messages, every
intake outcome) in the background and then opens the scan review on the demo letter
resources/demo/scanned_letter.png. "Don't ask again" is kept in the window preferences
(QSettings); the banner does not come back once the desk has cases either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QToolBar,
    QWidget,
)

from caseapp.resources import resources_dir
from caseapp.services import Desk
from caseapp.services.dto import IntakeResult
from ui.plain_labels import rich_label
from ui.tasks import Progress, TaskRunner

DECLINED_KEY = "first_start/sample_intake_declined"
BANNER_STYLE = ("#first_start_banner { background: #e8f0fb; border-bottom: 1px solid "
                "#b6cbe8; }")


def preferences() -> QSettings:
    """The window's own preferences (not the settings file); tests replace this."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "caseapp",
                     "window")


def sample_mailbox() -> Path:
    return resources_dir() / "demo" / "sample-mailbox.mbox"


def sample_letter() -> Path:
    return resources_dir() / "demo" / "scanned_letter.png"


def _messages_in(mbox: Path) -> int:
    """How many messages an mbox holds ("From " lines after a blank line), for progress."""
    data = mbox.read_bytes().replace(b"\r\n", b"\n")
    return max(1, data.startswith(b"From ") + data.count(b"\n\nFrom "))


@dataclass(frozen=True)
class SampleImport:
    results: tuple[IntakeResult, ...]
    cancelled: bool


class FirstStartOffer(QObject):
    """Asks the desk whether it has any case; if not, shows the banner in the window."""

    imported = Signal(object)  # SampleImport: the sample mailbox is in
    status = Signal(str, int)

    def __init__(self, window: QMainWindow, desk: Desk, runner: TaskRunner,
                 open_letter: Callable[[Path], None]) -> None:
        super().__init__(window)
        self.window = window
        self.desk = desk
        self.runner = runner
        self.open_letter = open_letter
        self.banner: QToolBar | None = None
        self.try_button: QPushButton | None = None

    def check(self) -> None:
        if bool(preferences().value(DECLINED_KEY, False, type=bool)):
            return
        if self.desk.is_shared:
            return  # never fictitious cases on a desk several workstations share
        desk = self.desk

        def count(_progress: Progress) -> int:
            return desk.message_count()

        self.runner.run(count, label="Looking at the desk", on_done=self._counted)

    def _counted(self, messages: int) -> None:
        # Offered until the desk has taken in its first mail or letter (a demo desk has
        # cases typed in, but no mail yet).
        if messages == 0 and self.banner is None:
            self._show_banner()

    def _show_banner(self) -> None:
        text = rich_label("<b>No mail has been taken in yet.</b> See how intake works: take "
                          "in a sample mailbox of ten fictitious messages and a scanned "
                          "letter.")
        self.try_button = QPushButton("Try intake with the sample mailbox and a scanned "
                                      "letter")
        self.try_button.clicked.connect(self.try_samples)
        later = QPushButton("Not now")
        later.setToolTip("Hide this; it is offered again at the next start until mail has "
                         "been taken in")
        later.clicked.connect(self.hide_banner)
        never = QPushButton("Don't ask again")
        never.clicked.connect(self.decline)
        content = QWidget()
        content.setObjectName("first_start_banner")
        content.setStyleSheet(BANNER_STYLE)
        content.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        row = QHBoxLayout(content)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(text, 1)
        row.addWidget(self.try_button)
        row.addWidget(later)
        row.addWidget(never)
        bar = QToolBar("Getting started")
        bar.setObjectName("first_start_bar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setVisible(False)
        bar.addWidget(content)
        self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.banner = bar

    def hide_banner(self) -> None:
        if self.banner is not None:
            self.window.removeToolBar(self.banner)
            self.banner.deleteLater()
            self.banner = None

    def decline(self) -> None:
        prefs = preferences()
        prefs.setValue(DECLINED_KEY, True)
        prefs.sync()
        self.hide_banner()

    def try_samples(self) -> None:
        if self.try_button is not None:
            self.try_button.setEnabled(False)
        desk = self.desk
        mailbox = sample_mailbox()

        def take_in(progress: Progress) -> SampleImport:
            results: list[IntakeResult] = []
            total = _messages_in(mailbox)
            for result in desk.import_files([mailbox]):
                results.append(result)
                progress.set(len(results), total, f"{len(results)} of {total} messages")
                if progress.cancelled:
                    return SampleImport(tuple(results), True)
            return SampleImport(tuple(results), False)

        self.runner.run(take_in, label="Taking in the sample mailbox", on_done=self._imported,
                        on_error=self._failed, cancellable=True)

    def _imported(self, sample: SampleImport) -> None:
        self.hide_banner()
        self.imported.emit(sample)
        if not sample.cancelled:
            self.open_letter(sample_letter())

    def _failed(self, error: BaseException) -> None:
        if self.try_button is not None:
            self.try_button.setEnabled(True)
        self.runner.report(error)
