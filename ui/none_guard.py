"""Keep ``None`` alive under PySide6 6.12 on Python 3.11.

PySide6 6.12.0's bindings give back one reference to ``None`` fewer than they take for
every Qt function returning nothing (``update()``, ``setText()``, ``processEvents()``...).
On Python 3.12 and newer ``None`` is immortal and nothing happens; on 3.11 its count
falls by one per call, and after a few thousand calls (minutes of work in the window)
the interpreter aborts with "Fatal Python error: none_dealloc". Python 3.12 makes
``None`` immortal by giving it a count no program reaches; this does the same on 3.11,
once, before any Qt call. Remove when the project needs Python 3.12 or PySide6 fixes it.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 60
"""References added to None: more than any session gives back (and far from overflow)."""


def protect_none() -> None:
    if sys.version_info >= (3, 12) or getattr(protect_none, "done", False):
        return
    # ob_refcnt is the first field of every object (Py_ssize_t) in CPython's release builds.
    count = ctypes.c_ssize_t.from_address(id(None))
    count.value += HEADROOM
    protect_none.done = True  # type: ignore[attr-defined]
