"""Letters by email: sent over SMTP to a real server (aiosmtpd on 127.0.0.1, with
STARTTLS or TLS checked against a throw-away CA, and AUTH), then put on record."""

from __future__ import annotations

import io
import json
import socket
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from caseapp.cli import main
from caseapp.config import SmtpSettings, load_settings, save_smtp_settings
from caseapp.db import cipher
from caseapp.db.models import Letter
from caseapp.errors import ConfigError, InvalidInput, TransitionRefused, UserError
from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.letters.mailer import SmtpLoginFailed, SmtpRefused, SmtpUnavailable, send_raw
from caseapp.secrets import get_secret
from caseapp.services import Desk, letter_email
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.letter_email import CLAIM_LIMIT, check_smtp
from caseapp.services.letters import LetterRequest
from tests import mailmaker
from tests.keyring_fixtures import MemoryKeyring
from tests.letter_cases import _new_case
from tests.smtp_server import (
    FROM_ADDRESS,
    PASSWORD,
    USER,
    SmtpServer,
    free_port,
)

REQUESTER = "zoe.agren@example.com"


def _issued(desk: Desk) -> tuple[str, str]:
    ref = _new_case(desk, ("delete",))
    letter = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="email"))
    return ref, letter.serial


def _use(desk: Desk, server: SmtpServer, security: str = "starttls",
         password: str | None = PASSWORD) -> None:
    desk.use_smtp(server.settings(security), password=password,  # type: ignore[arg-type]
                  ssl_context=server.ssl_context())


