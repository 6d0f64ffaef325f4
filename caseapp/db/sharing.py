"""A SQLite file on a network share is refused: a shared desk needs PostgreSQL.

SQLite's locking (and WAL's shared memory) does not work over NFS, SMB/CIFS, sshfs and
the like: two workstations writing one file on a share corrupt it sooner or later. So a
case database whose folder is on a network file system is not opened at all, with the
reason and what to do instead (README, "Shared set-up"). The file system is the one
``/proc/mounts`` gives for the file's folder (the longest mount point above it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caseapp.errors import DatabaseUnavailable

MOUNTS = Path("/proc/mounts")
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "sshfs", "fuse.sshfs", "9p", "afs",
    "ncpfs", "coda", "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph", "cephfs", "lustre",
    "gfs2", "ocfs2", "davfs", "fuse.davfs2", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse",
    "beegfs", "orangefs", "pvfs2", "fuse.smbnetfs", "fuse.curlftpfs",
})


@dataclass(frozen=True)
class Mount:
    point: Path
    fstype: str
    source: str

    @property
    def is_network(self) -> bool:
        return self.fstype.lower() in NETWORK_FILESYSTEMS


def _unescape(field: str) -> str:
    """/proc/mounts writes a space as \\040, a tab as \\011, a backslash as \\134."""
    out, i = [], 0
    while i < len(field):
        code = field[i + 1:i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mounts(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append(Mount(Path(_unescape(parts[1])), parts[2], _unescape(parts[0])))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """The mount holding ``path`` (the longest mount point above it; the last mounted
    wins for the same point, as the kernel lists them)."""
    best: Mount | None = None
    for mount in mounts:
        inside = path == mount.point or mount.point in path.parents
        if inside and (best is None or len(mount.point.parts) >= len(best.point.parts)):
            best = mount
    return best


def _existing_folder(file: Path) -> Path:
    folder = file.expanduser().absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.resolve()


def network_mount(file: Path, mounts_file: Path = MOUNTS) -> Mount | None:
    """The network mount the database file's folder is on, or None (a local disk, or a
    system without /proc/mounts)."""
    try:
        text = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    mount = mount_of(_existing_folder(file), parse_mounts(text))
    return mount if mount is not None and mount.is_network else None


def refuse_network_share(url: str, mounts_file: Path = MOUNTS) -> None:
    """Raise DatabaseUnavailable, saying why, for a SQLite file on a network share."""
    from caseapp.db.engine import sqlite_path  # engine is another's; only read from it

    try:
        path = sqlite_path(url)
    except Exception:  # not a URL at all: the engine says so, better
        return
    if path is None:
        return
    mount = network_mount(path, mounts_file)
    if mount is None:
        return
    raise DatabaseUnavailable(
        f"The case database {path} is on a network share ({mount.fstype} from "
        f"{mount.source}, mounted at {mount.point}). It was not opened: SQLite cannot be "
        "shared safely over the network — its locking does not work there and the file "
        "gets corrupted when two workstations write to it. For a desk shared by several "
        "workstations use a PostgreSQL server (README, \"Shared set-up\": caseapp --db "
        "postgresql+psycopg://USER@HOST/DB); for one workstation keep the file on this "
        "computer's own disk.")
