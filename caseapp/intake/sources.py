"""Reading what staff hand to intake: .eml, Outlook .msg and .mbox files, scans, folders.

Each file yields :class:`SourceItem` values, one per message or scan, in order, without
ever holding a whole mailbox in memory. A file that cannot be read becomes an item with
an ``error`` (shown as one line, "quarantined"), never an exception: one bad file does
not stop a batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from caseapp.intake.mailtypes import DEFAULT_LIMITS, MailLimits

MAIL_SUFFIXES = frozenset({".eml", ".msg", ".mbox", ".mbx"})
SCAN_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class SourceItem:
    """One message or scan to take in."""

    label: str
    """Where it came from, for the result line: "mail/2026-03.mbox #12"."""
    kind: str  # mail | msg | scan
    data: bytes = field(default=b"", repr=False)
    """Raw message bytes (line endings as in the file), Outlook file or scan bytes."""
    error: str = ""
    """Why it could not be read; ``data`` is empty then."""
    sha256: str = ""
    """Of the canonical bytes, also for an item too large to keep (so it dedupes)."""


def canonical_mail(raw: bytes) -> bytes:
    """The form a message is stored and hashed in: LF line endings, no trailing blank
    lines, so the same mail from IMAP (CRLF), a saved .eml and an mbox dedupes."""
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"


def mail_hash(raw: bytes) -> str:
    return hashlib.sha256(canonical_mail(raw)).hexdigest()


def kind_of(path: Path, head: bytes) -> str:
    """mail, msg, mbox, scan or "" (not something intake reads), by name and content."""
    suffix = path.suffix.lower()
    if head.startswith(OLE_MAGIC):
        return "msg"
    if suffix in SCAN_SUFFIXES:
        return "scan"
    if head.startswith(b"From ") or suffix in (".mbox", ".mbx"):
        return "mbox"
    if suffix in (".eml", ".msg"):
        return "mail"  # a .msg that is really MIME text is read as mail
    if head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return "scan"
    first_line = head.split(b"\n", 1)[0]
    if b":" in first_line and not first_line.startswith((b" ", b"\t")):
        name = first_line.split(b":", 1)[0]
        if name and all(33 <= c <= 126 for c in name):
            return "mail"
    return ""


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, with folders walked in name order (hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.parts[-1:]):
                    yield child
        else:
            yield path


def read_items(paths: Iterable[Path], limits: MailLimits = DEFAULT_LIMITS
               ) -> Iterator[SourceItem]:
    for path in expand(paths):
        yield from _read_file(path, limits)


def _read_file(path: Path, limits: MailLimits) -> Iterator[SourceItem]:
    label = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        yield SourceItem(label, "mail", error="no such file")
        return
    except IsADirectoryError:
        yield SourceItem(label, "mail", error="is a folder")
        return
    except OSError as exc:
        yield SourceItem(label, "mail", error=f"cannot be read ({exc.strerror or exc})")
        return
    kind = kind_of(path, head)
    if not kind:
        yield SourceItem(label, "mail",
                         error="not a mail file (.eml, .msg, .mbox) or a scan (.pdf, .png, "
                               ".jpg, .tif)")
        return
    if kind == "mbox":
        yield from read_mbox(path, limits)
        return
    size_limit = limits.max_bytes if kind != "scan" else SCAN_MAX_BYTES
    try:
        size = path.stat().st_size
        if size > size_limit:
            yield SourceItem(label, kind, error=_too_large(size, size_limit),
                             sha256=_file_hash(path))
            return
        data = path.read_bytes()
    except OSError as exc:
        yield SourceItem(label, kind, error=f"cannot be read ({exc.strerror or exc})")
        return
    if not data.strip():
        yield SourceItem(label, kind, error="the file is empty")
        return
    digest = mail_hash(data) if kind == "mail" else hashlib.sha256(data).hexdigest()
    yield SourceItem(label, kind, data=data, sha256=digest)


SCAN_MAX_BYTES = 100 * 1024 * 1024


def _too_large(size: int, limit: int) -> str:
    return (f"too large to take in ({size / 1048576:.1f} MB, the limit is "
            f"{limit / 1048576:.0f} MB); the original file is left where it is")


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_READ_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_mbox(path: Path, limits: MailLimits = DEFAULT_LIMITS) -> Iterator[SourceItem]:
    """The messages of an mbox file, streamed.

    A message starts at a "From " line at the start of the file or after a blank line
    (mboxo and mboxrd); ">From " quoting is undone. A message over the size limit is
    skipped with an error item (its hash still computed, so it is not lost silently).
    """
    number = 0
    lines: list[bytes] = []
    size = 0
    oversize_hash: hashlib._Hash | None = None
    previous_blank = True

    def finish() -> SourceItem | None:
        if number == 0:
            return None
        label = f"{path} #{number}"
        if oversize_hash is not None:
            return SourceItem(label, "mail", error=_too_large(size, limits.max_bytes),
                              sha256=oversize_hash.hexdigest())
        data = b"".join(lines)
        if not data.strip():
            return SourceItem(label, "mail", error="an empty message in the mailbox file")
        return SourceItem(label, "mail", data=data, sha256=mail_hash(data))

    try:
        with path.open("rb") as handle:
            for line in handle:
                if line.startswith(b"From ") and previous_blank:
                    item = finish()
                    if item is not None:
                        yield item
                    number += 1
                    lines, size, oversize_hash = [], 0, None
                    previous_blank = False
                    continue
                previous_blank = line in (b"\n", b"\r\n")
                if number == 0:
                    if line.strip():
                        number = 1  # no leading From_ line: read it as one message
                    else:
                        continue
                if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
                    line = line[1:]
                size += len(line)
                if oversize_hash is None and size > limits.max_bytes:
                    oversize_hash = hashlib.sha256(canonical_mail(b"".join(lines)))
                    lines = []
                if oversize_hash is not None:
                    oversize_hash.update(line.replace(b"\r\n", b"\n"))
                else:
                    lines.append(line)
    except OSError as exc:
        yield SourceItem(f"{path} #{max(number, 1)}", "mail",
                         error=f"the mailbox file could not be read ({exc.strerror or exc})")
        return
    item = finish()
    if item is not None:
        yield item
