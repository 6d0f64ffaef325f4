"""What `bash .ci/setup` (the first step of both README commands) leaves behind."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fresh_bytecode(source: Path) -> bool:
    """Whether Python would load ``source`` from its cached bytecode, not compile it."""
    compiled = Path(importlib.util.cache_from_source(str(source)))
    if not compiled.exists():
        return False
    header = compiled.read_bytes()[:16]
    if header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") & 1:  # by hash (SOURCE_DATE_EPOCH set)
        return header[8:16] == importlib.util.source_hash(source.read_bytes())
    stat = source.stat()
    return (int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def test_the_programs_own_modules_are_byte_compiled() -> None:
    # Where no bytecode is written at run time (PYTHONDONTWRITEBYTECODE, a read-only
    # checkout) every start would compile them again: 0.45 s of a 2 s start.
    subprocess.run(["bash", ".ci/setup"], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    sources = [source for package in ("caseapp", "ui")
               for source in sorted((ROOT / package).rglob("*.py"))]
    assert len(sources) > 100
    assert [str(s.relative_to(ROOT)) for s in sources if not _fresh_bytecode(s)] == []
