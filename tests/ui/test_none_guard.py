"""A long day in the window: Qt calls that return nothing never wear ``None`` out
(PySide6 6.12 on Python 3.11 gives back one reference to None too many per call)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import sys
calls = sys.getrefcount(None) + 20_000  # more than None had before the window came
import ui  # the window's package: what the app imports before any Qt call
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for number in range(calls):
    label.setText("case")  # returns nothing
    label.update()
print("still alive")
"""


def test_many_qt_calls_returning_nothing_do_not_abort_the_window() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "still alive"
