"""The private scratch folder, for the files nobody keeps.

Some personal data must be a file for a moment: an attachment opened with another
program, the page images and text of a scan being read by tesseract, a letter on its way
to the printer. The case database is encrypted, so these are not left in the system's
temporary folder on disk: :func:`scratch` gives this process a folder ``caseapp-<pid>``
(mode 0700, its files 0600) in memory when it can — ``$XDG_RUNTIME_DIR`` or
``/dev/shm``, if ``/proc/mounts`` says it is a tmpfs with room for a scan — removed when
the program ends; folders of programs that did not end cleanly are removed by the next
one. Only when no memory-backed folder is usable does it go to the temporary folder on
disk, and the log says so. ``CASEAPP_SCRATCH_ROOT`` names the folder to use instead.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from caseapp.db.sharing import MOUNTS, mount_of, parse_mounts
from caseapp.errors import ConfigError

log = logging.getLogger(__name__)


SCRATCH_ROOT_ENV = "CASEAPP_SCRATCH_ROOT"
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
MIN_FREE = 128 * 1024 * 1024
"""A memory folder with less room than this is not used: a scan is up to 50 MB, and a
page rendered from it about as much."""
_PROCESS_FOLDER = re.compile(r"caseapp-(\d+)")


@dataclass(frozen=True)
class Scratch:
    """One process's private folder ``caseapp-<pid>``, for files nobody keeps."""

    path: Path
    in_memory: bool
    pid: int

    def folder(self, prefix: str) -> Path:
        """A new empty folder inside (0700), named ``prefix-…``."""
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.path))

    def remove(self) -> None:
        """Remove the folder and its files (by the process that made it only: a child
        forked from it must not take the parent's files away)."""
        if os.getpid() == self.pid:
            shutil.rmtree(self.path, ignore_errors=True)


