"""The private scratch folder (caseapp.scratch.scratch): personal data that must be a file
for a moment (an attachment opened, a scan being read, a letter being printed) is kept in
memory, readable by this user only, and gone when the program ends, even after a crash."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseapp.db.sharing import MOUNTS, mount_of, parse_mounts
from caseapp.scratch import (
    SCRATCH_ROOT_ENV,
    is_in_memory,
    make_scratch,
    memory_roots,
    scratch,
    write_private,
)
from tests.cups_server import CupsServer

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def filesystem(path: Path) -> str:
    mount = mount_of(path.resolve(), parse_mounts(MOUNTS.read_text()))
    assert mount is not None
    return mount.fstype


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A folder of this user's to hold the scratch folders, as CASEAPP_SCRATCH_ROOT."""
    folder = tmp_path / "scratch"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def disk_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder, as Python sees it, is this empty folder."""
    folder = tmp_path / "disk-temp"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Another program using caseapp: its atexit handlers run (or not) as for real."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def sleeper() -> Iterator[int]:
    """The number of a process that is running."""
    process = subprocess.Popen(["sleep", "120"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def ended_pid() -> int:
    """The number of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# --- where it is, and who can read it -------------------------------------------------------

def test_the_scratch_folder_is_private_and_in_memory_when_the_system_has_a_tmpfs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    memory = [folder for folder in memory_roots()
              if folder.is_dir() and filesystem(folder) == "tmpfs"]
    if not memory:
        pytest.skip("neither XDG_RUNTIME_DIR nor /dev/shm is a tmpfs here")
    monkeypatch.delenv(SCRATCH_ROOT_ENV, raising=False)
    place = scratch()
    assert place.in_memory and filesystem(place.path) == "tmpfs"
    assert is_in_memory(place.path)
    assert place.path.name == f"caseapp-{os.getpid()}"
    assert any(folder in place.path.parents for folder in memory)
    assert mode(place.path) == 0o700
    # /dev/shm is everyone's: the pid folder sits in a folder of this user's own there.
    assert mode(place.path.parent) == 0o700
    assert place.path.parent.stat().st_uid == os.getuid()

    written = write_private(place.path, "signed form.pdf", b"%PDF the form")
    again = write_private(place.path, "signed form.pdf", b"%PDF another form")
    assert written.read_bytes() == b"%PDF the form" and mode(written) == 0o600
    assert again != written and again.read_bytes() == b"%PDF another form"
    assert mode(again) == 0o600 and mode(again.parent) == 0o700
    folder = place.folder("ocr")
    assert folder.parent == place.path and mode(folder) == 0o700

    place.remove()
    assert not place.path.exists()
    assert scratch().path == place.path and place.path.is_dir()  # made again when asked


