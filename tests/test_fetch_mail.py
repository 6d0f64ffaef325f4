"""Fetching a real IMAP mailbox (a private Dovecot) into cases, idempotently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from caseapp.config import MailSettings
from caseapp.db import cipher
from caseapp.demo_mailbox import messages as demo_messages
from caseapp.errors import ConfigError
from caseapp.intake import MailParser
from caseapp.intake.imap import PROCESSED_KEYWORD, Mailbox
from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.secrets import SecretStoreUnavailable, get_secret
from caseapp.services import Desk, MailOrigin
from tests import mailmaker
from tests.imap_server import ImapAccount
from tests.keyring_test_backend import FILE_VARIABLE, TestOnlyKeyring

REPO = Path(__file__).resolve().parent.parent
EXPECTED = ["created", "created", "created", "created", "created", "threaded", "not_request",
            "created", "not_request", "quarantined"]


@pytest.fixture(scope="module")
def parser() -> Iterator[MailParser]:
    with MailParser() as pool:
        yield pool


@pytest.fixture
def mail_desk(desk: Desk, parser: MailParser) -> Desk:
    desk.share_mail_parser(parser)
    return desk


def test_a_mixed_mailbox_becomes_the_right_cases_and_a_second_fetch_adds_nothing(
        mail_desk: Desk, imap_account: ImapAccount) -> None:
    uids = [imap_account.append(raw) for raw in demo_messages()]
    settings = imap_account.settings()
    first = list(mail_desk.fetch_mail(settings, password=imap_account.password))
    assert [r.outcome for r in first] == EXPECTED
    assert all(PROCESSED_KEYWORD in imap_account.flags(uid) for uid in uids)
    assert all("\\Seen" not in imap_account.flags(uid) for uid in uids)  # staff still see it
    created = [r.case_ref for r in first if r.outcome == "created"]
    assert first[5].case_ref == created[0]  # the reply joined the first request
    assert list(mail_desk.fetch_mail(settings, password=imap_account.password)) == []
    # The same messages delivered again (new UIDs): duplicates, flagged, no new rows.
    again = [imap_account.append(raw) for raw in demo_messages()[:3]]
    results = list(mail_desk.fetch_mail(settings, password=imap_account.password))
    assert [r.outcome for r in results] == ["duplicate"] * 3
    assert all(PROCESSED_KEYWORD in imap_account.flags(uid) for uid in again)
    assert mail_desk.verify_audit().ok


def test_a_message_committed_but_not_flagged_is_recognized_by_its_uid(
        mail_desk: Desk, imap_account: ImapAccount) -> None:
    raw = mailmaker.mail()
    uid = imap_account.append(raw)
    settings = imap_account.settings()
    # A workstation took the message in and died before flagging it on the server.
    with Mailbox.connect(settings, imap_account.password) as mailbox:
        origin = MailOrigin("crashed", mailbox_key=mailbox.key,
                            uidvalidity=mailbox.uidvalidity, uid=uid)
    first = mail_desk.take_in(SourceItem("crashed", "mail", data=raw,
                                         sha256=mail_hash(raw)), origin)
    assert first.outcome == "created"
    assert PROCESSED_KEYWORD not in imap_account.flags(uid)
    [again] = mail_desk.fetch_mail(settings, password=imap_account.password)
    assert (again.outcome, again.case_ref) == ("duplicate", first.case_ref)
    assert PROCESSED_KEYWORD in imap_account.flags(uid)
    assert list(mail_desk.fetch_mail(settings, password=imap_account.password)) == []


def test_the_mail_arrival_time_starts_the_legal_clock(mail_desk: Desk,
                                                     imap_account: ImapAccount) -> None:
    raw = mailmaker.mail(date=None, message_id="<nodate@example.com>")
    imap_account.append(raw)
    [result] = mail_desk.fetch_mail(imap_account.settings(), password=imap_account.password)
    case = mail_desk.get_case(result.case_ref)
    # Dovecot's INTERNALDATE for an APPEND is now; the desk clock is fixed earlier, so
    # the arrival is capped at the desk's now rather than lying in its future.
    assert case.received_at == mail_desk.clock.now()


def test_no_password_or_no_settings_say_what_to_do(mail_desk: Desk,
                                                   memory_keyring: object) -> None:
    with pytest.raises(ConfigError, match="not set up"):
        list(mail_desk.fetch_mail(MailSettings()))
    unknown = MailSettings(imap_host="127.0.0.1", imap_port=1, imap_user="nobody-here",
                           imap_security="none")
    with pytest.raises(ConfigError, match="caseapp mail password"):
        list(mail_desk.fetch_mail(unknown))


def test_a_plaintext_keyring_is_refused_with_what_to_do(mail_desk: Desk,
                                                        plaintext_keyring: object) -> None:
    configured = MailSettings(imap_host="127.0.0.1", imap_port=1, imap_user="privacy",
                              imap_security="none")
    with pytest.raises(SecretStoreUnavailable, match="PlaintextKeyring"):
        list(mail_desk.fetch_mail(configured))


# ---------------------------------------------------------------- the command line --

def _cli_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CASEAPP_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1",
            "PYTHON_KEYRING_BACKEND": "tests.keyring_test_backend.TestOnlyKeyring",
            "CASEAPP_TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
            "PYTHONPATH": str(REPO)}


def _caseapp(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caseapp", *args], env=_cli_env(tmp_path),
                          input=stdin, capture_output=True, text=True, timeout=300)


def _cli_database_key(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The key of the (encrypted) database ``path`` that the commands run by _caseapp
    stored in their keyring (the test-only file keyring of _cli_env)."""
    monkeypatch.setenv(FILE_VARIABLE, _cli_env(tmp_path)[FILE_VARIABLE])
    key = cipher.read_key(path, lookup=lambda name: get_secret(name, backend=TestOnlyKeyring()))
    assert key is not None
    return key


