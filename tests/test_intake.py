"""Mail intake on both database backends: what becomes of each message, once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from caseapp.db.models import AuditEvent, Blob, Case, Document, Message, Task
from caseapp.errors import InvalidInput
from caseapp.intake import MailParser
from caseapp.intake.mailtypes import ParsedMail
from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.services import Desk, MailOrigin
from caseapp.services.dto import INTAKE_OUTCOMES, CaseQuery, NewCase, PartyData
from tests import mailmaker


@pytest.fixture(scope="module")
def parser() -> Iterator[MailParser]:
    with MailParser() as pool:
        yield pool


@pytest.fixture
def intake_desk(desk: Desk, parser: MailParser) -> Desk:
    desk.share_mail_parser(parser)
    return desk


def item(raw: bytes, label: str = "test.eml") -> SourceItem:
    return SourceItem(label, "mail", data=raw, sha256=mail_hash(raw))


def rows(desk: Desk, model: type) -> int:
    with desk.ctx.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def table_counts(desk: Desk) -> dict[str, int]:
    return {m.__tablename__: rows(desk, m)
            for m in (Case, Message, Document, Blob, Task, AuditEvent)}


# ---------------------------------------------------------------------- new cases --

def test_a_request_by_mail_opens_a_case_from_the_proposal_to_review(intake_desk: Desk) -> None:
    raw = mailmaker.mail(
        received=datetime(2026, 3, 2, 16, 30, tzinfo=UTC),
        date=datetime(2026, 2, 20, 9, 0, tzinfo=UTC),  # the sender's clock: not the start
        attachments=(("../../etc/passwd", "application/pdf", b"%PDF-1.4 fake"),),
    )
    result = intake_desk.take_in(item(raw))
    assert result.outcome == "created"
    case = intake_desk.get_case(result.case_ref)
    assert case.channel == "email"
    assert case.request_types == ("delete",)
    assert case.jurisdiction == "CA"
    assert case.requester.email == "ana.ruiz@example.com"
    assert case.requester.name == "Ana Ruiz"
    assert case.intake_review
    # The legal clock starts when the mail reached our server (Received), not its Date.
    assert case.received_at == datetime(2026, 3, 2, 16, 30)
    assert [m.subject for m in case.messages] == ["Please delete my data"]
    assert case.documents[0].filename != "../../etc/passwd"
    assert "/" not in case.documents[0].filename
    # Nothing lost: the raw bytes and the attachment are stored, by their hashes.
    message = intake_desk.get_message(case.messages[0].id)
    assert intake_desk.raw_message(message.id).startswith(b"Received:")
    _name, media_type, data = intake_desk.document_bytes(message.attachments[0].document_id)
    assert (media_type, data) == ("application/pdf", b"%PDF-1.4 fake")
    assert message.attachments[0].sha256 == hashlib.sha256(data).hexdigest()
    assert [e.action for e in case.history] == ["case.created", "message.received"]
    assert intake_desk.verify_audit().ok


def test_a_warranty_question_is_a_case_marked_not_a_privacy_request(intake_desk: Desk) -> None:
    raw = mailmaker.mail(subject="Warranty on my transmission",
                         body="My car's transmission failed at 30,000 miles. Is the repair "
                              "covered by the warranty?\nBob Stone\n")
    result = intake_desk.take_in(item(raw))
    assert result.outcome == "created"
    case = intake_desk.get_case(result.case_ref)
    assert not case.is_privacy_request
    assert case.request_types == ("other",)


def test_a_parent_writing_about_a_young_child_opens_an_urgent_child_case(
        intake_desk: Desk) -> None:
    raw = mailmaker.mail(subject="My son's account", sender="Maria Lopez <maria@example.com>",
                         body="My son Diego is 9 years old and signed up on your website. "
                              "Please delete his information.\nMaria Lopez\n")
    case = intake_desk.get_case(intake_desk.take_in(item(raw)).case_ref)
    assert case.is_child
    assert case.priority == "urgent"
    assert case.requester.relationship == "parent"
    assert case.subject.is_child and case.subject.age == 9
    assert case.subject.name == "Diego"


def test_confirming_the_proposal_takes_the_case_off_the_review_list(intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    assert [r.ref for r in intake_desk.list_cases(CaseQuery(view="to_review")).rows] == [ref]
    version = intake_desk.get_case(ref).version
    changed = intake_desk.confirm_intake(ref, version)
    assert not changed.case.intake_review
    assert intake_desk.list_cases(CaseQuery(view="to_review")).rows == ()
    assert changed.case.history[-1].action == "case.intake_confirmed"


# ------------------------------------------------------------------------ dedupe --

def test_the_same_message_twice_is_a_duplicate_and_adds_no_row(intake_desk: Desk) -> None:
    raw = mailmaker.mail()
    first = intake_desk.take_in(item(raw))
    before = table_counts(intake_desk)
    again = intake_desk.take_in(item(raw, "again.eml"))
    crlf = intake_desk.take_in(item(raw.replace(b"\n", b"\r\n"), "from-imap.eml"))
    assert (again.outcome, crlf.outcome) == ("duplicate", "duplicate")
    assert again.case_ref == first.case_ref
    assert table_counts(intake_desk) == before


def test_a_mailbox_uid_seen_before_is_a_duplicate_even_with_other_bytes(
        intake_desk: Desk) -> None:
    origin = MailOrigin("INBOX", mailbox_key="privacy@imap/INBOX", uidvalidity=7, uid=42)
    intake_desk.take_in(item(mailmaker.mail()), origin)
    other = mailmaker.mail(message_id="<other@example.com>", subject="Something else")
    assert intake_desk.take_in(item(other), origin).outcome == "duplicate"
    new_validity = MailOrigin("INBOX", mailbox_key="privacy@imap/INBOX", uidvalidity=8, uid=42)
    assert intake_desk.take_in(item(other), new_validity).outcome == "created"


def test_the_same_mail_in_other_bytes_is_a_duplicate(intake_desk: Desk) -> None:
    first = intake_desk.take_in(item(mailmaker.mail()))
    relayed = mailmaker.mail(headers={"X-Relayed": "yes"})  # same Message-ID and text
    before = table_counts(intake_desk)
    result = intake_desk.take_in(item(relayed))
    assert (result.outcome, result.case_ref) == ("duplicate", first.case_ref)
    assert table_counts(intake_desk) == before  # no second message, no "read it" task


def test_the_same_message_id_with_other_text_joins_the_first_ones_case(
        intake_desk: Desk) -> None:
    first = intake_desk.take_in(item(mailmaker.mail()))
    edited = mailmaker.mail(body="Please delete all my data, and my son's too.")
    result = intake_desk.take_in(item(edited))
    assert (result.outcome, result.case_ref) == ("threaded", first.case_ref)
    assert "Message-ID" in result.detail


# --------------------------------------------------------------------- threading --

def test_a_reply_joins_its_case_and_asks_staff_to_read_it(intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    reply = mailmaker.mail(subject="Re: Please delete my data", message_id="<r1@example.com>",
                           in_reply_to="<m1@example.com>", body="Here is my ZIP: 94110.")
    result = intake_desk.take_in(item(reply))
    assert (result.outcome, result.case_ref) == ("threaded", ref)
    case = intake_desk.get_case(ref)
    assert len(case.messages) == 2
    assert [t.title for t in case.tasks if t.status == "open"] == [
        "Read the new message from Ana Ruiz <ana.ruiz@example.com>"]
    assert case.history[-1].action == "message.threaded"


def test_references_alone_are_enough_to_thread(intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    reply = mailmaker.mail(subject="more", message_id="<r2@example.com>",
                           references="<unknown@x.example> <m1@example.com>")
    assert intake_desk.take_in(item(reply)).case_ref == ref


def test_a_case_reference_in_the_subject_joins_that_case(intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    other_sender = mailmaker.mail(subject=f"Your letter {ref.lower()} - my documents",
                                  sender="Agent <agent@example.net>",
                                  message_id="<new@example.net>")
    result = intake_desk.take_in(item(other_sender))
    assert (result.outcome, result.case_ref) == ("threaded", ref)
    assert "subject" in result.detail


def test_an_unknown_reference_in_the_subject_opens_a_new_case(intake_desk: Desk) -> None:
    raw = mailmaker.mail(subject="About PR-2019-99999", message_id="<x9@example.com>")
    assert intake_desk.take_in(item(raw)).outcome == "created"


# --------------------------------------------------------- bounces and auto-replies --

def test_an_auto_reply_to_a_case_joins_it_without_a_task(intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    auto = mailmaker.mail(subject="Out of office", message_id="<ooo@example.com>",
                          in_reply_to="<m1@example.com>",
                          headers={"Auto-Submitted": "auto-replied"}, body="I am away.")
    result = intake_desk.take_in(item(auto))
    assert (result.outcome, result.case_ref) == ("threaded", ref)
    assert result.detail.startswith("auto-reply")
    assert not [t for t in intake_desk.get_case(ref).tasks if t.status == "open"]


def test_auto_replies_and_bounces_that_answer_no_case_never_open_one(
        intake_desk: Desk) -> None:
    before = rows(intake_desk, Case)
    auto = mailmaker.mail(subject="Automatic reply: delete my data", message_id="<a@x.example>",
                          headers={"Auto-Submitted": "auto-replied"})
    vacation = mailmaker.mail(subject="Vacation", message_id="<v@x.example>",
                              headers={"Precedence": "auto_reply"})
    stray = mailmaker.bounce(mailmaker.mail(message_id="<never-ours@x.example>"))
    results = [intake_desk.take_in(item(r)) for r in (auto, vacation, stray)]
    assert [r.outcome for r in results] == ["not_request"] * 3
    assert "bounce" in results[2].detail
    assert rows(intake_desk, Case) == before
    listed = intake_desk.intake_queue("not_request")
    assert {i.subject for i in listed} == {"Automatic reply: delete my data", "Vacation",
                                           "Undelivered Mail Returned to Sender"}


def test_a_bounce_of_a_case_message_joins_that_case(intake_desk: Desk) -> None:
    original = mailmaker.mail()
    ref = intake_desk.take_in(item(original)).case_ref
    result = intake_desk.take_in(item(mailmaker.bounce(original)))
    assert (result.outcome, result.case_ref) == ("threaded", ref)
    assert result.detail.startswith("bounce")
    [task] = [t for t in intake_desk.get_case(ref).tasks if t.status == "open"]
    assert task.title.startswith("A message to the requester bounced")


def test_staff_move_a_stray_message_into_a_case_or_open_one_from_it(
        intake_desk: Desk) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    stray = intake_desk.take_in(item(mailmaker.mail(
        subject="Auto: received", message_id="<s1@x.example>",
        headers={"Auto-Submitted": "auto-generated"})))
    changed = intake_desk.attach_messages([stray.message_db_id or 0], ref)
    assert len(changed.case.messages) == 2
    with pytest.raises(InvalidInput, match="already in"):
        intake_desk.attach_messages([stray.message_db_id or 0], ref)
    other = intake_desk.take_in(item(mailmaker.mail(
        subject="Auto: opt me out", message_id="<s2@x.example>",
        headers={"Auto-Submitted": "auto-generated"})))
    opened = intake_desk.open_case_from_message(other.message_db_id or 0, NewCase(
        channel="email", request_types=("opt_out_marketing",),
        requester=PartyData(name="Ana Ruiz", email="ana.ruiz@example.com")))
    assert opened.case.received_at == datetime(2026, 3, 2, 15, 0)
    assert intake_desk.intake_queue("not_request") == ()


# -------------------------------------------------------------------- quarantine --

def test_hostile_mail_goes_to_quarantine_with_its_reason_and_bytes(intake_desk: Desk) -> None:
    bomb = (b"From: Mallory <m@example.net>\nSubject: boom\nX-Bomb: " + b"a" * 200_000
            + b"\n\nbody\n")
    result = intake_desk.take_in(item(bomb, "bomb.eml"))
    assert result.outcome == "quarantined"
    assert "header" in result.detail
    [listed] = intake_desk.intake_queue("quarantined")
    assert (listed.subject, listed.sender, listed.source_label) == (
        "boom", "Mallory <m@example.net>", "bomb.eml")
    assert intake_desk.raw_message(listed.message_db_id) == bomb
    assert intake_desk.take_in(item(bomb, "bomb-again.eml")).outcome == "duplicate"
    assert intake_desk.verify_audit().ok


def test_a_file_too_large_to_keep_is_quarantined_once_by_its_hash(intake_desk: Desk) -> None:
    huge = SourceItem("huge.eml", "mail", error="too large to take in (30.0 MB)",
                      sha256="ab" * 32)
    assert intake_desk.take_in(huge).outcome == "quarantined"
    assert intake_desk.take_in(huge).outcome == "duplicate"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(raw=st.binary(min_size=1, max_size=3000)
       | st.text(max_size=2000).map(lambda t: ("Subject: x\n\n" + t).encode()))
def test_any_bytes_become_a_result_never_an_error(sqlite_desk: Desk, parser: MailParser,
                                                   raw: bytes) -> None:
    sqlite_desk.share_mail_parser(parser)
    result = sqlite_desk.take_in(item(raw))
    assert result.outcome in INTAKE_OUTCOMES
    assert result.outcome != "failed"
    assert sqlite_desk.take_in(item(raw)).outcome == "duplicate"


# ------------------------------------------------------------------ files, mboxes --

def test_a_mixed_mbox_imports_once_and_again_adds_nothing(intake_desk: Desk,
                                                          tmp_path: Path) -> None:
    request = mailmaker.mail()
    messages = [
        request,
        mailmaker.mail(subject="Re: Please delete my data", message_id="<r@example.com>",
                       in_reply_to="<m1@example.com>", body="From here on, my ZIP is 94110"),
        mailmaker.mail(subject="Out of office", message_id="<o@example.com>",
                       headers={"Auto-Submitted": "auto-replied"}),
        mailmaker.bounce(request),
        mailmaker.mail(subject="Quiero acceder a mis datos", message_id="<es@example.com>",
                       sender="José Núñez <jose@example.com>",
                       body="Hola, quiero saber qué datos personales tienen sobre mí.\n"
                            "Vivo en Texas.\nJosé Núñez\n"),
        b"Subject: bomb\nX-B: " + b"b" * 100_000 + b"\n\nx\n",
    ]
    path = tmp_path / "privacy.mbox"
    path.write_bytes(mailmaker.mbox(*messages))
    first = list(intake_desk.import_files([path]))
    assert [r.outcome for r in first] == ["created", "threaded", "not_request", "threaded",
                                          "created", "quarantined"]
    assert [r.label for r in first] == [f"{path} #{n}" for n in range(1, 7)]
    assert intake_desk.get_case(first[4].case_ref).language == "es"
    assert intake_desk.get_case(first[4].case_ref).request_types == ("access",)
    before = table_counts(intake_desk)
    again = list(intake_desk.import_files([path]))
    assert [r.outcome for r in again] == ["duplicate"] * 6
    assert table_counts(intake_desk) == before
    assert intake_desk.verify_audit().ok


def test_files_that_are_not_mail_are_reported_and_the_rest_still_imports(
        intake_desk: Desk, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just some words\nwithout headers")
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "ok.eml").write_bytes(mailmaker.mail())
    results = {Path(r.label).name: r for r in intake_desk.import_files([tmp_path])}
    assert results["notes.txt"].outcome == "failed"
    assert "not a mail file" in results["notes.txt"].detail
    assert results["empty.eml"].outcome == "failed"
    assert results["ok.eml"].outcome == "created"


# ---------------------------------------------------------------- Outlook .msg --

def _outlook(**overrides: object) -> bytes:
    from tests.msgfile import write_msg

    fields: dict[str, object] = {
        "subject": "Borrar mis datos – José Núñez",
        "sender_name": "José Núñez", "sender_email": "jose.nunez@example.com",
        "to": [("Privacy", "privacy@example.org"), ("Desk", "desk@example.org")],
        "body": "Hola, vivo en California (94110). Quiero que borren todos mis datos "
                "personales.\nJosé Núñez\n",
        "message_id": "<outlook-1@example.com>",
        "date": datetime(2026, 3, 1, 18, 0, tzinfo=UTC),
        "attachments": [("carta firmada.pdf", "application/pdf", b"%PDF-1.4 signed")],
    }
    fields.update(overrides)
    return write_msg(**fields)  # type: ignore[arg-type]


def test_an_outlook_file_imports_like_any_mail_and_dedupes_by_its_bytes(
        intake_desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "request.msg"
    path.write_bytes(_outlook())
    [result] = intake_desk.import_files([path])
    assert result.outcome == "created", result
    case = intake_desk.get_case(result.case_ref)
    assert case.requester.email == "jose.nunez@example.com"
    assert case.summary == "Borrar mis datos – José Núñez"
    assert case.request_types == ("delete",)
    assert case.language == "es"
    assert [d.filename for d in case.documents] == ["carta firmada.pdf"]
    message = intake_desk.get_message(case.messages[0].id)
    assert "desk@example.org" in message.recipients
    # The original Outlook file is what is kept, so importing it again is a duplicate.
    assert intake_desk.raw_message(message.id) == path.read_bytes()
    assert [r.outcome for r in intake_desk.import_files([path])] == ["duplicate"]


def test_an_outlook_reply_threads_by_its_in_reply_to(intake_desk: Desk,
                                                     tmp_path: Path) -> None:
    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    path = tmp_path / "reply.msg"
    path.write_bytes(_outlook(subject="RE: delete", message_id="<outlook-2@example.com>",
                              in_reply_to="<m1@example.com>", attachments=[]))
    [result] = intake_desk.import_files([path])
    assert (result.outcome, result.case_ref) == ("threaded", ref)


def test_a_damaged_outlook_file_is_quarantined(intake_desk: Desk, tmp_path: Path) -> None:
    data = _outlook()
    path = tmp_path / "broken.msg"
    path.write_bytes(data[:1536])  # the header and a sector or two: the rest is gone
    [result] = intake_desk.import_files([path])
    assert result.outcome == "quarantined"
    assert "Outlook" in result.detail


def test_two_workstations_importing_the_same_mailbox_take_each_message_once(
        intake_desk: Desk, database_url: str, parser: MailParser, tmp_path: Path) -> None:
    import threading

    path = tmp_path / "shared.mbox"
    path.write_bytes(mailmaker.mbox(*[
        mailmaker.mail(message_id=f"<c{n}@example.com>", subject=f"Delete me {n}",
                       sender=f"P{n} <p{n}@example.com>") for n in range(30)]))
    intake_desk.add_user("bob", "agent")
    other = Desk(database_url, "bob", clock=intake_desk.clock)
    other.share_mail_parser(parser)
    outcomes: dict[str, list[str]] = {}

    def run(name: str, desk: Desk) -> None:
        outcomes[name] = [r.outcome for r in desk.import_files([path])]

    try:
        threads = [threading.Thread(target=run, args=(n, d))
                   for n, d in (("alice", intake_desk), ("bob", other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        other.close()
    pairs = list(zip(outcomes["alice"], outcomes["bob"], strict=True))
    assert all(sorted(p) == ["created", "duplicate"] for p in pairs), pairs
    assert rows(intake_desk, Message) == 30
    assert rows(intake_desk, Case) == 30
    assert intake_desk.verify_audit().ok


def test_broken_but_readable_mail_still_opens_its_case(intake_desk: Desk) -> None:
    """No Message-ID, no Date, an unknown charset, RFC 2047 and RFC 2231 encoded names,
    a boundary that never closes: all taken in, nothing lost."""
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <jose@example.com>\n"
        b"To: privacy@example.org\n"
        b"Subject: =?iso-8859-1?q?Borrar_mis_datos_-_Jos=E9?=\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="XX"\n\n'
        b"--XX\n"
        b"Content-Type: text/plain; charset=x-unknown-charset\n\n"
        b"Hola, vivo en California. Quiero que borren todos mis datos personales.\n"
        b"--XX\n"
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''carta%20firmada%20Jos%C3%A9.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n"
        b"JVBERi0xLjQK\n"
    )
    result = intake_desk.take_in(item(raw, "broken.eml"))
    assert result.outcome == "created", result
    case = intake_desk.get_case(result.case_ref)
    assert case.requester.name == "José Núñez"
    assert case.summary == "Borrar mis datos - José"
    assert case.request_types == ("delete",)
    assert [d.filename for d in case.documents] == ["carta firmada José.pdf"]
    message = intake_desk.get_message(case.messages[0].id)
    assert "borren todos mis datos" in message.body_text
    assert message.sent_at is None
    assert case.received_at == intake_desk.clock.now()  # no date at all: when it came in


def test_writing_again_after_the_case_was_closed_opens_a_new_case(intake_desk: Desk) -> None:
    from caseapp.services.dto import StepRequest

    ref = intake_desk.take_in(item(mailmaker.mail())).case_ref
    intake_desk.take_step(ref, StepRequest("withdraw", reason="the requester withdrew"))
    reply = mailmaker.mail(subject="Re: Please delete my data", message_id="<late@example.com>",
                           in_reply_to="<m1@example.com>",
                           body="Actually, please do delete my data after all.")
    result = intake_desk.take_in(item(reply))
    assert result.outcome == "created"
    assert result.case_ref != ref
    assert f"after {ref} was closed" in result.detail
    new_case = intake_desk.get_case(result.case_ref)
    assert ref in new_case.notes[0].body
    assert len(intake_desk.get_case(ref).messages) == 1  # the closed case is left alone


def test_nul_characters_are_stored_on_every_backend(intake_desk: Desk) -> None:
    """PostgreSQL refuses NUL in text: a message carrying some must still be taken in."""
    raw = (b"From: =?utf-8?q?Ana=00_Ruiz?= <ana@example.com>\nTo: privacy@example.org\n"
           b"Subject: delete=?utf-8?q?_my=00data?=\nMessage-ID: <nul@example.com>\n\n"
           b"Please delete my data.\x00 I live in California.\n")
    result = intake_desk.take_in(item(raw))
    assert result.outcome == "created", result
    message = intake_desk.get_message(intake_desk.get_case(result.case_ref).messages[0].id)
    assert "\x00" not in message.body_text + message.subject + message.sender
    bomb = b"Subject: nul\x00here\nX-B: " + b"n" * 100_000 + b"\n\nx\n"
    assert intake_desk.take_in(item(bomb)).outcome == "quarantined"


@pytest.mark.parametrize("sender", ["x@y", "<>", "undisclosed-recipients:;", "@", "a@b@c.d",
                                    "\"Weird, Name\" <no-at-sign>", "a" * 400 + "@example.com"])
def test_odd_senders_still_open_a_case(intake_desk: Desk, sender: str) -> None:
    raw = mailmaker.mail(sender="placeholder@example.com").replace(
        b"From: placeholder@example.com", b"From: " + sender.encode())
    result = intake_desk.take_in(item(raw))
    assert result.outcome == "created", result


def test_a_parser_that_cannot_work_quarantines_nothing(sqlite_desk: Desk) -> None:
    from caseapp.intake.mailtypes import ParserUnavailable

    broken = MailParser(workers=1)
    broken.close()
    sqlite_desk.share_mail_parser(broken)
    with pytest.raises(ParserUnavailable):
        sqlite_desk.take_in(item(mailmaker.mail()))
    assert rows(sqlite_desk, Message) == 0  # left for the next try, not quarantined


@pytest.mark.parametrize("date_header", ["Fri, 31 Dec 9999 23:59:00 -0100",
                                         "Mon, 1 Jan 1900 10:00:00 +0000"])
def test_an_absurd_date_opens_the_case_as_of_now(intake_desk: Desk, date_header: str) -> None:
    raw = mailmaker.mail(date=None, headers={"Date": date_header})
    result = intake_desk.take_in(item(raw))
    assert result.outcome == "created", result
    assert intake_desk.get_case(result.case_ref).received_at == intake_desk.clock.now()


@pytest.mark.parametrize("ahead", [1, 3])
def test_copies_within_an_import_are_read_once_and_taken_in_once(
        intake_desk: Desk, parser: MailParser, monkeypatch: pytest.MonkeyPatch,
        ahead: int) -> None:
    from caseapp.services import intake as intake_service

    request = mailmaker.mail()
    relayed = mailmaker.mail(headers={"X-Relayed": "yes"})  # the same mail in other bytes
    other = mailmaker.mail(subject="Send me a copy of my data", message_id="<m2@example.com>")
    read: list[bytes] = []
    real = parser.parse_classified_each

    def counting(raws, *args, **kwargs):  # type: ignore[no-untyped-def]
        read.extend(raws)
        return real(raws, *args, **kwargs)

    monkeypatch.setattr(parser, "parse_classified_each", counting)
    # Batches of two, the next ones read while one is stored: a copy in the same batch,
    # a copy in a batch read while the first is being stored, and (reading one batch
    # ahead) a copy read after the first committed.
    sent = [request, request, request, relayed, other, request]
    results = list(intake_service.take_in_many(
        intake_desk.ctx, parser, [item(raw, f"#{n}") for n, raw in enumerate(sent)], batch=2,
        ahead=ahead))
    assert [r.outcome for r in results] == [
        "created", "duplicate", "duplicate", "duplicate", "created", "duplicate"]
    assert [r.label for r in results] == [f"#{n}" for n in range(6)]
    first = results[0]
    assert {(r.case_ref, r.message_db_id) for r in results if r.outcome == "duplicate"} == {
        (first.case_ref, first.message_db_id)}
    assert len(read) == 3  # the request, the relayed copy (other bytes) and the other mail
    assert rows(intake_desk, Message) == 2
    assert [e.action for e in intake_desk.get_case(first.case_ref).history] == [
        "case.created", "message.received"]
    assert intake_desk.verify_audit().ok


def _eight_requests() -> list[bytes]:
    return [mailmaker.mail(subject=f"Delete my data {n}", message_id=f"<big{n}@x.example>")
            for n in range(8)]


def test_large_mail_goes_to_the_workers_in_smaller_shares(
        intake_desk: Desk, parser: MailParser, monkeypatch: pytest.MonkeyPatch) -> None:
    """A share holds its worker until all of it is read: it is bounded by size too."""
    from caseapp.services import intake as intake_service

    sent = _eight_requests()
    shares: list[int] = []
    real_each = parser.parse_classified_each

    def each(raws, *args, **kwargs):  # type: ignore[no-untyped-def]
        shares.append(len(raws))
        return real_each(raws, *args, **kwargs)

    monkeypatch.setattr(parser, "parse_classified_each", each)
    monkeypatch.setattr(intake_service, "SHARE_BYTES", max(map(len, sent)) * 2)
    results = list(intake_service.take_in_many(
        intake_desk.ctx, parser, [item(raw, f"#{n}") for n, raw in enumerate(sent)], batch=8))
    assert [r.outcome for r in results] == ["created"] * 8
    assert sorted(shares) == [2, 2, 2, 2]  # not two halves of four


def test_large_mail_is_read_less_far_ahead(
        intake_desk: Desk, parser: MailParser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail read ahead is held in memory: how far ahead is bounded by size too."""
    from caseapp.services import intake as intake_service

    sent = _eight_requests()
    started: list[int] = []
    real_start = intake_service._start_reading

    def start(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(len(args[3]))
        return real_start(*args, **kwargs)

    monkeypatch.setattr(intake_service, "_start_reading", start)
    monkeypatch.setattr(intake_service, "AHEAD_BYTES", min(map(len, sent)) * 5)
    results = intake_service.take_in_many(
        intake_desk.ctx, parser, [item(raw, f"#{n}") for n, raw in enumerate(sent)],
        batch=2, ahead=3)
    first = next(results)
    # Three batches of two hold more than five mails' bytes: the first is stored once
    # the third is being read (by count alone, once the fourth is).
    assert len(started) == 3, started
    assert [r.outcome for r in [first, *results]] == ["created"] * 8


def test_one_batch_finds_its_own_duplicates_twins_and_threads(intake_desk: Desk) -> None:
    from caseapp.services import intake as intake_service

    request = mailmaker.mail()
    sent = [
        request,
        mailmaker.mail(headers={"X-Relayed": "yes"}),  # its twin
        mailmaker.mail(subject="Re: Please delete my data", message_id="<r@example.com>",
                       in_reply_to="<m1@example.com>", body="My ZIP is 94110"),
        request,
        mailmaker.mail(body="Please delete my data, and my son's too."),  # same Message-ID
    ]
    results = list(intake_service.take_in_many(
        intake_desk.ctx, intake_desk.mail_parser, [item(raw) for raw in sent]))
    assert [r.outcome for r in results] == [
        "created", "duplicate", "threaded", "duplicate", "threaded"]
    assert {r.case_ref for r in results} == {results[0].case_ref}
    assert "Message-ID" in results[4].detail
    case = intake_desk.get_case(results[0].case_ref)
    assert len(case.messages) == 3
    assert [e.action for e in case.history] == [
        "case.created", "message.received", "message.threaded", "message.threaded"]
    assert intake_desk.verify_audit().ok


def test_a_message_the_database_refuses_goes_to_quarantine_not_stops_the_import(
        intake_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from caseapp.services import intake as intake_service

    real = intake_service._store_in

    def refuse_second(*args):  # type: ignore[no-untyped-def]
        parsed = next(a for a in args if isinstance(a, ParsedMail))
        if parsed.subject == "second":
            raise InvalidInput("Requester name is too long.")
        return real(*args)

    monkeypatch.setattr(intake_service, "_store_in", refuse_second)
    results = list(intake_service.take_in_many(
        intake_desk.ctx, intake_desk.mail_parser,
        [item(mailmaker.mail(subject=s, message_id=f"<{s}@x.example>"), s)
         for s in ("first", "second", "third")]))
    assert [r.outcome for r in results] == ["created", "quarantined", "created"]
    assert "could not be stored" in results[1].detail


def test_the_lists_count_every_message_they_hold(intake_desk: Desk) -> None:
    for n in range(3):
        intake_desk.take_in(item(mailmaker.mail(
            subject=f"Out of office {n}", message_id=f"<ooo{n}@x.example>",
            headers={"Auto-Submitted": "auto-replied"})))
    assert intake_desk.intake_queue_count("not_request") == 3
    assert intake_desk.intake_queue_count("quarantined") == 0
