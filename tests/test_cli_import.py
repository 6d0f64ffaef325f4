"""``caseapp import`` as staff and scripts run it, including being killed half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from caseapp.db import cipher
from tests import mailmaker

MESSAGES = 120


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CASEAPP_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}


def _caseapp(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caseapp", "--db", _url(tmp_path), *args],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cases.sqlite3'}"


def _requests(count: int) -> bytes:
    return mailmaker.mbox(*[
        mailmaker.mail(message_id=f"<req{n}@example.com>", subject=f"Delete my data ({n})",
                       sender=f"Person {n} <person{n}@example.com>")
        for n in range(count)
    ])


@pytest.fixture
def initialized(tmp_path: Path) -> Path:
    assert _caseapp(tmp_path, "init").returncode == 0
    return tmp_path


def test_import_prints_one_line_per_message_and_a_summary(initialized: Path) -> None:
    tmp_path = initialized
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.eml").write_bytes(mailmaker.mail())
    (tmp_path / "in" / "ooo.eml").write_bytes(mailmaker.mail(
        subject="Out of office", message_id="<o@x.example>",
        headers={"Auto-Submitted": "auto-replied"}))
    done = _caseapp(tmp_path, "import", str(tmp_path / "in"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{tmp_path / 'in' / 'a.eml'}: created case PR-2026-00001 (delete · CA)",
        f"{tmp_path / 'in' / 'ooo.eml'}: not a request (an auto-reply that answers no case)",
    ]
    assert "2 items: 1 created case, 1 not a request" in done.stderr
    again = _caseapp(tmp_path, "import", "--json", str(tmp_path / "in" / "a.eml"),
                     str(tmp_path / "missing.eml"))
    assert again.returncode == 1  # something named could not be read
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert [(r["outcome"], r["case_ref"]) for r in lines] == [
        ("duplicate", "PR-2026-00001"), ("failed", "")]
    assert lines[1]["detail"] == "no such file"
    listed = _caseapp(tmp_path, "intake", "not-request", "--json")
    assert [i["subject"] for i in json.loads(listed.stdout)] == ["Out of office"]
    shown = json.loads(_caseapp(tmp_path, "cases", "show", "PR-2026-00001", "--json").stdout)
    assert shown["messages"][0]["subject"] == "Please delete my data"
    assert shown["intake_review"] is True


def test_an_import_killed_half_way_and_run_again_loses_and_doubles_nothing(
        initialized: Path) -> None:
    tmp_path = initialized
    mbox = tmp_path / "big.mbox"
    mbox.write_bytes(_requests(MESSAGES))
    process = subprocess.Popen(
        [sys.executable, "-m", "caseapp", "--db", _url(tmp_path), "import", str(mbox)],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    assert process.stdout is not None
    printed = []
    deadline = time.monotonic() + 120
    while len(printed) < MESSAGES // 4 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
    # kill -9 the whole import (its parser workers too), mid-transaction as it may be.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert MESSAGES // 4 <= len(printed) < MESSAGES

    second = _caseapp(tmp_path, "import", "--json", str(mbox))
    assert second.returncode == 0, second.stderr
    outcomes = [json.loads(line)["outcome"] for line in second.stdout.splitlines()]
    assert len(outcomes) == MESSAGES
    assert set(outcomes) <= {"created", "duplicate"}
    assert outcomes.count("duplicate") >= len(printed)  # what was reported was committed

    path = tmp_path / "cases.sqlite3"
    key = cipher.read_key(path)  # encrypted (caseapp.db.cipher): the key from the keyring
    assert key is not None
    with closing(cipher.connect(path, key)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (MESSAGES,)
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (MESSAGES,)
        assert db.execute("SELECT count(DISTINCT message_id) FROM messages").fetchone() == (
            MESSAGES,)
    assert _caseapp(tmp_path, "audit", "verify").returncode == 0