def test_without_a_memory_folder_it_falls_back_to_the_temp_folder_and_logs_it(
        tmp_path: Path, disk_temp: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_memory = tmp_path / "on-disk"  # a folder on the test disk, not a tmpfs
    not_memory.mkdir()
    assert not is_in_memory(not_memory)
    with caplog.at_level(logging.WARNING, logger="caseapp.scratch"):
        place = make_scratch(memory=[not_memory, tmp_path / "missing"])
    try:
        assert not place.in_memory
        assert place.path == disk_temp / f"caseapp-{os.getpid()}"
        assert mode(place.path) == 0o700
        assert [record.getMessage() for record in caplog.records] == [
            "No memory-backed folder is usable for temporary files (XDG_RUNTIME_DIR, "
            "/dev/shm): attachments opened, scans being read and letters being printed "
            f"are written to {disk_temp} on disk for the time being."]
        assert list(not_memory.iterdir()) == []
    finally:
        place.remove()


def test_a_memory_folder_is_chosen_by_what_proc_mounts_says(tmp_path: Path,
                                                             disk_temp: Path) -> None:
    memory = tmp_path / "ram"
    memory.mkdir(mode=0o700)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\ntmpfs {memory} tmpfs rw,relatime 0 0\n")
    place = make_scratch(memory=[memory], mounts_file=mounts)
    try:
        assert place.in_memory and place.path == memory / f"caseapp-{os.getpid()}"
        assert list(disk_temp.iterdir()) == []
    finally:
        place.remove()


def test_in_a_folder_everyone_can_write_to_a_name_taken_by_another_is_not_used(
        tmp_path: Path, disk_temp: Path) -> None:
    shared = tmp_path / "shm"
    shared.mkdir()
    shared.chmod(0o1777)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"tmpfs {shared} tmpfs rw 0 0\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Someone made this user's folder first, as a link to a folder of theirs.
    (shared / f"caseapp-user-{os.getuid()}").symlink_to(elsewhere)
    place = make_scratch(memory=[shared], mounts_file=mounts)
    try:
        assert place.path.parent == disk_temp and not place.in_memory
        assert list(elsewhere.iterdir()) == []
    finally:
        place.remove()
    (shared / f"caseapp-user-{os.getuid()}").unlink()
    place = make_scratch(memory=[shared], mounts_file=mounts)
    try:
        assert place.path == shared / f"caseapp-user-{os.getuid()}" / f"caseapp-{os.getpid()}"
        assert mode(place.path.parent) == 0o700 and mode(place.path) == 0o700
    finally:
        place.remove()


# --- gone at the end, and after a crash at the next start ------------------------------------

def test_folders_of_programs_no_longer_running_are_removed_and_running_ones_kept(
        root: Path, sleeper: int) -> None:
    dead, alive = root / f"caseapp-{ended_pid()}", root / f"caseapp-{sleeper}"
    for folder in (dead, alive, root / "caseapp-notes"):
        (folder / "attachments").mkdir(parents=True, mode=0o700)
        (folder / "attachments" / "letter.pdf").write_bytes(b"%PDF a consumer's letter")
    place = make_scratch(root)
    try:
        assert not dead.exists()
        assert (alive / "attachments" / "letter.pdf").is_file()
        assert (root / "caseapp-notes" / "attachments" / "letter.pdf").is_file()
        assert sorted(p.name for p in root.iterdir()) == sorted(
            ["caseapp-notes", alive.name, place.path.name])
    finally:
        place.remove()


def test_the_folder_goes_when_the_program_ends_and_after_a_crash_at_the_next_start(
        root: Path) -> None:
    program = """
        import os, sys
        from caseapp.scratch import scratch, write_private
        place = scratch()
        write_private(place.path, "letter.pdf", b"%PDF a consumer's letter")
        print(place.path, flush=True)
        if sys.argv[-1] == "crash":
            os._exit(1)
    """
    ended = run_python(program, **{SCRATCH_ROOT_ENV: str(root)})
    assert ended.returncode == 0, ended.stderr
    folder = Path(ended.stdout.strip())
    assert folder.parent == root and not folder.exists()

    crashed = subprocess.run([sys.executable, "-c", textwrap.dedent(program), "crash"],
                             cwd=ROOT, env={**os.environ, SCRATCH_ROOT_ENV: str(root)},
                             capture_output=True, text=True, timeout=120, check=False)
    assert crashed.returncode == 1
    left = Path(crashed.stdout.strip())
    assert (left / "letter.pdf").is_file()  # killed: nothing could clean up...
    started = run_python("from caseapp.scratch import scratch; scratch()",
                         **{SCRATCH_ROOT_ENV: str(root)})
    assert started.returncode == 0, started.stderr
    assert not left.exists()  # ...until the next start
    assert list(root.iterdir()) == []


# --- a letter printed through the print dialog ----------------------------------------------

def test_a_letter_printed_through_qt_is_spooled_in_the_scratch_folder(
        root: Path, cups: CupsServer) -> None:
    """Qt's CUPS print engine writes the whole print job to a file in TMPDIR (cupsTempFd)
    before handing it to CUPS: the window points TMPDIR into the scratch folder at start."""
    result = run_python(f"""
        import json, os
        from caseapp.scratch import scratch, send_temporary_files_to_scratch
        spool = send_temporary_files_to_scratch()
        from PySide6.QtGui import QPainter
        from PySide6.QtPrintSupport import QPrinter, QPrinterInfo
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        printer = QPrinter(QPrinterInfo.printerInfo({cups.printer!r}),
                           QPrinter.PrinterMode.HighResolution)
        printer.setDocName("scratch-spool letter")
        painter = QPainter()
        assert painter.begin(printer)
        painter.drawText(200, 200, "Dear Ana Ruiz, your data was deleted.")
        def files():
            return sorted(str(p) for p in scratch().path.rglob("*") if p.is_file())
        during = files()
        modes = [os.stat(p).st_mode & 0o777 for p in during]
        painter.end()
        print(json.dumps([str(spool), during, modes, files()]))
    """, **{SCRATCH_ROOT_ENV: str(root), "CUPS_SERVER": cups.address,
            "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    spool, during, modes, after = json.loads(result.stdout)
    assert Path(spool).parent.parent == root
    # The job while it is painted: one file, in the scratch folder, this user's only.
    assert len(during) == 1 and Path(during[0]).parent == Path(spool)
    assert modes == [0o600]
    assert after == []  # handed to CUPS and deleted
    printed = cups.wait_for_output("scratch-spool letter")
    assert printed.stat().st_size > 0
    assert list(root.iterdir()) == []  # and the folder went with the program
