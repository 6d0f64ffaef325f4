"""Hostile-mail-safe parsing: every input gives a ParsedMail or a MailRejected, quickly.

The tests build their hostile mail themselves. One worker pool serves the module; tests
that kill or time out workers use pools of their own. No worker outlives the module.
"""

from __future__ import annotations

import base64
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseapp.errors import UserError
from caseapp.intake import MailLimits, MailParser, MailRejected, ParsedMail, parse_mail
from caseapp.intake.classify import classify
from caseapp.intake.extract import sanitize_filename
from caseapp.intake.mailparse import shutdown_default_parser
from caseapp.intake.mailtypes import ParserUnavailable
from caseapp.intake.prescan import prescan


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running; it only waits to be reaped.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


_seen_pids: set[int] = set()


@pytest.fixture(scope="module")
def parser() -> Iterator[MailParser]:
    with MailParser(workers=2) as pool:
        yield pool
        _seen_pids.update(pool.worker_pids())
    shutdown_default_parser()


@pytest.fixture(scope="module", autouse=True)
def _no_workers_left_behind() -> Iterator[None]:
    yield
    shutdown_default_parser()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in _seen_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in _seen_pids if _alive(pid)]
    assert multiprocessing.active_children() == []


def _remember(pool: MailParser) -> None:
    _seen_pids.update(pool.worker_pids())


# -- building mail ---------------------------------------------------------------------

SIMPLE = (
    b"From: Ana Garcia <ana@example.com>\r\n"
    b"To: privacy@brand.example\r\n"
    b"Subject: Delete my data\r\n"
    b"Date: Tue, 03 Mar 2026 10:00:00 -0500\r\n"
    b"Message-ID: <m1@example.com>\r\n"
    b"In-Reply-To: <ack-7@brand.example>\r\n"
    b"References: <req-1@example.com>\r\n <ack-7@brand.example>\r\n"
    b"\r\n"
    b"Please delete all my information. VIN 1HGCM82633A004352.\r\n"
)


def _multipart(*parts: bytes, boundary: str = "b1", headers: bytes = b"") -> bytes:
    out = (
        b"From: x@example.com\nSubject: parts\n" + headers
        + f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'.encode()
    )  # fmt: skip
    for part in parts:
        out += f"--{boundary}\n".encode() + part + b"\n"
    return out + f"--{boundary}--\n".encode()


def _nested(levels: int) -> bytes:
    head = b"From: x@example.com\nSubject: nested\n"
    body = b""
    for i in range(levels):
        body += f'Content-Type: multipart/mixed; boundary="n{i}"\n\n--n{i}\n'.encode()
    body += b"Content-Type: text/plain\n\ninnermost\n"
    for i in reversed(range(levels)):
        body += f"--n{i}--\n".encode()
    return head + body


# -- the guards ------------------------------------------------------------------------


def test_header_bomb_one_giant_header_is_rejected_quickly(parser: MailParser) -> None:
    addresses = b",\r\n ".join(b'"=?utf-8?q?a?=" (c(c(c))) <a%d@x>' % i for i in range(25_000))
    raw = b"From: a@b.example\r\nTo: " + addresses + b"\r\nSubject: hi\r\n\r\nbody\r\n"
    assert len(raw) > 800_000
    started = time.monotonic()
    with pytest.raises(MailRejected, match=r"the To header of the message is .* long"):
        parser.parse(raw)
    assert time.monotonic() - started < 1.0


def test_header_bomb_many_headers_is_rejected_quickly(parser: MailParser) -> None:
    raw = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"=?utf-8?b?QQ==?= " * 20) for i in range(2500))
    raw = b"From: a@b.example\r\n" + raw + b"\r\nbody\r\n"
    assert len(raw) > 800_000
    started = time.monotonic()
    with pytest.raises(MailRejected, match="header section of the message is over 64 KB"):
        parser.parse(raw)
    assert time.monotonic() - started < 1.0


def test_header_bomb_inside_a_part_is_rejected(parser: MailParser) -> None:
    part = b"Content-Type: text/plain\n" + b"X-A: b\n" * 20_000 + b"\nbody"
    with pytest.raises(MailRejected, match="header section of part 2"):
        parser.parse(_multipart(part))


def test_two_thousand_nested_multiparts_are_rejected_quickly(parser: MailParser) -> None:
    raw = _nested(2000)
    started = time.monotonic()
    with pytest.raises(MailRejected, match="nests parts more than 20 levels"):
        parser.parse(raw)
    assert time.monotonic() - started < 1.0


