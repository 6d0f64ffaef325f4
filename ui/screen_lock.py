"""The screen lock: after ``[security] lock_after_minutes`` without a key press or a mouse
click (10 by default), or at once with File → Lock now (Ctrl+Alt+L), the window hides
every case behind a plain panel until its user types their unlock passphrase
(caseapp.unlock: a scrypt hash in the user's keyring).

While locked, nothing personal is on screen: the main window is covered whole (menus
and status bar included), every other window (a case's dialog, a message viewer, an
error) is hidden and comes back as it was, with what was typed in it, on unlock; a
window that opens while locked (a background task's message) waits hidden too. No key
or shortcut reaches the hidden windows. Background work goes on.

The lock is armed once the user has chosen a passphrase (Settings → Screen lock…); until
then the status bar says so. Five wrong passphrases in a row make the next try wait 30
seconds. Checking runs in the background (scrypt takes a moment on purpose).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenuBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp import unlock
from caseapp.config import SecuritySettings
from ui.menus import menu_titled
from ui.settings_store import SettingsStore
from ui.tasks import Progress, TaskRunner

LOCK_KEYS = "Ctrl+Alt+L"
BOX_WIDTH = 420
MAX_TRIES = 5
WAIT_SECONDS = 30
_INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin,
})
_BLOCKED_WHILE_LOCKED = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.Shortcut,
    QEvent.Type.ShortcutOverride, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.Wheel,
    QEvent.Type.ContextMenu,
})


class LockPanel(QFrame):
    """What covers the window while it is locked: who it is locked for, the passphrase."""

    unlock_requested = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lock_panel")
        self.setAutoFillBackground(True)
        self.setStyleSheet("#lock_panel { background: #263238; } "
                           "QLabel { color: #eceff1; } "
                           "#lock_box { background: #37474f; border-radius: 8px; }")
        box = QFrame(self)
        box.setObjectName("lock_box")
        box.setFixedWidth(BOX_WIDTH)
        title = QLabel("caseapp is locked")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.who = QLabel()
        self.who.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Your unlock passphrase")
        self.passphrase.setAccessibleName("Unlock passphrase")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ffcdd2;")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(24, 24, 24, 24)
        inner.setSpacing(12)
        for widget in (title, self.who, self.passphrase, self.unlock_button, self.message):
            inner.addWidget(widget)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self.unlock_button.clicked.connect(self._submit)
        self.passphrase.returnPressed.connect(self._submit)
        self.hide()

    def say(self, label: QLabel, text: str) -> None:
        """Set a wrapped label's text and make room for all its lines (a fixed-width box
        does not ask its labels for their height at that width)."""
        label.setText(text)
        label.setMinimumHeight(label.heightForWidth(BOX_WIDTH - 48) if text else 0)

    def _submit(self) -> None:
        if self.passphrase.isEnabled():
            self.unlock_requested.emit(self.passphrase.text())


class ScreenLock(QObject):
    locked_changed = Signal(bool)
    armed_changed = Signal(bool)

    MINUTE_MS = 60_000

    def __init__(self, window: QMainWindow, runner: TaskRunner,
                 username: Callable[[], str]) -> None:
        super().__init__(window)
        self.window = window
        self.runner = runner
        self.username = username
        self.settings = SecuritySettings()
        self.store: SettingsStore | None = None
        self.armed = False  # the user has a passphrase: the lock can be lifted
        self.locked = False
        self.failures = 0
        self.wait_until = 0.0
        self._hidden: list[QWidget] = []
        self._title = ""
        self._last_input = time.monotonic()
        self.panel = LockPanel(window)
        self.panel.unlock_requested.connect(self.try_unlock)
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self._idle)
        self.lock_action = QAction("&Lock now", window)
        self.lock_action.setShortcut(QKeySequence(LOCK_KEYS))
        self.lock_action.setStatusTip("Hide every case until you type your unlock passphrase")
        self.lock_action.triggered.connect(self.lock)
        self.lock_action.setEnabled(False)  # until the user has a passphrase
        self.settings_action = QAction("Screen &lock…", window)
        self.settings_action.setStatusTip(
            "Your unlock passphrase, and after how long without use the window locks")
        self.settings_action.triggered.connect(self.show_settings)
        self.dialog: QWidget | None = None

    # --- set-up --------------------------------------------------------------------------
    def install(self, menu_bar: QMenuBar) -> None:
        for title, action in (("&File", self.lock_action), ("&Settings", self.settings_action)):
            menu = menu_titled(menu_bar, title)
            if menu is not None:
                before = next((a for a in menu.actions() if a.isSeparator()), None)
                menu.insertAction(before, action) if before is not None else menu.addAction(
                    action)
        self.window.addAction(self.lock_action)  # Ctrl+Alt+L with the menus closed too
        self.window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def use_settings(self, store: SettingsStore) -> None:
        self.store = store
        self.settings = store.settings.security
        self.check_armed()

    def check_armed(self) -> None:
        """Whether this user has a passphrase (read from the keyring in the background)."""
        name = self.username()

        def work(_progress: Progress) -> bool:
            return unlock.has_passphrase(name)

        self.runner.run(work, label="Checking the screen lock", on_done=self._set_armed,
                        on_error=lambda _error: self._set_armed(False))

    def _set_armed(self, armed: bool) -> None:
        self.armed = bool(armed)
        self.lock_action.setEnabled(self.armed)
        self._restart_idle()
        if not self.armed and self.settings.lock_after_minutes:
            self.window.statusBar().showMessage(
                "The screen lock is not set up: choose an unlock passphrase in Settings → "
                "Screen lock….", 15_000)
        self.armed_changed.emit(self.armed)

    def _restart_idle(self) -> None:
        minutes = self.settings.lock_after_minutes
        if self.armed and minutes and not self.locked:
            self.idle_timer.start(minutes * self.MINUTE_MS)
        else:
            self.idle_timer.stop()

    def stop(self) -> None:
        """The window is shutting down: no more idle lock, no more watching events."""
        self.idle_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _idle(self) -> None:
        self.lock()

    # --- locking -------------------------------------------------------------------------
    def lock(self) -> None:
        if self.locked or not self.armed:
            return
        self.locked = True
        self.idle_timer.stop()
        self._hidden = [w for w in QApplication.topLevelWidgets()
                        if w is not self.window and w.isVisible()]
        for widget in self._hidden:
            widget.hide()
        self._title = self.window.windowTitle()
        self.window.setWindowTitle("caseapp — locked")
        self.panel.say(self.panel.who,
            f"Cases are hidden while you are away. Locked for {self.username()}: type your "
            "unlock passphrase to go on where you left off.")
        self.panel.say(self.panel.message, "")
        self.panel.passphrase.clear()
        self.panel.setGeometry(self.window.rect())
        self.panel.show()
        self.panel.raise_()
        self.panel.passphrase.setFocus(Qt.FocusReason.OtherFocusReason)
        self.locked_changed.emit(True)

    def try_unlock(self, passphrase: str) -> None:
        wait = self.wait_until - time.monotonic()
        if wait > 0:
            self.panel.say(self.panel.message, f"Too many wrong tries: wait {int(wait) + 1} s.")
            return
        name = self.username()
        self.panel.passphrase.setEnabled(False)
        self.panel.unlock_button.setEnabled(False)

        def work(_progress: Progress) -> bool:
            return unlock.passphrase_matches(name, passphrase)

        self.runner.run(work, label="Checking the passphrase", on_done=self._checked,
                        on_error=self._check_failed)

    def _checked(self, matches: bool) -> None:
        self.panel.passphrase.setEnabled(True)
        self.panel.unlock_button.setEnabled(True)
        if matches:
            self.failures = 0
            self._unlock()
            return
        self.failures += 1
        self.panel.passphrase.clear()
        self.panel.passphrase.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.failures >= MAX_TRIES:
            self.failures = 0
            self.wait_until = time.monotonic() + WAIT_SECONDS
            self.panel.say(self.panel.message,
                f"{MAX_TRIES} wrong passphrases: the next try waits {WAIT_SECONDS} seconds.")
        else:
            left = MAX_TRIES - self.failures
            self.panel.say(self.panel.message,
                f"That is not your unlock passphrase. {left} more "
                f"tr{'y' if left == 1 else 'ies'} before a {WAIT_SECONDS}-second wait.")

    def _check_failed(self, error: BaseException) -> None:
        self.panel.passphrase.setEnabled(True)
        self.panel.unlock_button.setEnabled(True)
        message = getattr(error, "message", None) or "The passphrase could not be checked."
        self.panel.say(self.panel.message, f"{message} The window stays locked.")

    def _unlock(self) -> None:
        self.locked = False
        self.panel.hide()
        self.panel.passphrase.clear()
        self.window.setWindowTitle(self._title)
        for widget in self._hidden:
            widget.show()
        self._hidden = []
        self._restart_idle()
        self.locked_changed.emit(False)

    # --- events --------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if watched is self.window:
            app = QApplication.instance()
            if kind == QEvent.Type.Resize and self.locked:
                self.panel.setGeometry(self.window.rect())
            elif kind == QEvent.Type.Close:
                # A closed window watches nothing: its filter must not hold up (or hide)
                # another window of this process.
                self.stop()
            elif kind == QEvent.Type.Show and app is not None:
                app.installEventFilter(self)
            return False
        if self.locked:
            if kind == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow() \
                    and watched is not self.window and not self._inside_panel(watched):
                # A window opening while locked (a task's message) waits hidden.
                self._hidden.append(watched)
                QTimer.singleShot(0, watched.hide)
                return False
            return bool(kind in _BLOCKED_WHILE_LOCKED and not self._inside_panel(watched))
        if kind in _INPUT_EVENTS:
            now = time.monotonic()
            if now - self._last_input > 1.0:  # restart the timer at most once a second
                self._last_input = now
                self._restart_idle()
        return False

    def _inside_panel(self, watched: QObject) -> bool:
        if isinstance(watched, QAction):
            return False
        node: QObject | None = watched
        while node is not None:
            if node is self.panel:
                return True
            node = node.parent()
        return False

    # --- settings ------------------------------------------------------------------------
    def show_settings(self) -> None:
        from ui.dialogs.screen_lock import ScreenLockDialog

        dialog = ScreenLockDialog(self, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()

    def apply(self, settings: SecuritySettings, armed: bool) -> None:
        """What Settings → Screen lock… saved."""
        self.settings = settings
        self._set_armed(armed)
