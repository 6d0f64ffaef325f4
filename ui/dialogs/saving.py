"""A dialog that stays open while what was typed into it is saved.

The save runs in the background (the caller's TaskRunner); the dialog waits with its OK
button disabled. A refusal by the service (a ``UserError``: wrong reference, invalid
email, someone else changed the case…) is shown inline, under the form, and nothing
typed is lost; only a successful save closes the dialog.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QWidget

from caseapp.errors import EnvironmentProblem, StaleEdit, UserError

ERROR_STYLE = "color: #b3261e;"
STALE_NOTE = "The case was reloaded with the other change: check it, then save again."


class SavingDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *,
                 ok: QDialogButtonBox.StandardButton = QDialogButtonBox.StandardButton.Ok,
                 ok_text: str = "") -> None:
        super().__init__(parent)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(ok | QDialogButtonBox.StandardButton.Cancel)
        button = self.buttons.button(ok)
        assert button is not None
        self.ok_button: QPushButton = button
        if ok_text:
            self.ok_button.setText(ok_text)
        self._ok_text = self.ok_button.text()
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.saving = False

    # --- for subclasses ------------------------------------------------------------------
    def submit(self) -> None:
        raise NotImplementedError

    def show_problems(self, problems: list[str]) -> None:
        self.error_label.setText("\n".join(problems))
        self.error_label.setVisible(bool(problems))

    def set_saving(self, saving: bool) -> None:
        self.saving = saving
        self.ok_button.setEnabled(not saving)
        self.ok_button.setText("Saving…" if saving else self._ok_text)
        if saving:
            self.error_label.hide()

    # --- for whoever saves ---------------------------------------------------------------
    def saved(self) -> None:
        """The save went through: close."""
        self.set_saving(False)
        self.accept()

    def save_failed(self, error: BaseException) -> bool:
        """The save did not go through; the dialog stays open with what was typed.

        Returns True when the refusal is shown in the dialog; anything else (a bug, a
        lost database) is for the caller to report.
        """
        self.set_saving(False)
        if not isinstance(error, UserError) or isinstance(error, EnvironmentProblem):
            return False
        message = error.message
        if isinstance(error, StaleEdit):
            message += "\n" + STALE_NOTE
        self.show_problems([message])
        return True

    def reject(self) -> None:
        if self.saving:  # the save cannot be called back; its result is waited for
            return
        super().reject()
