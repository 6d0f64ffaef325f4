"""How the Records tab changes a case: every Desk call in the background (ui/tasks.py),
one change at a time, a dialog kept open with what was typed until its change went
through (a refusal shows in it), other refusals shown as their message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog

from caseapp.services import Desk
from ui.dialogs.saving import SavingDialog
from ui.tasks import Progress, TaskRunner

T = TypeVar("T")


class RecordChanges(QObject):
    busy_changed = Signal(bool)
    changed = Signal(str)  # the case's ref, after a change went through
    failed = Signal(str)  # the case's ref, after a change was refused or failed
    cancelled = Signal(str)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.ref: str | None = None
        self.busy = False
        self.active_dialog: QDialog | None = None

    @property
    def username(self) -> str:
        return self.desk.username

    def run(self, label: str, work: Callable[[Desk, Progress], T], *,
            then: Callable[[T], None] | None = None, dialog: SavingDialog | None = None,
            cancellable: bool = False,
            on_cancelled: Callable[[], None] | None = None) -> bool:
        """Run ``work(desk, progress)`` for the case shown; False if another change runs."""
        ref = self.ref
        if ref is None or self.busy:
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.set_saving(False)
                dialog.show_problems(["Another change to the records is still running: try "
                                      "again when it is done."])
            return False
        desk = self.desk
        self._set_busy(True)

        def done(result: Any) -> None:
            self._set_busy(False)
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.saved()
            if then is not None:
                then(result)
            self.changed.emit(ref)

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            inline = (dialog is not None and shiboken6.isValid(dialog)
                      and dialog.save_failed(error))
            if not inline:
                self.runner.report(error)
            self.failed.emit(ref)

        def stopped() -> None:
            self._set_busy(False)
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.set_saving(False)
            if on_cancelled is not None:
                on_cancelled()
            self.cancelled.emit(ref)

        self.runner.run(lambda progress: work(desk, progress), label=label, on_done=done,
                        on_error=failed, cancellable=cancellable, on_cancelled=stopped)
        return True

    def open(self, dialog: QDialog) -> None:
        """Open a dialog non-blocking; it deletes itself when closed."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.active_dialog = dialog
        dialog.open()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)
