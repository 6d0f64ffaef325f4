"""Starting caseapp again, for a setting read only at start (Settings → Database…).

``request(window)`` remembers this run's command line and closes the window as Quit does
(claims released, background tasks waited for). Once the window's run is over,
ui.launcher closes the desk and, after the command line returned, calls
``run_again_if_requested``: this process is replaced by a new one with the same
arguments (os.execv). A ``--db`` of this run is left out: it would override the database
just chosen in the settings file. No Qt is imported here: the launcher imports this
before it knows whether a window opens.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

_requested: list[str] | None = None


def command(argv: Sequence[str] | None = None) -> list[str]:
    """This process's command line (interpreter first) without ``--db URL``."""
    args = list(sys.orig_argv if argv is None else argv)
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--db":
            skip = True
        elif not arg.startswith("--db="):
            kept.append(arg)
    return kept


def request(window: QWidget) -> bool:
    """Close ``window`` and start again afterwards; False (nothing to do) if the window
    stayed open."""
    global _requested
    _requested = command()
    if not window.close():
        _requested = None
        return False
    return True


def requested() -> list[str] | None:
    return list(_requested) if _requested is not None else None


def cancel() -> None:
    global _requested
    _requested = None


def run_again_if_requested() -> None:
    """Replace this process by a new caseapp (only after a request; everything is closed
    by now). Returns only when no restart was asked for."""
    args = requested()
    if args is None:
        return
    cancel()
    logging.shutdown()  # the log file complete before the process is replaced
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)
