"""Logs and bug reports never hold a consumer's personal data (issue 7): canary values
go through a whole workflow, from mail intake to a deletion confirmation, with bugs and
driver errors on the way; then every log file and every bug report is searched for them.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from caseapp.cli import main
from caseapp.logs import bug_report, redact, setup_logging
from caseapp.services import Desk
from tests.mailmaker import mail

NAME = "Quixotl Zabriskie"
EMAIL = "quixotl.zabriskie@canary-mail.example"
PHONE = "(415) 867-5309"
STREET = "742 Evergreen Terrace"
PHRASE = "marmalade tangerine lighthouse"

CANARIES = ("Quixotl", "Zabriskie", "quixotl.zabriskie", "canary-mail", "867-5309",
            "8675309", "Evergreen", "marmalade", "lighthouse")


def leaks(text_: str) -> list[str]:
    folded = text_.lower()
    return [canary for canary in CANARIES if canary.lower() in folded]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    setup_logging(None)  # the next tests log to the terminal only


def log_text(home: Path) -> str:
    files = sorted((home / "data" / "logs").glob("caseapp.log*"))
    assert files, "no log file was written"
    return "".join(path.read_text(encoding="utf-8") for path in files)


def test_a_whole_workflow_with_bugs_on_the_way_leaves_no_canary_in_logs_or_reports(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'canary.sqlite3'}", "--user", "alice"]
    assert main([*db, "init"]) == 0
    eml = tmp_path / "request.eml"
    eml.write_bytes(mail(sender=f"{NAME} <{EMAIL}>", subject=f"Delete {NAME}",
                         message_id="<canary-1@canary-mail.example>",
                         body=f"Please delete everything about me, {NAME}, {STREET}, "
                              f"phone {PHONE}. {PHRASE}.\n"))
    assert main([*db, "import", str(eml)]) == 0
    capsys.readouterr()
    assert main([*db, "cases", "new", "--channel", "phone", "--type", "delete", "--name",
                 NAME, "--email", EMAIL, "--phone", PHONE, "--address",
                 f"{STREET}, Springfield", "--zip", "94110", "--state", "CA", "--json"]) == 0
    ref = json.loads(capsys.readouterr().out)["ref"]
    assert main([*db, "cases", "step", ref, "acknowledge"]) == 0
    assert main([*db, "search", "Zabriskie"]) == 0
    assert ref in capsys.readouterr().out
    assert main([*db, "letter", ref, "acknowledgement", "-o", str(tmp_path / "ack.pdf")]) == 0
    assert main([*db, "audit", "verify"]) == 0

    # A bug whose exception quotes the consumer, as a careless error message would.
    def careless(*_args: object, **_kwargs: object) -> None:
        raise ValueError(f"cannot file {NAME!r} <{EMAIL}> at {STREET!r}, {PHONE}")

    monkeypatch.setattr(Desk, "search", careless)
    assert main([*db, "search", "Zabriskie"]) == 70
    bug_out = capsys.readouterr().err
    assert "ValueError" in bug_out and "careless" in bug_out  # still a useful report

    # A driver error: the row it failed on, in SQLAlchemy's "[parameters: …]".
    def driver_error(self: Desk, *_args: object, **_kwargs: object) -> None:
        with self.db.session() as session:
            session.execute(text("INSERT INTO cases (id, ref) VALUES (:id, :ref)"),
                            {"id": 1, "ref": f"{NAME} {EMAIL} {PHONE}"})

    monkeypatch.setattr(Desk, "search", driver_error)
    assert main([*db, "search", "Zabriskie"]) in (2, 70)
    driver_out = capsys.readouterr().err

    # Something logged with its exception, as the retention purge logs a failed batch.
    try:
        raise RuntimeError(f"purge failed for {NAME} ({EMAIL})")
    except RuntimeError:
        logging.getLogger("caseapp.services.retention").error(
            "retention: %s could not be purged", ref, exc_info=True)

    logged = log_text(home)
    assert "ValueError" in logged and "RuntimeError" in logged and ref in logged
    for where, text_ in (("log", logged), ("bug report", bug_out),
                         ("driver error", driver_out)):
        assert leaks(text_) == [], (where, text_)


def test_the_windows_bug_report_is_redacted_too() -> None:
    pytest.importorskip("PySide6")
    from ui.errors import report_for

    try:
        try:
            raise KeyError(EMAIL)
        except KeyError as inner:
            raise ValueError(f"no case for {NAME!r}, phone {PHONE}") from inner
    except ValueError as error:
        report = report_for(error)
    assert report.kind == "bug"
    assert "KeyError" in report.details and "ValueError" in report.details
    assert "test_the_windows_bug_report_is_redacted_too" in report.details  # the frames
    assert leaks(report.details) == []


@pytest.mark.parametrize(("raw", "shown"), [
    ("no such mailbox 'Ana Ruiz'", "no such mailbox <text>"),
    ("sent to ana.ruiz@example.com", "sent to <email>"),
    ("call +1 (415) 555-0134 or 415.555.0134", "call <number> or <number>"),
    ("ZIP 94110", "ZIP <number>"),
    ("line 42 of 2026", "line 42 of 2026"),  # short numbers are code, not people
    ("[SQL: INSERT INTO parties (name) VALUES (?)]\n[parameters: ('Ana Ruiz',)]",
     "[SQL hidden]\n[parameters hidden]"),
    ('DETAIL:  Key (email)=(ana@example.com) already exists.', "DETAIL: (hidden)"),
])
def test_redaction_examples(raw: str, shown: str) -> None:
    assert redact(raw) == shown


@given(local=st.from_regex(r"[a-z][a-z0-9.+-]{0,20}", fullmatch=True),
       domain=st.from_regex(r"[a-z][a-z0-9-]{0,15}\.(com|org|net|example)", fullmatch=True),
       digits=st.lists(st.integers(0, 9), min_size=10, max_size=10),
       before=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_no_email_or_phone_survives_redaction(local: str, domain: str, digits: list[int],
                                              before: str) -> None:
    number = "".join(map(str, digits))
    phone = f"({number[:3]}) {number[3:6]}-{number[6:]}"
    redacted = redact(f"{before} {local}@{domain} {phone} {number}")
    assert f"{local}@{domain}" not in redacted
    assert not re.search(r"\d{3}\D{0,2}\d{3}\D?\d{4}", redacted)


def test_a_bug_report_keeps_where_it_happened(tmp_path: Path) -> None:
    def inner() -> None:
        raise OSError(f"cannot open {tmp_path / 'x'} for {EMAIL}")

    try:
        inner()
    except OSError as error:
        report = bug_report(error)
    assert "in inner" in report and "raise OSError" in report and "OSError:" in report
    assert EMAIL not in report
