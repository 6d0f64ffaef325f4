"""The README's first command, `bash .ci/start --demo`, on an account that has never run
it: a home folder with nothing in it, no desktop session (so the script starts its own
session bus and GNOME Keyring), the window on Qt's offscreen platform."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus and gnome-keyring (bash .ci/setup installs them)")


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    shown = ""
    while time.monotonic() < deadline and process.poll() is None:
        shown = path.read_text(errors="replace")
        if text in shown:
            return shown
        time.sleep(0.25)
    return path.read_text(errors="replace")


def test_a_new_account_gets_the_demo_and_the_window(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()  # empty: no ~/.cache, no keyring yet
    env = {key: value for key, value in os.environ.items()
           if key not in ("DBUS_SESSION_BUS_ADDRESS", "CASEAPP_KEYRING_SESSION",
                          "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "PYTHON_KEYRING_BACKEND",
                          "CASEAPP_TEST_KEYRING_FILE")}
    env.update(HOME=str(home), CASEAPP_HOME=str(home / "caseapp"),
               CASEAPP_KEYRING_PASSWORD="a keyring password", QT_QPA_PLATFORM="offscreen")
    output = tmp_path / "start.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(["bash", ".ci/start", "--demo"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=sink,
                                   stderr=subprocess.STDOUT, process_group=0)
    try:
        shown = _wait_for(output, "Cases whose records exist in the demo systems", process,
                          240)
        assert "Cases whose records exist in the demo systems" in shown, shown[-3000:]
        time.sleep(8)  # the window opens on the demo data ...
        assert process.poll() is None, shown[-3000:]  # ... and stays open
    finally:
        with_group = os.getpgid(process.pid) if process.poll() is None else None
        if with_group is not None:
            os.killpg(with_group, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert (home / "caseapp" / "data" / "cases.sqlite3").exists()
    keyrings = list((home / ".local" / "share" / "keyrings").glob("*.keyring"))
    assert keyrings, "the database key is kept in the new account's keyring"
    assert b"a keyring password" not in b"".join(
        p.read_bytes() for p in (home / "caseapp").rglob("*") if p.is_file())