def test_nesting_within_the_limit_parses(parser: MailParser) -> None:
    mail = parser.parse(_nested(15))
    assert mail.text.strip() == "innermost"


def test_too_many_parts_are_rejected(parser: MailParser) -> None:
    parts = [b"Content-Type: text/plain\n\npart %d" % i for i in range(250)]
    with pytest.raises(MailRejected, match="more than 200 MIME parts"):
        parser.parse(_multipart(*parts))


def test_nested_attached_messages_count_as_depth() -> None:
    raw = b"Subject: top\n"
    for _ in range(30):
        raw += b"Content-Type: message/rfc822\n\nSubject: inner\n"
    raw += b"\nbody\n"
    with pytest.raises(MailRejected, match="levels deep"):
        prescan(raw, MailLimits())


def test_oversize_message_is_rejected_before_any_worker_starts() -> None:
    with MailParser(workers=1) as pool:
        with pytest.raises(MailRejected, match=r"over the limit of 25\.0 MB"):
            pool.parse(b"Subject: big\n\n" + b"x" * (25 * 1024 * 1024))
        with pytest.raises(MailRejected, match="over the limit of 1 KB"):
            pool.parse(SIMPLE * 10, MailLimits(max_bytes=1024))
        with pytest.raises(MailRejected, match="empty"):
            pool.parse(b"")
        assert pool.worker_pids() == []


def test_a_worker_classifies_what_it_parsed() -> None:
    with MailParser(workers=1) as pool:
        parsed, proposal = pool.parse_classified(SIMPLE)
        assert parsed == pool.parse(SIMPLE)
        assert proposal == classify(parsed.subject, parsed.text, parsed.from_name,
                                    parsed.from_addr)
        assert proposal.request_types == ("delete",)
        with pytest.raises(MailRejected, match="empty"):
            pool.parse_classified(b"")
        _remember(pool)


def test_a_parse_over_the_timeout_is_rejected_and_the_worker_replaced() -> None:
    big = b"Subject: slow\n\n" + b"line of text\n" * 400_000
    with MailParser(workers=1) as pool:
        pool.parse(SIMPLE)
        (first,) = pool.worker_pids()
        started = time.monotonic()
        with pytest.raises(MailRejected, match=r"took longer than 0\.001 s"):
            pool.parse(big, MailLimits(timeout_s=0.001))
        assert time.monotonic() - started < 3
        assert not _alive(first)
        assert pool.parse(SIMPLE).subject == "Delete my data"
        _remember(pool)


def test_a_killed_worker_rejects_its_message_and_the_pool_recovers() -> None:
    with MailParser(workers=1) as pool:
        outcome: list[BaseException | None] = []

        def long_task() -> None:
            try:
                pool._run(("sleep", 30.0), 20.0)  # stands in for a parse that crashes
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=long_task)
        thread.start()
        deadline = time.monotonic() + 10
        while not pool.busy_pids() and time.monotonic() < deadline:
            time.sleep(0.01)
        (pid,) = pool.busy_pids()
        os.kill(pid, signal.SIGKILL)
        thread.join(10)
        assert isinstance(outcome[0], MailRejected)
        assert "SIGKILL" in outcome[0].reason
        assert pool.parse(SIMPLE).from_addr == "ana@example.com"

        # A worker that dies while idle is replaced without losing the next message.
        (idle,) = pool.worker_pids()
        os.kill(idle, signal.SIGKILL)
        time.sleep(0.05)
        assert pool.parse(SIMPLE).message_id == "<m1@example.com>"
        assert pool.worker_pids() != [idle]
        _remember(pool)


def test_running_out_of_memory_is_a_rejection_and_the_pool_recovers() -> None:
    big = b"Subject: big\nContent-Type: text/plain\n\n" + (b"x" * 70 + b"\n") * 100_000
    with MailParser(workers=1) as pool:
        with pytest.raises(MailRejected, match="more than 30 MB of memory"):
            pool.parse(big, MailLimits(memory_mb=30))
        assert len(pool.parse(big).text) > 7_000_000
        _remember(pool)


def test_workers_are_recycled_after_max_tasks() -> None:
    with MailParser(workers=1, max_tasks_per_child=2) as pool:
        pids = set()
        for _ in range(5):
            pool.parse(SIMPLE)
            pids.update(pool.worker_pids())
        assert len(pids) == 3
        _remember(pool)
    assert not any(_alive(pid) for pid in pids)