def open_private(path: Path) -> BinaryIO:
    """A new file (never an existing one, never through a link) only its owner can read."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600), "wb")


def write_private(folder: Path, filename: str, data: bytes) -> Path:
    """Write a new file named ``filename`` in ``folder`` (0600, never over another one: a
    second file of the same name goes into a numbered subfolder)."""
    name = Path(filename).name.strip() or "attachment"
    target = folder / name
    number = 1
    while True:
        try:
            out = open_private(target)
            break
        except FileExistsError:
            number += 1
            sub = folder / str(number)
            sub.mkdir(mode=0o700, exist_ok=True)
            target = sub / name
    with out:
        out.write(data)
    return target


_made: dict[str, Scratch] = {}
_making = threading.Lock()


def scratch(root: Path | None = None) -> Scratch:
    """This process's scratch folder, made on first use and removed when the program
    ends: in ``root`` (or ``$CASEAPP_SCRATCH_ROOT``) when given, else chosen by
    :func:`make_scratch`."""
    named = os.environ.get(SCRATCH_ROOT_ENV)
    given = root if root is not None else Path(named) if named else None
    key = str(given or "")
    with _making:  # OCR and attachments may ask from two background threads at once
        made = _made.get(key)
        if made is None or made.pid != os.getpid() or not made.path.is_dir():
            made = make_scratch(given)
            atexit.register(made.remove)
            _made[key] = made
    return made


def make_scratch(root: Path | None = None, *, memory: Sequence[Path] | None = None,
                 mounts_file: Path = MOUNTS) -> Scratch:
    """Make a new ``caseapp-<pid>`` folder (0700) in ``root`` when given; else in the
    first of ``memory`` (default :func:`memory_roots`) that is a tmpfs with room; else,
    logged, in the system's temporary folder. Folders there of programs no longer running
    are removed first. The caller removes it (:func:`scratch` does at exit)."""
    memory = memory_roots() if memory is None else memory
    disk = Path(tempfile.gettempdir())
    # Leftovers of a crash: everywhere this would have made its folder (on disk too, if
    # the last run had to go there).
    for folder in [root] if root is not None else [*memory, disk]:
        base = _base(folder, create=False)
        if base is not None:
            remove_stale(base)
    if root is not None:
        made = _process_folder(root, mounts_file)
        if made is not None:
            return made
        log.warning("The scratch folder %s=%s cannot be used; another one is chosen.",
                    SCRATCH_ROOT_ENV, root)
    for folder in memory:
        if is_in_memory(folder, mounts_file) and _has_room(folder):
            made = _process_folder(folder, mounts_file)
            if made is not None:
                return made
    made = _process_folder(disk, mounts_file)
    if made is None:
        raise ConfigError(f"No private folder for temporary files can be made in {disk}: "
                          "check that it exists and can be written to.")
    if not made.in_memory:
        log.warning("No memory-backed folder is usable for temporary files (XDG_RUNTIME_DIR, "
                    "/dev/shm): attachments opened, scans being read and letters being "
                    "printed are written to %s on disk for the time being.", made.path.parent)
    return made


def send_temporary_files_to_scratch() -> Path:
    """Point ``TMPDIR`` at a folder in the scratch folder, for the temporary files that
    libraries make on their own: Qt spools a letter printed through CUPS to a file there.
    For the window's process, once, at its start: the environment is not safe to change
    while other threads may read it. Python's own ``tempfile`` keeps the system's folder
    (it is asked first), where :func:`make_scratch` falls back to."""
    tempfile.gettempdir()
    folder = scratch().path / "tmp"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ["TMPDIR"] = str(folder)
    return folder


def memory_roots(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Where a memory-backed scratch folder may go: the user's runtime folder, then the
    shared memory folder."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    return [*([Path(runtime)] if os.path.isabs(runtime) else []), Path("/dev/shm")]


def is_in_memory(folder: Path, mounts_file: Path = MOUNTS) -> bool:
    """Whether ``folder`` is on a file system kept in memory (tmpfs), by ``/proc/mounts``."""
    try:
        mounts = parse_mounts(mounts_file.read_text(encoding="utf-8", errors="replace"))
        mount = mount_of(folder.resolve(strict=True), mounts)
    except OSError:
        return False
    return mount is not None and mount.fstype in MEMORY_FILESYSTEMS


def _has_room(folder: Path) -> bool:
    try:
        found = os.statvfs(folder)
    except OSError:
        return False
    return found.f_bavail * found.f_frsize >= MIN_FREE


def _uid() -> int | None:
    return None if sys.platform == "win32" else os.getuid()


def _owned_private_folder(path: Path) -> bool:
    """A real folder (not a link) of this user that nobody else can enter (made so if
    it was not)."""
    try:
        found = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(found.st_mode):
        return False
    uid = _uid()
    if uid is None:
        return True
    if found.st_uid != uid:
        return False
    if found.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return False
    return True


def _base(folder: Path, *, create: bool) -> Path | None:
    """Where ``caseapp-<pid>`` folders go in ``folder``: the folder itself when it is this
    user's; in a folder everyone can write to (/dev/shm, /tmp), a ``caseapp-user-<uid>``
    folder of this user's first, as a name there may have been taken by another user."""
    try:
        found = os.stat(folder)  # /dev/shm may be a link to /run/shm
    except OSError:
        return None
    uid = _uid()
    if not stat.S_ISDIR(found.st_mode) or not os.access(folder, os.W_OK | os.X_OK):
        return None
    if uid is None or not found.st_mode & 0o022:
        return folder if uid is None or found.st_uid == uid else None
    base = folder / f"caseapp-user-{uid}"
    if create:
        with contextlib.suppress(OSError):  # there already, or not possible: checked below
            base.mkdir(mode=0o700)
    return base if _owned_private_folder(base) else None


def _process_folder(folder: Path, mounts_file: Path) -> Scratch | None:
    """A new ``caseapp-<pid>`` folder in ``folder`` (None if it cannot be made there)."""
    base = _base(folder, create=True)
    if base is None:
        return None
    path = base / f"caseapp-{os.getpid()}"
    in_use = {made.path for made in _made.values() if made.pid == os.getpid()}
    try:
        if path not in in_use and _owned_private_folder(path):
            shutil.rmtree(path)  # left by an earlier program that had this number
        path.mkdir(mode=0o700, exist_ok=path in in_use)
        os.chmod(path, 0o700)  # whatever the umask
    except OSError:
        return None
    return Scratch(path, is_in_memory(path, mounts_file), os.getpid())


def remove_stale(base: Path) -> list[Path]:
    """Remove this user's ``caseapp-<pid>`` folders in ``base`` whose program is no
    longer running (it crashed or was killed); returns those removed."""
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PROCESS_FOLDER.fullmatch(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        if _owned_private_folder(entry) and not process_running(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def process_running(pid: int) -> bool:
    """Whether a process with this number runs (on Windows: assumed, never asked)."""
    if sys.platform == "win32":
        return True  # os.kill there would end the process, not ask about it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's
        return True
    return True
