"""Importing scanned letters from the window: read each scan in the background, then
let staff review it (ScanReviewDialog) and create its case or add it to one.

The scans are read one after the other, each in its own cancellable task ("Reading page
2 of 3 of letter.pdf" in the status bar), while staff review the ones already read: the
first dialog opens as soon as the first scan is read. Cancel stops the reading; what was
read can still be reviewed. A scan is stored only when staff create its case or attach
it (each in one unit of work), so stopping half-way leaves nothing behind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from caseapp.intake.letter import read_letter
from caseapp.intake.ocr import ScanCancelled, ScanText, ScanUnreadable, ocr_scan, page_images
from caseapp.services import Desk, proposal_for
from caseapp.services.dto import Changed, NewCase
from ui.tasks import Progress, Task, TaskCancelled, TaskRunner

SCAN_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
FILE_FILTER = "Scans (*.pdf *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)"
PICTURE_WIDTH = 1400


def choose_scan_files(parent: QWidget) -> list[Path]:
    """The file dialog of File → Import scans… (empty when cancelled); tests replace it."""
    names, _filter = QFileDialog.getOpenFileNames(parent, "Import scans", "", FILE_FILTER)
    return [Path(name) for name in names]


@dataclass(frozen=True)
class ScanRead:
    """One file as read in the background: its bytes, pages, text and proposal, or why it
    could not be read."""

    path: Path
    data: bytes
    images: tuple[QImage, ...] = ()
    scan: ScanText | None = None
    proposal: NewCase | None = None
    date_written: date | None = None
    reason: str = ""
    """Why the scan cannot be read (empty when it was)."""

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def readable(self) -> bool:
        return self.scan is not None


def read_scan(path: Path, received_on: date, progress: Progress) -> ScanRead:
    """OCR, letter fields, proposal and page pictures of one file (in a worker thread)."""
    name = path.name
    progress.set(0, 0, f"Opening {name}")
    try:
        data = path.read_bytes()
    except OSError as error:
        return ScanRead(path, b"", reason=f"{name} cannot be opened "
                                          f"({error.strerror or error})")

    def pages(done: int, count: int) -> None:
        text = (f"Reading page {done + 1} of {count} of {name}" if done < count
                else f"Read {count} page{'s' if count != 1 else ''} of {name}")
        progress.set(done, count, text)

    try:
        scan = ocr_scan(data, name, cancel=lambda: progress.cancelled, progress=pages)
    except ScanCancelled:
        raise TaskCancelled() from None
    except ScanUnreadable as error:
        return ScanRead(path, data, images=_pictures(data, name, progress),
                        reason=error.reason)
    progress.check()
    progress.set(0, 0, f"Showing {name}")
    fields = read_letter(scan.text)
    return ScanRead(path, data, images=_pictures(data, name, progress), scan=scan,
                    proposal=proposal_for(scan.text, received_on, fields=fields),
                    date_written=fields.date_written)


def _pictures(data: bytes, name: str, progress: Progress) -> tuple[QImage, ...]:
    """The pages as QImages (decoded here, off the GUI thread); none if not an image."""
    progress.check()
    try:
        pngs = page_images(data, name, max_width=PICTURE_WIDTH)
    except ScanUnreadable:
        return ()
    images = []
    for png in pngs:
        image = QImage()
        if image.loadFromData(png, "PNG"):
            images.append(image)
    return tuple(images)


@dataclass
class BatchOutcome:
    created: list[Changed] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)
    """Files never read (reading cancelled, or the review stopped)."""

    def summary(self) -> str:
        parts = []
        if self.created:
            refs = ", ".join(c.case.ref for c in self.created)
            parts.append(f"{len(self.created)} case{'s' if len(self.created) != 1 else ''} "
                         f"created ({refs})")
        if self.attached:
            parts.append(f"{len(self.attached)} added to a case")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.not_read:
            parts.append(f"{len(self.not_read)} not taken in")
        return "Scans: " + ("; ".join(parts) if parts else "nothing taken in")


class ScanBatch(QObject):
    """Reads the files one by one and shows each read scan for review, in order."""

    case_created = Signal(object)  # Changed, for each case created
    finished = Signal(object)  # BatchOutcome

    def __init__(self, desk: Desk, runner: TaskRunner, paths: Sequence[Path],
                 parent_widget: QWidget, *, current_ref: str = "") -> None:
        super().__init__(parent_widget)
        self.desk = desk
        self.runner = runner
        self.paths = list(paths)
        self.parent_widget = parent_widget
        self.current_ref = current_ref
        self.received_on = desk.clock.today()
        self.outcome = BatchOutcome()
        self.ready: deque[ScanRead] = deque()
        self.next_to_read = 0
        self.reviewed = 0
        self.reading: Task | None = None
        self.reading_stopped = False
        self.dialog: QWidget | None = None
        self.done = False
        self.stopped = False

    # --- reading -------------------------------------------------------------------------
    def start(self) -> None:
        self._read_next()

    def _read_next(self) -> None:
        if self.reading_stopped or self.next_to_read >= len(self.paths):
            self.reading = None
            return
        number = self.next_to_read + 1
        path = self.paths[self.next_to_read]
        total = len(self.paths)
        received = self.received_on

        def read(progress: Progress) -> ScanRead:
            return read_scan(path, received, progress)

        label = "Reading scans" + (f" ({number} of {total})" if total > 1 else "")
        self.reading = self.runner.run(read, label=label, on_done=self._read,
                                       on_error=self._read_failed, cancellable=True,
                                       on_cancelled=self._reading_cancelled)

    def _read(self, read: ScanRead) -> None:
        self.next_to_read += 1
        if self.stopped:  # read before the cancel was noticed: not reviewed
            self.outcome.not_read.append(read.filename)
            self.reading = None
            self._finish()
            return
        self.ready.append(read)
        self._read_next()
        self._review_next()

    def _read_failed(self, error: BaseException) -> None:
        """A bug while reading (the service itself never raises for a bad scan)."""
        self.reading = None
        self.reading_stopped = True
        self.runner.report(error)
        if self.stopped:
            self._finish()
        else:
            self._review_next()

    def _reading_cancelled(self) -> None:
        self.reading = None
        self.reading_stopped = True
        if self.stopped:
            self._finish()
        else:
            self._review_next()

    def cancel_reading(self) -> None:
        self.reading_stopped = True
        if self.reading is not None:
            self.runner.cancel(self.reading.id)

    # --- reviewing -----------------------------------------------------------------------
    def _review_next(self) -> None:
        if self.dialog is not None or self.done:
            return
        if self.ready:
            self._open(self.ready.popleft())
        elif self.reading is None:
            self._finish()

    def _open(self, read: ScanRead) -> None:
        from ui.dialogs.scan_review import ScanReviewDialog

        self.reviewed += 1
        dialog = ScanReviewDialog(self.desk, self.runner, read, self.reviewed,
                                  len(self.paths), self.parent_widget,
                                  current_ref=self.current_ref)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(self._created)
        dialog.attached.connect(self._attached)
        dialog.skipped.connect(self._skipped)
        dialog.stopped.connect(self._stopped)
        self.dialog = dialog
        dialog.show()
        dialog.activateWindow()

    def _closed(self) -> None:
        self.dialog = None
        self._review_next()

    def _created(self, changed: Changed) -> None:
        self.outcome.created.append(changed)
        self.case_created.emit(changed)
        self._closed()

    def _attached(self, ref: str) -> None:
        self.outcome.attached.append(ref)
        self._closed()

    def _skipped(self, name: str) -> None:
        self.outcome.skipped.append(name)
        self._closed()

    def _stopped(self, name: str) -> None:
        """Stop: this scan and every one not reviewed yet are not taken in."""
        self.stopped = True
        self.cancel_reading()
        self.outcome.not_read.append(name)
        self.outcome.not_read.extend(read.filename for read in self.ready)
        self.ready.clear()
        self.dialog = None
        if self.reading is None:
            self._finish()
        # else: _reading_cancelled (or _read) comes back and finishes

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self.outcome.not_read.extend(path.name for path in self.paths[self.next_to_read:])
        self.finished.emit(self.outcome)