def _subject(n: int) -> bytes:
    return SIMPLE.replace(b"Subject: Delete my data", f"Subject: Delete my data {n}".encode())


def test_many_messages_go_to_one_worker_and_come_back_in_order() -> None:
    with MailParser(workers=1) as pool:
        answers = list(pool.parse_classified_each(
            [_subject(1), b"", _subject(3), _subject(4)]))
        assert [a[0].subject if isinstance(a, tuple) else "refused" for a in answers] == [
            "Delete my data 1", "refused", "Delete my data 3", "Delete my data 4"]
        assert isinstance(answers[1], MailRejected) and "empty" in answers[1].reason
        assert all(a[1].request_types == ("delete",) for a in answers if isinstance(a, tuple))
        (pid,) = pool.worker_pids()
        assert len(list(pool.parse_classified_each([_subject(6), _subject(7)]))) == 2
        assert pool.worker_pids() == [pid]  # kept for the next batch, not replaced
        _remember(pool)


def test_a_message_that_overruns_in_a_batch_is_refused_alone() -> None:
    big = b"Subject: slow\n\n" + b"line of text\n" * 400_000
    with MailParser(workers=1) as pool:
        answers = list(pool.parse_classified_each(
            [_subject(1), big, _subject(3)], MailLimits(timeout_s=0.5)))
        assert isinstance(answers[0], tuple) and answers[0][0].subject == "Delete my data 1"
        assert isinstance(answers[1], MailRejected)
        assert "took longer than 0.5 s" in answers[1].reason
        assert isinstance(answers[2], tuple) and answers[2][0].subject == "Delete my data 3"
        _remember(pool)


def test_running_out_of_memory_in_a_batch_refuses_that_message_only() -> None:
    big = b"Subject: big\nContent-Type: text/plain\n\n" + (b"x" * 70 + b"\n") * 100_000
    with MailParser(workers=1) as pool:
        answers = list(pool.parse_classified_each(
            [_subject(1), big, _subject(3), _subject(4)], MailLimits(memory_mb=30)))
        assert isinstance(answers[1], MailRejected)
        assert "more than 30 MB of memory" in answers[1].reason
        assert [a[0].subject for a in answers if isinstance(a, tuple)] == [
            "Delete my data 1", "Delete my data 3", "Delete my data 4"]
        _remember(pool)


def test_a_worker_killed_in_a_batch_refuses_its_message_and_the_rest_are_read() -> None:
    slow = b"Subject: slow\n\n" + b"line of text\n" * 400_000
    with MailParser(workers=1) as pool:
        answers: list[object] = []
        reading = threading.Thread(target=lambda: answers.extend(
            pool.parse_classified_each([_subject(1), slow, _subject(3)])))
        reading.start()
        deadline = time.monotonic() + 10
        while len(answers) < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        (pid,) = pool.busy_pids()
        os.kill(pid, signal.SIGKILL)
        reading.join(20)
        assert isinstance(answers[1], MailRejected) and "SIGKILL" in answers[1].reason
        assert isinstance(answers[2], tuple) and answers[2][0].subject == "Delete my data 3"
        assert pool.worker_pids() != [pid]
        _remember(pool)


def test_a_batch_left_unread_gives_its_worker_up() -> None:
    with MailParser(workers=1) as pool:
        answers = pool.parse_classified_each([_subject(n) for n in range(5)])
        next(answers)
        (pid,) = pool.busy_pids()
        answers.close()  # the rest is still coming: nobody wants it now
        assert not pool.busy_pids() and not _alive(pid)
        assert pool.parse(SIMPLE).subject == "Delete my data"  # the slot was given back
        _remember(pool)


def test_the_messages_a_worker_holds_for_later_leave_each_its_whole_memory_limit() -> None:
    """A message alone within the limit is read in a batch too: the batch's other
    messages, waiting in the worker's memory, are not taken from its allowance."""
    small = SIMPLE + b"more of the same request\r\n" * 40_000  # about 1 MB: memory to get
    waiting = [b"Subject: waiting %d\n\n" % n + (b"y" * 70 + b"\n") * 340_000
               for n in range(5)]  # 5 x 24 MB, more than the whole limit
    limits = MailLimits(memory_mb=96)
    with MailParser(workers=1) as pool:
        (alone,) = pool.parse_classified_each([small], limits)
        assert isinstance(alone, tuple), alone
        answers = pool.parse_classified_each([small, *waiting], limits)
        first = next(answers)
        answers.close()
        assert isinstance(first, tuple), first
        _remember(pool)


