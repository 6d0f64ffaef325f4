"""Fixtures for window tests: a MainWindow on a fresh SQLite desk, dialogs recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from caseapp.intake import MailParser
from caseapp.services import Desk
from caseapp.services.dto import Changed, NewCase, PartyData
from ui.app import build_main_window
from ui.errors import Report
from ui.main_window import MainWindow

# The offscreen platform plugin cannot pass size hints to its (imaginary) window manager
# and says so as a warning whenever a top-level window's minimum size changes. That is a
# limit of the test platform, not a problem of the window; every other warning fails.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@dataclass
class Ui:
    window: MainWindow
    desk: Desk
    reports: list[Report] = field(default_factory=list)

    def settle(self) -> None:
        assert self.window.runner.wait_idle(15_000), "background tasks did not finish"
        QCoreApplication.processEvents()  # e.g. queued show() of widgets just added

    def last_report(self) -> Report:
        assert self.reports, "nothing was shown to the user"
        return self.reports[-1]


@pytest.fixture(autouse=True)
def _window_preferences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Window preferences in the test's own file, never the user's; the first-start offer
    is declined there so that it only shows in the tests about it (they replace this)."""
    from PySide6.QtCore import QSettings

    from ui import first_start

    path = tmp_path / "window-preferences.ini"
    declined = QSettings(str(path), QSettings.Format.IniFormat)
    declined.setValue(first_start.DECLINED_KEY, True)
    declined.sync()
    monkeypatch.setattr(first_start, "preferences",
                        lambda: QSettings(str(path), QSettings.Format.IniFormat))


def open_window(qtbot: QtBot, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Ui:
    window = build_main_window(desk)
    qtbot.addWidget(window)
    ui = Ui(window, desk)
    # Dialogs are recorded instead of opened; what the user would read is asserted.
    monkeypatch.setattr(window.presenter, "present", ui.reports.append)
    window.show()
    ui.settle()
    return ui


@pytest.fixture
def ui(qtbot: QtBot, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ui]:
    opened = open_window(qtbot, sqlite_desk, monkeypatch)
    yield opened
    opened.window.shutdown()


@pytest.fixture(scope="session")
def mail_parser() -> Iterator[MailParser]:
    """One pool of mail-parsing worker processes for all window tests of a worker."""
    with MailParser() as pool:
        yield pool


@pytest.fixture
def mail_ui(ui: Ui, mail_parser: MailParser) -> Ui:
    """The window on a desk that can take mail in (sharing the parser pool)."""
    ui.desk.share_mail_parser(mail_parser)
    return ui


def new_case(desk: Desk, name: str = "Dana Whitfield", *, types: tuple[str, ...] = ("delete",),
             state: str = "CA", days_ago: int = 0, child: bool = False,
             channel: str = "email") -> Changed:
    """A case created straight through the service (set-up, not what is tested)."""
    subject = PartyData(name=f"{name} Jr", age=9, is_child=True, state=state) if child else None
    requester = PartyData(name=name, email=f"{name.split()[0].lower()}@example.com",
                          state=state, relationship="parent" if child else "self")
    received = desk.clock.today() - timedelta(days=days_ago) if days_ago else None
    return desk.create_case(NewCase(channel=channel, request_types=types, requester=requester,
                                    subject=subject, received_on=received,
                                    summary=f"Request from {name}"))


def today(desk: Desk) -> date:
    return desk.clock.today()
