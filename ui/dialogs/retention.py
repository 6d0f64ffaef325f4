"""Settings → Retention…: the cases closed more than 24 months ago whose personal
information is due to go (a preview), and, for an administrator, "Purge now" (asked
first; run in the background with a progress bar and Cancel, between batches)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services import Desk
from caseapp.services.retention import (
    RETENTION_MONTHS,
    PurgeCandidate,
    PurgeOutcome,
    PurgePreview,
)
from ui.dialogs.confirm import ask
from ui.formatting import date_text
from ui.models.retention import PurgePreviewModel
from ui.tasks import Progress, Task, TaskRunner
from ui.widgets.rows_table import RowsTable

INTRO = (
    f"Cases closed more than {RETENTION_MONTHS} months ago lose their personal "
    "information: names, contact details and addresses, mail and letters, attachments and "
    "scans with their text, notes, record hits and what record actions changed, the texts "
    "of downstream notices."
)
STAYS = (
    "What stays: the request log (11 CCR §7101: dates, nature and manner of the request, "
    "date and nature of the response, basis for a denial), the case's outline, the "
    "suppression list and the audit trail's outline; each purged case is recorded in the "
    "audit trail. <b>Purging cannot be undone.</b>"
)
COLUMN_WIDTHS = {PurgePreviewModel.COL_REF: 130, PurgePreviewModel.COL_STATUS: 150,
                 PurgePreviewModel.COL_CLOSED: 100, PurgePreviewModel.COL_KEPT: 100}


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


class RetentionDialog(QDialog):
    purged = Signal(object)  # PurgeOutcome of a purge that took something out

    def __init__(self, desk: Desk, runner: TaskRunner, is_admin: bool, schedule: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.is_admin = is_admin
        self.preview: PurgePreview | None = None
        self.task: Task | None = None
        self.last_outcome: PurgeOutcome | None = None
        self.setWindowTitle("Retention")
        self.resize(900, 520)

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        stays = QLabel(STAYS)
        stays.setTextFormat(Qt.TextFormat.RichText)  # our own markup, no value in it
        stays.setWordWrap(True)
        self.schedule_label = QLabel(schedule)
        self.schedule_label.setWordWrap(True)
        self.summary = QLabel("Looking for the cases due…")
        self.summary.setWordWrap(True)
        bold = self.summary.font()
        bold.setBold(True)
        self.summary.setFont(bold)
        self.model = PurgePreviewModel(self)
        self.table: RowsTable[PurgeCandidate] = RowsTable(self.model, widths=COLUMN_WIDTHS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(PurgePreviewModel.COL_WHAT, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.held = QLabel()
        self.held.setWordWrap(True)
        self.held.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the batch being purged (each batch is "
                                      "purged wholly or not at all)")
        self.cancel_button.clicked.connect(self.cancel)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = self.buttons.addButton(
            "Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.load)
        self.purge_button = self.buttons.addButton(
            "Purge now…", QDialogButtonBox.ButtonRole.ActionRole)
        self.purge_button.setAutoDefault(False)
        self.purge_button.setEnabled(False)
        self.purge_button.setToolTip(
            "Take the personal information out of the cases listed (asked first)"
            if is_admin else "Only an administrator can purge")
        self.purge_button.clicked.connect(self.confirm_purge)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(stays)
        layout.addWidget(self.schedule_label)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.held)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.buttons)
        runner.task_progressed.connect(self._progressed)
        self.load()

    # --- the preview -------------------------------------------------------------------
    def load(self) -> None:
        desk = self.desk
        self.refresh_button.setEnabled(False)
        self.runner.run(lambda _p: desk.purge_preview(), label="Looking for cases to purge",
                        on_done=self.show_preview, on_error=self._load_failed)

    def _load_failed(self, error: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.summary.setText("The cases due could not be listed.")
        self.runner.report(error)

    def show_preview(self, preview: PurgePreview) -> None:
        self.preview = preview
        self.model.set_cases(preview.cases)
        count = len(preview.cases)
        before = date_text(preview.closed_before)
        if count:
            self.summary.setText(
                f"{plural(count, 'case')} closed before {before} "
                f"{'are' if count != 1 else 'is'} due to be purged (today: "
                f"{date_text(preview.as_of)}).")
        else:
            self.summary.setText(f"Nothing is due: no case closed before {before} still "
                                 "holds personal information.")
        if preview.held:
            self.held.setText("Kept for now: " + "; ".join(
                f"{ref} ({why})" for ref, why in preview.held) + ".")
        self.held.setVisible(bool(preview.held))
        self.refresh_button.setEnabled(self.task is None)
        self._update()

    def _update(self) -> None:
        busy = self.task is not None
        self.purge_button.setEnabled(self.is_admin and not busy and self.preview is not None
                                     and bool(self.preview.cases))

    # --- purging -----------------------------------------------------------------------
    def confirm_purge(self) -> None:
        preview = self.preview
        if preview is None or not preview.cases or not self.is_admin:
            return
        count = len(preview.cases)
        ask(self, "Purge personal information",
            f"Take the personal information out of {plural(count, 'case')} closed before "
            f"{preview.closed_before}? Names, addresses, mail, attachments, scans, notes and "
            "letters' PDFs are deleted for good; the request log and the audit outline "
            "stay.\n\nThis cannot be undone.",
            "Purge", lambda: self._start(preview), warning=True)

    def _start(self, preview: PurgePreview) -> None:
        self.start_purge(preview)

    def start_purge(self, preview: PurgePreview) -> Task | None:
        if self.task is not None:
            return None
        desk = self.desk

        def work(progress: Progress) -> PurgeOutcome:
            return desk.purge(preview, progress=lambda done, total, ref: progress.set(
                done, total, ref), cancel=lambda: progress.cancelled)

        total = len(preview.cases)
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"Purging 0 of {total}")
        self.cancel_button.setEnabled(True)
        self.progress_box.show()
        self.status.setText("")
        self.task = self.runner.run(work, label="Purging personal information",
                                    on_done=self._purged, on_error=self._purge_failed,
                                    cancellable=True)
        self.refresh_button.setEnabled(False)
        self._update()
        return self.task

    def _progressed(self, task_id: int) -> None:
        task = self.task
        if task is None or task.id != task_id:
            return
        done, total, ref = task.progress.snapshot()
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            text = f"Purging {done} of {total}" + (f" — {ref}" if ref else "")
            if task.progress.cancelled:
                text += " (stopping after this batch…)"
            self.progress_bar.setFormat(text)

    def cancel(self) -> None:
        if self.task is not None:
            self.runner.cancel(self.task.id)
            self.cancel_button.setEnabled(False)
            self.progress_bar.setFormat(self.progress_bar.format().split(" (")[0]
                                        + " (stopping after this batch…)")

    def _finish(self) -> None:
        self.task = None
        self.progress_box.hide()
        self._update()

    def _purged(self, outcome: PurgeOutcome) -> None:
        self._finish()
        self.last_outcome = outcome
        text = outcome.summary()
        refs = [case.ref for case in outcome.purged]
        if refs:
            text += ": " + ", ".join(refs[:8]) + (f" and {len(refs) - 8} more" if len(refs) > 8
                                                 else "")
        text += "."
        if outcome.skipped:
            text += " " + "; ".join(f"{ref}: {why}" for ref, why in outcome.skipped) + "."
        self.status.setText(text)
        if outcome.purged:
            self.purged.emit(outcome)
        self.load()

    def _purge_failed(self, error: BaseException) -> None:
        self._finish()
        self.status.setText("The purge stopped: the cases purged before the problem stay "
                            "purged, the others are as they were.")
        self.runner.report(error)
        self.load()

    def busy(self) -> bool:
        return self.task is not None

    def reject(self) -> None:
        if self.busy():  # the purge goes on in the background; its result is still shown
            self.status.setText("Purging… the dialog closes when the running batch is done "
                                "(or press Cancel).")
            return
        super().reject()