def test_a_worker_that_ran_out_of_memory_on_its_last_message_is_not_kept() -> None:
    big = b"Subject: big\nContent-Type: text/plain\n\n" + (b"x" * 70 + b"\n") * 100_000
    with MailParser(workers=1) as pool:
        answers = list(pool.parse_classified_each([_subject(1), big], MailLimits(memory_mb=30)))
        assert isinstance(answers[1], MailRejected)
        assert "more than 30 MB of memory" in answers[1].reason
        assert not pool._idle  # it is on its way out: never handed the next message
        assert pool.parse(SIMPLE).subject == "Delete my data"
        _remember(pool)


def test_a_message_its_worker_fails_on_without_answering_is_refused_once() -> None:
    good = ("parse", SIMPLE, MailLimits(), True)
    bad = ("parse", SIMPLE, None, True)  # the worker fails before it can answer
    pool = MailParser(workers=1)
    answers: list[tuple[str, object]] = []
    reading = threading.Thread(target=lambda: answers.extend(pool._run_each([bad, good], 5.0)),
                               daemon=True)
    try:
        reading.start()
        reading.join(10)
        assert not reading.is_alive(), "handed from one fresh worker to the next for ever"
        assert [status for status, _ in answers] == ["rejected", "ok"]
        assert "could not be read (AttributeError)" in str(answers[0][1])
        _remember(pool)
    finally:
        pool.close()
        reading.join(10)


def test_a_parser_that_cannot_work_gives_its_worker_back_at_once() -> None:
    given_back: list[bool] = []

    def run_each(tasks: list[tuple[object, ...]], timeout: float
                 ) -> Iterator[tuple[str, object]]:
        try:  # stands in for MailParser._run_each: holds a worker and a slot until closed
            yield ("unavailable", "the classifier cannot work: no rules")
            yield ("ok", None)
        finally:
            given_back.append(True)

    with MailParser(workers=1) as pool:
        pool._run_each = run_each  # type: ignore[method-assign]
        with pytest.raises(ParserUnavailable, match="classifier") as raised:
            list(pool.parse_classified_each([SIMPLE, SIMPLE]))
        # Not when the exception (whose traceback holds the reading frame) is collected.
        assert given_back == [True], raised


