"""Files the desk writes for people to keep: written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from caseapp.errors import ConfigError


def write_text_atomically(path: Path, text: str, *, backup: bool = True) -> Path | None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a crash or a
    full disk leaves the old file or the new one, never half of one. With ``backup`` the
    previous file is kept beside it as ``NAME.bak`` (returned; None when there was
    none). Raises ConfigError, the file left as it was, when it cannot be written."""
    # Encoded here, written as bytes: the text as typed (no line endings rewritten).
    return write_bytes_atomically(path, text.encode("utf-8"), backup=backup)


def write_bytes_atomically(path: Path, data: bytes, *, backup: bool = False) -> Path | None:
    """``data`` written whole or not at all, as ``write_text_atomically`` writes text (a
    report exported, a PDF saved); a new file is readable by its owner only."""
    kept = path.with_name(path.name + ".bak")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        had_file = path.exists()
        mode = path.stat().st_mode & 0o777 if had_file else 0o600
        if had_file and backup:
            shutil.copy2(path, kept)
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp_name, mode)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc}); the file "
                          "was left as it was") from exc
    return kept if had_file and backup else None