def test_fetch_mail_from_the_command_line_killed_half_way_and_run_again(
        imap_account: ImapAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = 60
    for n in range(count):
        imap_account.append(mailmaker.mail(message_id=f"<k{n}@example.com>",
                                           subject=f"Delete my data ({n})",
                                           sender=f"P{n} <p{n}@example.com>"))
    server = imap_account.server
    assert _caseapp(tmp_path, "init").returncode == 0
    setup = _caseapp(tmp_path, "mail", "setup", "--host", server.host, "--port",
                     str(server.port), "--user", imap_account.user, "--security", "none")
    assert setup.returncode == 0, setup.stderr
    stored = _caseapp(tmp_path, "mail", "password", "--stdin",
                      stdin=imap_account.password + "\n")
    assert stored.returncode == 0, stored.stderr
    assert imap_account.password not in (tmp_path / "home" / "config" / "settings.toml"
                                         ).read_text()
    shown = _caseapp(tmp_path, "mail", "show")
    assert "password: stored in" in shown.stdout

    process = subprocess.Popen([sys.executable, "-m", "caseapp", "fetch-mail"],
                               env=_cli_env(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    assert process.stdout is not None
    printed = []
    deadline = time.monotonic() + 120
    while len(printed) < count // 3 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert count // 3 <= len(printed) < count

    second = _caseapp(tmp_path, "fetch-mail", "--json")
    assert second.returncode == 0, second.stderr
    outcomes = [json.loads(line)["outcome"] for line in second.stdout.splitlines()]
    assert set(outcomes) <= {"created", "duplicate"}
    assert len(printed) + outcomes.count("created") == count
    third = _caseapp(tmp_path, "fetch-mail")
    assert third.stdout == "" and "nothing new" in third.stderr
    path = tmp_path / "home" / "data" / "cases.sqlite3"
    with closing(cipher.connect(path, _cli_database_key(tmp_path, path, monkeypatch))) as db:
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (count,)
        assert db.execute("SELECT count(DISTINCT imap_uid) FROM messages").fetchone() == (
            count,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _caseapp(tmp_path, "audit", "verify").returncode == 0


def test_a_server_without_custom_keywords_is_read_by_uid_and_never_flagged(
        mail_desk: Desk, imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only \\Seen would be left, which staff set by reading: never rely on it."""
    monkeypatch.setattr(Mailbox, "uses_custom_keyword", property(lambda _self: False))
    uids = [imap_account.append(raw) for raw in demo_messages()[:3]]
    settings = imap_account.settings()
    first = list(mail_desk.fetch_mail(settings, password=imap_account.password))
    assert [r.outcome for r in first] == ["created", "created", "created"]
    assert all(imap_account.flags(uid) == set() for uid in uids)  # nothing set, not \\Seen
    with imap_account.session() as client:  # a colleague reads the mail in Outlook
        client.select_folder("INBOX")
        client.add_flags(uids, [b"\\Seen"])
    later = imap_account.append(mailmaker.mail(message_id="<later@example.com>"))
    [again] = mail_desk.fetch_mail(settings, password=imap_account.password)
    assert again.outcome == "created" and imap_account.flags(later) == set()
    assert list(mail_desk.fetch_mail(settings, password=imap_account.password)) == []


def test_without_keywords_a_copy_under_a_new_uid_is_reported_once(
        mail_desk: Desk, imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Mailbox, "uses_custom_keyword", property(lambda _self: False))
    raw = mailmaker.mail()
    imap_account.append(raw)
    settings = imap_account.settings()
    assert [r.outcome for r in mail_desk.fetch_mail(
        settings, password=imap_account.password)] == ["created"]
    imap_account.append(raw)  # delivered twice
    assert [r.outcome for r in mail_desk.fetch_mail(
        settings, password=imap_account.password)] == ["duplicate"]
    assert list(mail_desk.fetch_mail(settings, password=imap_account.password)) == []