def test_starting_a_worker_does_not_import_the_program_again(tmp_path: Path) -> None:
    """Each worker runs the program's main script again as it starts (multiprocessing
    does): the ``caseapp`` script must import no more than the launcher's few modules, or
    every worker start costs the whole program's import (it cost 0.8 s of CPU)."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("caseapp")
    assert script.exists(), script
    probe = ("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'PySide6', 'reportlab') or m in ('caseapp.cli', "
             "'caseapp.services')))")
    shown = subprocess.run([sys.executable, "-c", probe, str(script)], capture_output=True,
                           text=True, timeout=60, check=True, cwd=tmp_path)
    assert shown.stdout.strip() == "[]", shown.stdout


def test_a_closed_parser_refuses_politely_and_blames_no_message() -> None:
    pool = MailParser(workers=1)
    pool.close()
    with pytest.raises(ParserUnavailable, match="shut down"):
        pool.parse(SIMPLE)
    assert not issubclass(ParserUnavailable, MailRejected)  # never a quarantine reason


def test_a_parser_shut_down_while_reading_blames_no_message() -> None:
    pool = MailParser(workers=1)
    try:
        closer = threading.Timer(0.3, pool.close)
        closer.start()
        with pytest.raises(ParserUnavailable):
            pool._run(("sleep", 5), timeout=10)
        closer.join()
    finally:
        pool.close()


def test_rejections_are_user_errors() -> None:
    assert issubclass(MailRejected, UserError)
    assert MailRejected("too big").reason == "too big"


# -- what must import -------------------------------------------------------------------


def test_plain_message_fields(parser: MailParser) -> None:
    mail = parser.parse(SIMPLE)
    assert mail.message_id == "<m1@example.com>"
    assert mail.in_reply_to == "<ack-7@brand.example>"
    assert mail.references == ("<req-1@example.com>", "<ack-7@brand.example>")
    assert (mail.from_name, mail.from_addr) == ("Ana Garcia", "ana@example.com")
    assert mail.to == ("privacy@brand.example",)
    assert mail.date == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert "VIN 1HGCM82633A004352" in mail.text
    assert not mail.auto_submitted and not mail.is_bounce
    assert mail.html_sanitized == "" and mail.blocked == () and mail.attachments == ()
    import hashlib

    assert mail.raw_sha256 == hashlib.sha256(SIMPLE).hexdigest()


def test_missing_message_id_and_date(parser: MailParser) -> None:
    mail = parser.parse(b"From: a@b.example\nSubject: hola\n\ntexto\n")
    assert mail.message_id == "" and mail.date is None
    assert "no Message-ID header" in mail.defects and "no Date header" in mail.defects


def test_unparseable_date(parser: MailParser) -> None:
    mail = parser.parse(b"From: a@b.example\nDate: the day after yesterday\n\nx\n")
    assert mail.date is None
    assert any("unreadable Date" in d for d in mail.defects)


def test_unknown_charset_is_decoded_with_replacement(parser: MailParser) -> None:
    raw = (
        b"From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=x-unknown\n\n"
        b"Se\xf1ores, quiero darme de baja. \xff\xfe fin\n"
    )
    mail = parser.parse(raw)
    assert "quiero darme de baja" in mail.text and "fin" in mail.text
    assert any("unknown charset 'x-unknown'" in d for d in mail.defects)


def test_rfc2047_names_and_spanish_text(parser: MailParser) -> None:
    raw = (
        b"From: =?utf-8?b?Sm9zw6kgUMOpcmV6?= <jose@example.com>\n"
        b"To: =?iso-8859-1?q?Mar=EDa?= <maria@example.com>, privacy@brand.example\n"
        b"Subject: =?utf-8?q?Solicitud_de_eliminaci=C3=B3n_de_mis_datos?=\n"
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"Buenos d=EDas: soy el padre de un ni=F1o de 11 a=F1os. =BFPueden borrar sus datos?\n"
    )
    mail = parser.parse(raw)
    assert mail.from_name == "José Pérez"
    assert mail.to == ("maria@example.com", "privacy@brand.example")
    assert mail.subject == "Solicitud de eliminación de mis datos"
    assert "niño de 11 años. ¿Pueden borrar" in mail.text


def test_raw_utf8_headers_are_read_as_utf8(parser: MailParser) -> None:
    raw = "From: Iñigo <i@example.com>\nSubject: Corrección de dirección\n\nx\n".encode()
    mail = parser.parse(raw)
    assert mail.subject == "Corrección de dirección" and mail.from_name == "Iñigo"


def test_rfc2231_and_rfc2047_filenames_are_decoded_then_sanitized(parser: MailParser) -> None:
    raw = _multipart(
        b"Content-Type: text/plain; charset=utf-8\n\nAdjunto mi DNI.",
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=UTF-8''Jos%C3%A9.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"%PDF-1.4 fake"),
        b'Content-Type: image/png; name="=?utf-8?b?Zm90byBjYXLDoS5wbmc=?="\n'
        b"Content-Disposition: attachment\n\n\x89PNG",
        b"Content-Type: application/octet-stream\nContent-Disposition: attachment; "
        b'filename="../../etc/passwd"\n\nroot:x:0:0',
        b"Content-Type: application/octet-stream\n\nno name at all",
    )
    mail = parser.parse(raw)
    names = [a.filename_sanitized for a in mail.attachments]
    assert names == ["José.pdf", "foto cará.png", "passwd", "attachment-4.bin"]
    pdf = mail.attachments[0]
    assert pdf.data == b"%PDF-1.4 fake" and pdf.size == 13 and pdf.media_type == "application/pdf"
    import hashlib

    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.4 fake").hexdigest()
    assert mail.text == "Adjunto mi DNI."


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        (".bashrc", "bashrc"),
        ("...", "attachment-3.bin"),
        ("", "attachment-3.bin"),
        ("in\x00voice\r\n.pdf", "in_voice__.pdf"),
        ("photo\u202egnp.exe", "photo_gnp.exe"),
        ("CON.txt", "_CON.txt"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
        ("x" * 300, "x" * 150),
        ('re<po>rt:"1"?.pdf', "re_po_rt__1__.pdf"),
    ],
)
def test_sanitize_filename(given_name: str, expected: str) -> None:
    assert sanitize_filename(given_name, 3) == expected


def test_missing_final_boundary_and_broken_mime(parser: MailParser) -> None:
    raw = (
        b"From: a@b.example\nSubject: cut off\nContent-Type: multipart/mixed; boundary=zz\n\n"
        b"--zz\nContent-Type: text/plain\n\nI want a copy of my data\n--zz\n"
        b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x!!!%%"
    )
    mail = parser.parse(raw)
    assert "copy of my data" in mail.text
    assert any("CloseBoundaryNotFound" in d for d in mail.defects)
    assert len(mail.attachments) == 1

    no_boundary = b"Subject: x\nContent-Type: multipart/mixed\n\njust text\n"
    assert isinstance(parser.parse(no_boundary), ParsedMail)
    garbage_headers = b'From: <<<@@@>>>\nTo: ,,,;;;"\nSubject: =?bogus?x?zz?=\n\nbody\n'
    mail = parser.parse(garbage_headers)
    assert mail.subject and mail.text.strip() == "body"


def test_deeply_nested_comments_in_addresses_degrade_not_fail(parser: MailParser) -> None:
    # CPython's address parsers recurse once per "(": 8,000 of them is a RecursionError.
    raw = b"From: Ana <ana@x.example> " + b"(" * 7000 + b"\nTo: " + b"(" * 7000
    raw += b"bob@y.example\nSubject: hi\n\nbody\n"
    mail = parser.parse(raw)
    assert (mail.from_addr, mail.to) == ("ana@x.example", ("bob@y.example",))
    assert any("from header could not be parsed" in d for d in mail.defects)


def test_attached_message_is_an_attachment(parser: MailParser) -> None:
    inner = b"From: c@d.example\nSubject: original\n\noriginal body\n"
    raw = _multipart(
        b"Content-Type: text/plain\n\nForwarding.", b"Content-Type: message/rfc822\n\n" + inner
    )
    mail = parser.parse(raw)
    (att,) = mail.attachments
    assert att.media_type == "message/rfc822" and b"original body" in att.data
    assert att.filename_sanitized == "attachment-1.bin"


# -- auto-replies and bounces -----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "auto"),
    [
        (b"Auto-Submitted: auto-replied", True),
        (b"Auto-Submitted: auto-generated; owner-email=x@y", True),
        (b"Auto-Submitted: no", False),
        (b"Precedence: bulk", True),
        (b"Precedence: junk", True),
        (b"Precedence: auto_reply", True),
        (b"X-Autoreply: yes", True),
        (b"X-Autorespond: on", True),
        (b"Precedence: first-class", False),
    ],
)
def test_auto_reply_detection(parser: MailParser, header: bytes, auto: bool) -> None:
    raw = b"From: a@b.example\nSubject: Out of office\n" + header + b"\n\nAway until Monday.\n"
    assert parser.parse(raw).auto_submitted is auto


def _dsn() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mail Delivery System <MAILER-DAEMON@mx.brand.example>"
    msg["To"] = "privacy@brand.example"
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I'm sorry to have to inform you that your message could not be delivered.")
    msg.make_mixed()
    return (
        b"From: postmaster@mx.other.example\nTo: privacy@brand.example\n"
        b"Subject: Delivery Status Notification (Failure)\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
        b"--r\nContent-Type: text/plain\n\nDelivery to the following recipient failed.\n"
        b"--r\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.other.example\n\n"
        b"Final-Recipient: rfc822; gone@other.example\nAction: failed\nStatus: 5.1.1\n"
        b"--r\nContent-Type: text/rfc822-headers\n\n"
        b"Message-ID: <ack-9@brand.example>\nSubject: Your request PR-2026-00042\n"
        b"--r--\n"
    )


def test_rfc3464_report_is_a_bounce(parser: MailParser) -> None:
    mail = parser.parse(_dsn())
    assert mail.is_bounce
    assert "Delivery to the following recipient failed." in mail.text


def test_mail_from_mailer_daemon_is_a_bounce(parser: MailParser) -> None:
    raw = b"From: MAILER-DAEMON@mx.example\nSubject: failure notice\n\nSorry.\n"
    assert parser.parse(raw).is_bounce
    raw = b"From: Postmaster <postmaster@example.org>\nSubject: undeliverable\n\nSorry.\n"
    assert parser.parse(raw).is_bounce
    assert not parser.parse(SIMPLE).is_bounce


# -- HTML -------------------------------------------------------------------------------

HOSTILE_HTML = """<html><head>
<style>@import url(http://tracker.example/a.css); p { color: red }</style>
<link rel="stylesheet" href="http://tracker.example/b.css">
<title>Your request</title></head>
<body onload="alert(1)">
<p style="color: blue; background: url(http://tracker.example/pixel.gif)">Hola, <b>borren</b>
mis datos.</p>
<img src="http://tracker.example/1.gif"><img src="https://tracker.example/2.gif" width=1>
<img src="//tracker.example/3.gif">
<iframe src="http://tracker.example/frame"></iframe>
<div style="background-image:url('http://tracker.example/bg.png')">Gracias</div>
<a href="http://brand.example/privacy">privacy policy</a>
<script>document.location='http://evil.example/'</script>
</body></html>"""


def _html_mail(html: str, plain: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "a@b.example"
    msg["Subject"] = "html"
    if plain is not None:
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_html_is_sanitized_and_blocked_items_are_named(parser: MailParser) -> None:
    mail = parser.parse(_html_mail(HOSTILE_HTML))
    safe = mail.html_sanitized
    lowered = safe.lower()
    for bad in ("<img", "<iframe", "<script", "<style", "<link", "url(", "@import", "onload"):
        assert bad not in lowered, bad
    # The only http:// left is a link the reader may choose to follow, not a load.
    assert safe.count("http://") == 1 and 'href="http://brand.example/privacy"' in safe
    assert "<b>borren</b>" in safe and "color:blue" in safe.replace(" ", "")
    assert "3 remote images" in mail.blocked
    assert "2 stylesheets" in mail.blocked
    assert "1 style import" in mail.blocked
    assert "2 CSS url() references" in mail.blocked
    assert "1 frame" in mail.blocked and "1 script" in mail.blocked
    # With no text/plain part, the text comes from the HTML (no markup, no script).
    assert "Hola, borren mis datos." in mail.text and "Gracias" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text and "<" not in mail.text


def test_plain_alternative_is_preferred_for_text(parser: MailParser) -> None:
    mail = parser.parse(_html_mail("<p>html version</p>", plain="plain version"))
    assert mail.text.strip() == "plain version"
    assert "<p>html version</p>" in mail.html_sanitized
    assert mail.blocked == ()


# -- anything at all: ParsedMail or MailRejected -----------------------------------------

_VALID = [SIMPLE, _dsn(), _html_mail(HOSTILE_HTML, plain="hola")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=3000))
def test_arbitrary_bytes_parse_or_are_rejected(parser: MailParser, raw: bytes) -> None:
    with contextlib.suppress(MailRejected):
        _assert_storable(parser.parse(raw))


def _assert_storable(parsed: ParsedMail) -> None:
    """Every text of a parsed message can be stored as UTF-8 (no lone surrogates from
    8-bit bytes), or the database refuses the whole message."""
    assert isinstance(parsed, ParsedMail)
    for name, value in vars(parsed).items():
        for text in (value if isinstance(value, tuple) else (value,)):
            if isinstance(text, str):
                text.encode("utf-8")  # raises on a surrogate
            elif hasattr(text, "filename_sanitized"):
                text.filename_sanitized.encode("utf-8")
        assert name


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            chunk = draw(
                st.sampled_from(
                    [b"\n", b"\r\n\r\n", b"--r\n", b"=?utf-8?b?", b"Content-Type: multipart/x;"
                     b" boundary=r\n", b"charset=x-bogus", b"\x00\xff", b"<img src=http://x>"]
                )
            )  # fmt: skip
            data[at:at] = chunk
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 500))]
    return bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_mutated())
def test_mutated_messages_parse_or_are_rejected(parser: MailParser, raw: bytes) -> None:
    with contextlib.suppress(MailRejected):
        _assert_storable(parser.parse(raw))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2000) | _mutated())
def test_prescan_raises_nothing_but_mail_rejected(raw: bytes) -> None:
    with contextlib.suppress(MailRejected):
        prescan(raw, MailLimits(max_header_bytes=500, max_header_line_bytes=100, max_parts=5))


def test_parse_mail_convenience_uses_a_shared_pool() -> None:
    assert parse_mail(SIMPLE).subject == "Delete my data"
    from caseapp.intake import mailparse

    assert mailparse._default is not None
    _seen_pids.update(mailparse._default.worker_pids())
    shutdown_default_parser()
    assert mailparse._default is None