def _parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _pdf_of(message: EmailMessage) -> tuple[str, bytes]:
    parts = [part for part in message.iter_attachments()
             if part.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    data = parts[0].get_content()
    assert isinstance(data, bytes)
    return parts[0].get_filename() or "", data


def _actions(desk: Desk, ref: str) -> list[str]:
    return [entry.action for entry in desk.get_case(ref).history]


def _nothing_recorded(desk: Desk, ref: str, serial: str) -> None:
    case = desk.get_case(ref)
    assert [m for m in case.messages if m.direction == "out"] == []
    letter = next(v for v in desk.list_letters(ref) if v.serial == serial)
    assert letter.emailed_at is None and letter.emailed_to == ""
    assert "letter.emailed" not in _actions(desk, ref)


def _claim_of(desk: Desk, serial: str) -> tuple[datetime | None, str]:
    with desk.db.session() as session:
        row = session.scalars(select(Letter).where(Letter.serial == serial)).one()
        return row.sending_at, row.sending_by


def _set_claim(desk: Desk, serial: str, at: datetime, by: str) -> None:
    """Another workstation's claim, as it would have written it."""
    with desk.db.session() as session:
        row = session.scalars(select(Letter).where(Letter.serial == serial)).one()
        row.sending_at, row.sending_by = at, by
        session.commit()


def test_an_emailed_letter_arrives_with_its_pdf_and_joins_the_case_thread(
        desk: Desk, smtp_server: SmtpServer) -> None:
    ref, serial = _issued(desk)
    _use(desk, smtp_server)
    sent = desk.email_letter(ref, serial)

    assert sent.to == REQUESTER and not sent.again
    [received] = smtp_server.messages
    assert received.tls  # after STARTTLS
    assert received.rcpt_tos == (REQUESTER,) and received.mail_from == FROM_ADDRESS
    assert received.login == USER
    message = _parsed(received.data)
    assert ref in str(message["Subject"])
    assert message["Message-ID"] == sent.message_id
    assert message["To"].addresses[0].addr_spec == REQUESTER
    assert message["To"].addresses[0].display_name == "Zoë Ågren"
    assert message["From"].addresses[0].addr_spec == FROM_ADDRESS
    assert message["Date"] is not None and message["In-Reply-To"] is None
    filename, pdf = _pdf_of(message)
    assert pdf == desk.letter_pdf(ref, serial)
    assert filename == f"{ref}-acknowledgement-{serial}.pdf"
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert ref in pdf_text
    body = message.get_body(("plain",))
    assert body is not None
    assert ref in body.get_content() or "Zoë" in body.get_content()

    outgoing = [m for m in desk.get_case(ref).messages if m.direction == "out"]
    assert len(outgoing) == 1 and outgoing[0].channel == "email"
    assert desk.raw_message(sent.message_db_id) == received.data
    detail = desk.get_message(sent.message_db_id)
    assert ref in detail.subject and REQUESTER in detail.recipients
    assert [a.filename for a in detail.attachments] == [filename]
    letter = next(v for v in desk.list_letters(ref) if v.serial == serial)
    assert letter.emailed_to == REQUESTER and letter.emailed_at == desk.clock.now()
    assert letter.status == "emailed"
    assert _actions(desk, ref).count("letter.emailed") == 1
    assert desk.verify_audit().ok


def test_sending_the_same_letter_again_must_be_asked_for(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    desk = sqlite_desk
    ref, serial = _issued(desk)
    _use(desk, smtp_server, "ssl")
    desk.email_letter(ref, serial)
    with pytest.raises(TransitionRefused, match=r"already emailed to zoe\.agren@example\.com on"):
        desk.email_letter(ref, serial)
    assert len(smtp_server.messages) == 1
    again = desk.email_letter(ref, serial, again=True)
    assert again.again and len(smtp_server.messages) == 2
    assert all(m.tls for m in smtp_server.messages)
    outgoing = [m for m in desk.get_case(ref).messages if m.direction == "out"]
    assert len(outgoing) == 2
    assert _actions(desk, ref).count("letter.emailed") == 2


def test_server_down_is_a_clear_error_and_nothing_is_recorded(
        desk: Desk, smtp_server: SmtpServer) -> None:
    ref, serial = _issued(desk)
    nobody = SmtpSettings(host="127.0.0.1", port=free_port(), security="starttls", user=USER,
                          from_address=FROM_ADDRESS)
    desk.use_smtp(nobody, password=PASSWORD, ssl_context=smtp_server.ssl_context())
    with pytest.raises(SmtpUnavailable, match="connection was refused") as caught:
        desk.email_letter(ref, serial)
    assert PASSWORD not in caught.value.message
    _nothing_recorded(desk, ref, serial)


def test_wrong_password_is_a_clear_error_without_the_password(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    ref, serial = _issued(sqlite_desk)
    wrong = "not-the-Right-one-42"
    _use(sqlite_desk, smtp_server, password=wrong)
    with pytest.raises(SmtpLoginFailed, match="refused the login") as caught:
        sqlite_desk.email_letter(ref, serial)
    assert wrong not in caught.value.message and PASSWORD not in caught.value.message
    assert smtp_server.messages == [] and smtp_server.state.logins_failed >= 1  # PLAIN, LOGIN
    _nothing_recorded(sqlite_desk, ref, serial)


def test_an_untrusted_certificate_is_refused(sqlite_desk: Desk,
                                             smtp_server: SmtpServer) -> None:
    ref, serial = _issued(sqlite_desk)
    sqlite_desk.use_smtp(smtp_server.settings(), password=PASSWORD)  # system CAs only
    with pytest.raises(SmtpUnavailable, match="certificate could not be verified"):
        sqlite_desk.email_letter(ref, serial)
    assert smtp_server.messages == []
    _nothing_recorded(sqlite_desk, ref, serial)


def test_a_refused_recipient_is_named_and_nothing_is_recorded(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    ref, serial = _issued(sqlite_desk)
    smtp_server.refuse.add(REQUESTER)
    _use(sqlite_desk, smtp_server)
    with pytest.raises(SmtpRefused, match=r"refused the recipient.*zoe\.agren@example\.com"):
        sqlite_desk.email_letter(ref, serial)
    _nothing_recorded(sqlite_desk, ref, serial)


def test_no_email_address_on_the_case_is_named_and_to_overrides(
        desk: Desk, smtp_server: SmtpServer) -> None:
    requester = PartyData(name="Ray Post", postal_address="1 Main St\nDover, DE 19901",
                          postal_code="19901", state="DE")
    ref = desk.create_case(NewCase(channel="postal", request_types=("delete",),
                                   requester=requester)).case.ref
    serial = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="post")).serial
    _use(desk, smtp_server)
    with pytest.raises(InvalidInput, match="the requester has no email address"):
        desk.email_letter(ref, serial)
    with pytest.raises(InvalidInput, match="not one email address"):
        desk.email_letter(ref, serial, to="ray at example.com")
    _nothing_recorded(desk, ref, serial)
    sent = desk.email_letter(ref, serial, to="ray.post@example.com")
    assert smtp_server.messages[0].rcpt_tos == ("ray.post@example.com",)
    assert desk.list_letters(ref)[0].emailed_to == "ray.post@example.com" == sent.to


def test_not_set_up_and_no_password_are_clear(sqlite_desk: Desk,
                                              memory_keyring: MemoryKeyring,
                                              smtp_server: SmtpServer) -> None:
    ref, serial = _issued(sqlite_desk)
    sqlite_desk.use_smtp(SmtpSettings())
    with pytest.raises(ConfigError, match="Outgoing mail is not set up"):
        sqlite_desk.email_letter(ref, serial)
    sqlite_desk.use_smtp(smtp_server.settings(), ssl_context=smtp_server.ssl_context())
    with pytest.raises(ConfigError, match="No password is stored for"):
        sqlite_desk.email_letter(ref, serial)
    _nothing_recorded(sqlite_desk, ref, serial)


def test_the_email_answers_the_requesters_last_message(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    desk = sqlite_desk
    raw = mailmaker.mail(message_id="<first@mail.example.com>",
                         subject="Please delete my data", sender="Dana Reed <dana@example.com>")
    result = desk.take_in(SourceItem("mail 1", "mail", data=raw, sha256=mail_hash(raw)))
    assert result.outcome == "created"
    ref = result.case_ref
    serial = desk.issue_letter(ref, LetterRequest("acknowledgement", delivery="email")).serial
    _use(desk, smtp_server)
    sent = desk.email_letter(ref, serial)
    message = _parsed(smtp_server.messages[0].data)
    assert message["In-Reply-To"] == "<first@mail.example.com>"
    assert "<first@mail.example.com>" in message["References"]
    assert sent.to == "dana@example.com"

    # The requester's reply (no case reference in its subject) threads back to the case.
    reply = mailmaker.mail(message_id="<second@mail.example.com>", subject="Re: your letter",
                           sender="Dana Reed <dana@example.com>", in_reply_to=sent.message_id)
    back = desk.take_in(SourceItem("mail 2", "mail", data=reply, sha256=mail_hash(reply)))
    assert back.case_ref == ref and back.outcome != "created"


def test_settings_saved_with_the_password_in_the_keyring_only(
        sqlite_desk: Desk, smtp_server: SmtpServer, memory_keyring: MemoryKeyring,
        tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('timezone = "America/Chicago"\n\n[mail]\nimap_host = "imap.example.com"\n'
                    'imap_user = "privacy"\n')
    assert load_settings(file).smtp == SmtpSettings()  # a file from before [smtp] existed
    desk = sqlite_desk
    desk.use_smtp(None, ssl_context=smtp_server.ssl_context(), settings_file=file)
    assert not desk.smtp_settings().configured
    settings = smtp_server.settings("ssl")
    desk.save_smtp_settings(settings, PASSWORD)
    text = file.read_text()
    assert PASSWORD not in text and "[smtp]" in text and "imap.example.com" in text
    loaded = load_settings(file)
    assert loaded.smtp == settings and loaded.timezone == "America/Chicago"
    assert get_secret(settings.secret_name) == PASSWORD
    assert settings.secret_name == f"smtp:{USER}@127.0.0.1"
    assert desk.smtp_password_stored()
    assert "logged in as" in desk.check_smtp().sentence()
    with pytest.raises(SmtpLoginFailed):
        desk.check_smtp(password="wrong-one")
    ref, serial = _issued(desk)
    desk.email_letter(ref, serial)
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0].tls


@pytest.mark.parametrize(("values", "problem"), [
    ({"host": "smtp.example.com", "security": "none"}, "allowed only for a server on this"),
    ({"host": "smtp://smtp.example.com"}, "name only"),
    ({"host": "smtp.example.com", "port": 0}, "port must be a whole number"),
    ({"host": "smtp.example.com", "from_address": "not an address"}, "one email address"),
])
def test_bad_smtp_settings_are_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        SmtpSettings(**{"from_address": FROM_ADDRESS, **values})  # type: ignore[arg-type]


def test_a_bad_smtp_table_in_the_file_names_it(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('[smtp]\nhost = "smtp.example.com"\nfrom_address = "a@example.com"\n'
                    'secure = "ssl"\n')
    with pytest.raises(ConfigError, match=r"\[smtp\] unknown setting\(s\): secure"):
        load_settings(file)
    save_smtp_settings(SmtpSettings(host="smtp.example.com", from_address="a@example.com"),
                       tmp_path / "new.toml")
    assert load_settings(tmp_path / "new.toml").smtp.port == 587


def test_the_command_line_sets_up_checks_and_emails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring,
        smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_server.ca_file))  # trust the test CA
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    base = ["--db", url, "--user", "alice"]
    assert main([*base, "init"]) == 0

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*base, *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("smtp", "check")
    assert code == 2 and "not set up" in err
    code, out, _ = run("smtp", "set", "--host", "localhost", "--port", str(smtp_server.port),
                       "--user", USER, "--from", FROM_ADDRESS, "--from-name", "Privacy Office")
    assert code == 0 and "caseapp smtp password" in out
    assert run("smtp", "password", "--stdin", stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = run("smtp", "show")
    assert f"localhost:{smtp_server.port} (starttls)" in out and "stored in" in out
    assert PASSWORD not in out
    code, out, _ = run("smtp", "check")
    assert code == 0 and "logged in as" in out

    desk = Desk(url, "alice")
    try:
        ref, serial = _issued(desk)
    finally:
        desk.close()
    code, out, err = run("email", ref, serial, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["to"] == REQUESTER and ref in shown["subject"]
    code, _, err = run("email", ref, serial)
    assert code == 2 and "--again" in err
    code, out, _ = run("email", ref, serial, "--again")
    assert code == 0 and "again" in out
    assert len(smtp_server.messages) == 2
    settings_text = (tmp_path / "home" / "config" / "settings.toml").read_text()
    assert PASSWORD not in settings_text

    # Only the SMTP password goes: the keyring also holds the case database's key
    # (caseapp.db.cipher), which the command needs to open the database at all.
    assert memory_keyring.items.pop(("caseapp", f"smtp:{USER}@localhost")) == PASSWORD
    assert [name for _, name in memory_keyring.items] == [
        cipher.key_name(tmp_path / "cli.sqlite3")]
    monkeypatch.setattr(smtp_server.state, "users", {USER: "changed"})
    code, _, err = run("email", ref, serial, "--again")
    assert code == 2 and "No password is stored" in err


def test_errors_are_user_errors() -> None:
    for error in (SmtpUnavailable, SmtpLoginFailed, SmtpRefused):
        assert issubclass(error, UserError)


def test_a_server_that_never_answers_times_out_clearly() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", user=USER,
                                from_address=FROM_ADDRESS)
        with pytest.raises(SmtpUnavailable, match=r"no answer within 0\.5 seconds") as caught:
            check_smtp(settings, PASSWORD, timeout_s=0.5)
    assert PASSWORD not in caught.value.message


def test_a_letter_being_sent_is_not_sent_a_second_time_meanwhile(
        desk: Desk, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, serial = _issued(desk)
    desk.add_user("bob", "agent", "Bob Agent")
    _use(desk, smtp_server)
    bob = desk.as_user("bob")
    sending, release = threading.Event(), threading.Event()

    def slow_send(*args: Any, **kwargs: Any) -> None:
        sending.set()  # the claim is committed by now
        assert release.wait(20)
        send_raw(*args, **kwargs)

    monkeypatch.setattr(letter_email, "send_raw", slow_send)
    outcome: list[object] = []
    first = threading.Thread(target=lambda: outcome.append(_try_email(desk, ref, serial)))
    first.start()
    try:
        assert sending.wait(20)
        assert _claim_of(desk, serial) == (desk.clock.now(), "alice")
        with pytest.raises(TransitionRefused,
                           match=rf"{serial} is being emailed by alice since .* UTC"):
            bob.email_letter(ref, serial)
        with pytest.raises(TransitionRefused, match="being emailed by alice"):
            bob.email_letter(ref, serial, again=True)  # not even on purpose
        with pytest.raises(TransitionRefused, match=r"alice \(you, in another window"):
            desk.email_letter(ref, serial)  # the same user at a second workstation
    finally:
        release.set()
        first.join(30)
    [sent] = outcome
    assert isinstance(sent, letter_email.EmailedLetter) and not sent.again
    assert len(smtp_server.messages) == 1
    assert _claim_of(desk, serial) == (None, "")  # cleared with the record
    assert _actions(desk, ref).count("letter.emailed") == 1
    with pytest.raises(TransitionRefused, match="already emailed"):
        bob.email_letter(ref, serial)


def _try_email(desk: Desk, ref: str, serial: str) -> object:
    try:
        return desk.email_letter(ref, serial)
    except Exception as error:  # reported to the test thread
        return error


def test_a_young_claim_refuses_and_a_stale_claim_is_taken_over(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    desk = sqlite_desk
    ref, serial = _issued(desk)
    _use(desk, smtp_server)
    now = desk.clock.now()
    _set_claim(desk, serial, now - CLAIM_LIMIT + timedelta(seconds=30), "bob")
    with pytest.raises(TransitionRefused, match="is being emailed by bob since"):
        desk.email_letter(ref, serial)
    assert smtp_server.messages == []
    _nothing_recorded(desk, ref, serial)

    _set_claim(desk, serial, now - CLAIM_LIMIT - timedelta(seconds=1), "bob")  # crashed
    sent = desk.email_letter(ref, serial)
    assert sent.to == REQUESTER and len(smtp_server.messages) == 1
    assert _claim_of(desk, serial) == (None, "")
    assert _actions(desk, ref).count("letter.emailed") == 1


def test_a_failed_send_leaves_no_claim_and_a_retry_works(
        sqlite_desk: Desk, smtp_server: SmtpServer) -> None:
    desk = sqlite_desk
    ref, serial = _issued(desk)
    smtp_server.refuse.add(REQUESTER)
    _use(desk, smtp_server)
    with pytest.raises(SmtpRefused):
        desk.email_letter(ref, serial)
    assert _claim_of(desk, serial) == (None, "")
    _nothing_recorded(desk, ref, serial)

    smtp_server.refuse.clear()
    sent = desk.email_letter(ref, serial)  # at once, not only after the claim went stale
    assert sent.to == REQUESTER and len(smtp_server.messages) == 1
    assert _claim_of(desk, serial) == (None, "")
