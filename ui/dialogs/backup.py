"""Settings → Backups…: the backups made, *Back up now* (in the background, with progress),
*Restore from a file…* (asked first; the current database is backed up before it is
replaced) and the schedule (every N hours, keep the last N, the folder). And the dialog
shown when the database failed its integrity check, offering the newest backup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from caseapp.config import MAX_BACKUP_HOURS, MAX_BACKUPS_KEPT, BackupSettings, Paths
from caseapp.services import Desk
from caseapp.services.backup import BackupManifest, BackupResult, RestoreResult
from ui.dialogs.confirm import ask
from ui.models.frozen_rows import CellsModel
from ui.tasks import Progress, Task, TaskRunner
from ui.widgets.rows_table import RowsTable

INTRO = (
    "A backup is a copy of the whole case database made while the desk is in use. The "
    "embedded database's backups are encrypted with its own key, kept in this "
    "workstation's keyring: keep a copy of the key apart from them (caseapp database-key "
    "--export), or a lost keyring loses the backups too. Each backup has a manifest of "
    "its row counts and audit chain, checked before anything is restored."
)


@dataclass(frozen=True)
class BackupRow:
    path: Path
    manifest: BackupManifest


class BackupListModel(CellsModel[BackupRow]):
    COL_MADE = 0
    COL_CASES = 1
    COL_SIZE = 2
    COL_FILE = 3
    HEADERS = ("Made (UTC)", "Cases", "Size", "File")

    def text(self, row: BackupRow, column: int) -> str:
        m = row.manifest
        if column == self.COL_MADE:
            return f"{m.created_at:%Y-%m-%d %H:%M}"
        if column == self.COL_CASES:
            return f"{m.row_counts.get('cases', 0):,}"
        if column == self.COL_SIZE:
            return f"{m.size / (1024 * 1024):,.1f} MB"
        if column == self.COL_FILE:
            return row.path.name
        return ""

    def sort_value(self, row: BackupRow, column: int) -> Any:
        m = row.manifest
        if column == self.COL_MADE:
            return m.created_at.isoformat()
        if column == self.COL_CASES:
            return m.row_counts.get("cases", 0)
        if column == self.COL_SIZE:
            return m.size
        return self.text(row, column)

    def tooltip(self, row: BackupRow, column: int) -> str:
        m = row.manifest
        return (f"{row.path}\n{m.rows:,} rows, {m.audit_events:,} audit events (head "
                f"{m.audit_head_hash[:16]}…)")


def _progress_row(bar: QProgressBar) -> QWidget:
    bar.setTextVisible(True)
    bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(bar, 1)
    box.hide()
    return box


class BackupDialog(QDialog):
    restored = Signal(object)  # RestoreResult: the views must reload everything
    schedule_saved = Signal(object)  # BackupSettings

    def __init__(self, desk: Desk, runner: TaskRunner, settings: BackupSettings, paths: Paths,
                 save: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.settings = settings
        self.paths = paths
        self.save = save  # BackupSettings -> Path (the settings file written)
        self.task: Task | None = None
        self.setWindowTitle("Backups")
        self.resize(860, 560)

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = BackupListModel(self)
        self.table: RowsTable[BackupRow] = RowsTable(
            self.model, widths={BackupListModel.COL_MADE: 140, BackupListModel.COL_CASES: 80,
                                BackupListModel.COL_SIZE: 90})
        self.table.horizontalHeader().setSectionResizeMode(
            BackupListModel.COL_FILE, QHeaderView.ResizeMode.Stretch)

        self.every = QSpinBox()
        self.every.setRange(0, MAX_BACKUP_HOURS)
        self.every.setSuffix(" hours")
        self.every.setSpecialValueText("never (no scheduled backups)")
        self.every.setToolTip("24: daily. The window checks every hour whether one is due.")
        self.keep = QSpinBox()
        self.keep.setRange(1, MAX_BACKUPS_KEPT)
        self.keep.setSuffix(" backups")
        self.folder = QLineEdit()
        self.folder.setMinimumWidth(520)
        self.folder.setPlaceholderText(str(paths.backup_dir))
        self.folder.setToolTip("Empty: the data folder's backups (beside the copies made "
                               "before upgrades)")
        browse = QPushButton("Choose…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.save_button = QPushButton("Save schedule")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save_schedule)
        for spin in (self.every, self.keep):
            spin.setMinimumWidth(260)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Back up every", self.every)
        form.addRow("Keep the last", self.keep)
        form.addRow("Folder", folder_row)
        form.addRow("", save_row)
        self._show_settings(settings)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress_bar = QProgressBar()
        self.progress_box = _progress_row(self.progress_bar)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.backup_button = self.buttons.addButton(
            "Back up now", QDialogButtonBox.ButtonRole.ActionRole)
        self.backup_button.setToolTip("A backup into the folder, now, in the background")
        self.backup_button.clicked.connect(self.back_up_now)
        self.restore_button = self.buttons.addButton(
            "Restore from a file…", QDialogButtonBox.ButtonRole.ActionRole)
        self.restore_button.setToolTip("Replace the case database by a backup (asked first; "
                                       "the current database is backed up before)")
        self.restore_button.clicked.connect(self.choose_restore)
        for button in (self.backup_button, self.restore_button):
            button.setAutoDefault(False)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.where)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.buttons)
        runner.task_progressed.connect(self._progressed)
        self.load()

    # --- the list --------------------------------------------------------------------------
    @property
    def folder_path(self) -> Path:
        return self.settings.folder_path(self.paths)

    def _show_settings(self, settings: BackupSettings) -> None:
        self.every.setValue(settings.every_hours)
        self.keep.setValue(settings.keep)
        self.folder.setText(settings.folder)

    def load(self) -> None:
        desk, folder = self.desk, self.folder_path
        self.where.setText(f"Backups in {folder}" + (
            "" if not desk.is_shared else " (PostgreSQL: pg_dump files, not encrypted by "
            "caseapp: keep them on encrypted storage)"))
        self.runner.run(lambda _p: tuple(BackupRow(path, manifest) for path, manifest
                                         in reversed(desk.backups(folder))),
                        label="Listing the backups", on_done=self.model.set_rows,
                        on_error=self.runner.report)

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for the backups",
                                                  str(self.folder_path))
        if chosen:
            self.folder.setText(chosen)

    def save_schedule(self) -> None:
        try:
            settings = BackupSettings(folder=self.folder.text().strip(),
                                      every_hours=self.every.value(), keep=self.keep.value())
            written = self.save(settings)
        except Exception as error:  # ConfigError: said in the dialog, nothing lost
            self.status.setText(f"The schedule was not saved: {getattr(error, 'message', error)}")
            return
        self.settings = settings
        self.status.setText(f"Schedule saved in {written}.")
        self.schedule_saved.emit(settings)
        self.load()

    # --- running -----------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.task is not None

    def _start(self, label: str, work: Any, on_done: Any) -> Task | None:
        if self.task is not None:
            return None
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(label)
        self.progress_box.show()
        self.status.setText("")
        self.backup_button.setEnabled(False)
        self.restore_button.setEnabled(False)
        self.task = self.runner.run(work, label=label, on_done=on_done, on_error=self._failed)
        return self.task

    def _finish(self) -> None:
        self.task = None
        self.progress_box.hide()
        self.backup_button.setEnabled(True)
        self.restore_button.setEnabled(True)

    def _progressed(self, task_id: int) -> None:
        task = self.task
        if task is None or task.id != task_id:
            return
        done, total, what = task.progress.snapshot()
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
        if what:
            self.progress_bar.setFormat(f"{what}…")

    def back_up_now(self) -> Task | None:
        desk, settings, paths = self.desk, self.settings, self.paths

        def work(progress: Progress) -> BackupResult | None:
            return desk.scheduled_backup(settings, paths, force=True,
                                         progress=lambda d, t, w: progress.set(d, t, w))

        return self._start("Backing up", work, self._backed_up)

    def _backed_up(self, result: BackupResult | None) -> None:
        self._finish()
        if result is not None:
            self.status.setText(result.describe())
        self.load()

    def choose_restore(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(self, "Restore the case database from",
                                                    str(self.folder_path))
        if name:
            self.confirm_restore(Path(name))

    def confirm_restore(self, file: Path) -> None:
        ask(self, "Restore the case database",
            f"Replace the case database {self.desk.database_label} by the backup {file}?\n\n"
            "The backup is checked first (its manifest, row counts and audit chain); the "
            "current database is backed up into the backup folder before it is replaced. "
            "Everything done since the backup was made is no longer in the database.",
            "Restore", lambda: self._restore(file), warning=True)

    def _restore(self, file: Path) -> None:
        self.start_restore(file)

    def start_restore(self, file: Path) -> Task | None:
        desk, folder = self.desk, self.folder_path

        def work(progress: Progress) -> RestoreResult:
            return desk.restore_backup(file, folder, replace=True,
                                       progress=lambda d, t, w: progress.set(d, t, w))

        return self._start("Restoring", work, self._restored)

    def _restored(self, result: RestoreResult) -> None:
        self._finish()
        self.status.setText(result.describe())
        self.restored.emit(result)
        self.load()

    def _failed(self, error: BaseException) -> None:
        self._finish()
        self.status.setText("Nothing was changed.")
        self.runner.report(error)

    def reject(self) -> None:
        if self.busy():
            self.status.setText("Working… the dialog can close when it is done.")
            return
        super().reject()


class DamagedDatabaseDialog(QDialog):
    """The database failed its integrity check: nothing is written to it. Offers the
    newest backup (restored in the background) or quitting."""

    def __init__(self, desk: Desk, runner: TaskRunner, message: str,
                 newest: tuple[Path, BackupManifest] | None, backup_dir: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.newest = newest
        self.backup_dir = backup_dir
        self.result_: RestoreResult | None = None
        self.task: Task | None = None
        self.setWindowTitle("The case database is damaged")
        self.resize(640, 280)
        text = QLabel(message)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        offer = QLabel(
            "No backup was found in the backup folder: ask IT for a copy of the file."
            if newest is None else
            f"Newest backup: {newest[0]} (made {newest[1].created_at:%Y-%m-%d %H:%M} UTC, "
            f"{newest[1].row_counts.get('cases', 0):,} case(s)). Restoring it keeps the damaged "
            "database in the backup folder; what was done since the backup is not in it.")
        offer.setWordWrap(True)
        offer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_box = _progress_row(self.progress_bar)
        self.buttons = QDialogButtonBox()
        self.quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.restore_button = self.buttons.addButton(
            "Restore the newest backup", QDialogButtonBox.ButtonRole.AcceptRole)
        if newest is None:
            self.restore_button.setEnabled(False)
            self.restore_button.setToolTip("No backup was found in the backup folder")
        else:
            file, manifest = newest
            self.restore_button.setToolTip(
                f"{file} (made {manifest.created_at:%Y-%m-%d %H:%M} UTC); the damaged "
                "database is kept in the backup folder")
        self.restore_button.clicked.connect(self.restore)
        self.quit_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(offer)
        layout.addStretch(1)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.buttons)

    def restore(self) -> Task | None:
        if self.newest is None or self.task is not None:
            return None
        file, desk, folder = self.newest[0], self.desk, self.backup_dir
        self.restore_button.setEnabled(False)
        self.quit_button.setEnabled(False)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat("Restoring…")
        self.progress_box.show()

        def work(_progress: Progress) -> RestoreResult:
            return desk.restore_backup(file, folder, replace=True)

        self.task = self.runner.run(work, label="Restoring the newest backup",
                                    on_done=self._restored, on_error=self._failed)
        return self.task

    def _restored(self, result: RestoreResult) -> None:
        self.task = None
        self.result_ = result
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.task = None
        self.progress_box.hide()
        self.quit_button.setEnabled(True)
        self.status.setText(f"The backup was not restored: {getattr(error, 'message', error)}")

    def reject(self) -> None:
        if self.task is None:
            super().reject()
