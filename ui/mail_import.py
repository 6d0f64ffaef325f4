"""Importing mail files from the window: what may be dropped, counting, the import task.

The import runs as one cancellable background task. It counts the messages first (a
quick scan of the files, no parsing) so the status bar can say "12 of 340", then takes
them in one at a time; each message is its own unit of work, so Cancel stops cleanly
between two messages and whatever was taken in stays taken in (importing the same files
again later skips those as duplicates).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from caseapp.intake.sources import expand, read_items
from caseapp.services import Desk
from caseapp.services.dto import IntakeResult
from ui.tasks import Progress

MAIL_SUFFIXES = (".eml", ".msg", ".mbox", ".mbx")
MBOX_SUFFIXES = (".mbox", ".mbx")
FILE_FILTER = "Mail (*.eml *.msg *.mbox *.mbx);;All files (*)"
_CHUNK = 1 << 20


def choose_mail_files(parent: QWidget) -> list[Path]:
    """The file dialog of File → Import mail… (empty when cancelled); tests replace it."""
    names, _filter = QFileDialog.getOpenFileNames(parent, "Import mail", "", FILE_FILTER)
    return [Path(name) for name in names]


def is_mail_path(path: Path) -> bool:
    """What the window takes in from a drop: mail files, and folders (of mail)."""
    return path.is_dir() or path.suffix.lower() in MAIL_SUFFIXES


def split_droppable(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(mail files and folders, everything else)."""
    accepted: list[Path] = []
    refused: list[Path] = []
    for path in paths:
        (accepted if is_mail_path(path) else refused).append(path)
    return accepted, refused


def _mbox_count(path: Path) -> int:
    """Messages in an mbox: "From " lines at the start or after a blank line."""
    count = 0
    previous_blank = True
    try:
        with path.open("rb") as handle:
            for line in handle:
                if previous_blank and line.startswith(b"From "):
                    count += 1
                previous_blank = line in (b"\n", b"\r\n")
    except OSError:
        return 1
    return max(count, 1)


def count_items(paths: Iterable[Path]) -> int:
    """About how many results an import of these paths gives (one per message, one per
    other file); cheap: mbox files are scanned for separators, nothing is parsed."""
    total = 0
    for path in expand(paths):
        if path.suffix.lower() in MBOX_SUFFIXES:
            total += _mbox_count(path)
        else:
            try:
                with path.open("rb") as handle:
                    head = handle.read(5)
            except OSError:
                head = b""
            total += _mbox_count(path) if head == b"From " else 1
    return total


@dataclass(frozen=True)
class ImportOutcome:
    results: tuple[IntakeResult, ...]
    cancelled: bool
    expected: int
    """How many items the quick count found."""

    def case_refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.case_ref for r in self.results if r.case_ref))

    def summary(self) -> str:
        """One line: what became of the messages; if cancelled, how far it got."""
        counts = Counter(r.outcome for r in self.results)
        parts = []
        for outcome, one, many in (
            ("created", "new case", "new cases"),
            ("threaded", "added to a case", "added to cases"),
            ("duplicate", "duplicate (already taken in)", "duplicates (already taken in)"),
            ("not_request", "not a request", "not requests"),
            ("quarantined", "quarantined", "quarantined"),
            ("failed", "not read", "not read"),
        ):
            if counts[outcome]:
                parts.append(f"{counts[outcome]:,} {one if counts[outcome] == 1 else many}")
        done = len(self.results)
        what = ", ".join(parts) if parts else "nothing taken in"
        if self.cancelled:
            left = max(self.expected - done, 0)
            return (f"Cancelled after {done:,} of {max(self.expected, done):,}: {done:,} "
                    f"taken in ({what}); the other {left:,} were not read. Importing the "
                    "same files again takes in only those.")
        noun = "item" if done == 1 else "items"
        return f"{done:,} {noun}: {what}."


def run_import(desk: Desk, paths: Sequence[Path], progress: Progress) -> ImportOutcome:
    """The background task: count, then take in one message at a time until done or
    cancelled (checked between messages)."""
    progress.set(0, 0, "counting messages…")
    expected = count_items(paths)
    results: list[IntakeResult] = []
    progress.set(0, expected, f"0 of {expected:,}…")
    cancelled = False
    for item in read_items(paths):
        if progress.cancelled:
            cancelled = True
            break
        results.append(desk.take_in(item))
        done = len(results)
        total = max(expected, done)
        progress.set(done, total, f"{done:,} of {total:,}…")
    return ImportOutcome(tuple(results), cancelled, expected)
