"""Fuzzing the parsers that read what strangers send: mail (RFC 822 bytes, mbox files,
Outlook .msg files) and scanned letters (PNG, TIFF, JPEG, PDF, read with the real
tesseract), with random bytes and with mutations of real samples (the demo mailbox,
the labelled intake corpus, generated mail with HTML and attachments, a generated .msg
file, small generated images and PDFs).

What must hold, whatever the bytes:
- the mail parser gives a ParsedMail or raises MailRejected, nothing else, in the
  worker pool and also run in this process (where nothing would hide another exception),
  and never hangs (a wall-clock bound on every call);
- an mbox file splits back into exactly the messages written into it, "From " lines
  and all, and random bytes as an mbox never raise;
- a broken .msg file is a MailRejected;
- through the desk, every message is one of the known outcomes, and a quarantined one
  keeps its reason and its bytes (``raw_message`` gives them back);
- a scan gives its text or raises ScanUnreadable, within its time limits; the letter
  reader never fails on any text it could give.

``CASEAPP_FUZZ_EXAMPLES`` multiplies the examples (e.g. 20 for a long run).
"""

from __future__ import annotations

import io
import os
import signal
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import letter as letter_size
from reportlab.pdfgen import canvas

from caseapp.intake.classify import classify
from caseapp.intake.extract import build
from caseapp.intake.letter import read_letter
from caseapp.intake.mailtypes import MailLimits, MailRejected, ParsedMail
from caseapp.intake.ocr import ScanLimits, ScanUnreadable, ocr_scan
from caseapp.intake.prescan import prescan
from caseapp.intake.sources import SourceItem, mail_hash, read_mbox
from caseapp.intake.worker import MailParser
from caseapp.resources import resources_dir
from caseapp.services import Desk
from caseapp.services.dto import INTAKE_OUTCOMES
from caseapp.services.scans import proposal_for
from tests.mailmaker import bounce, mail, mbox
from tests.msgfile import write_msg

HERE = Path(__file__).parent
SCALE = max(1, int(os.environ.get("CASEAPP_FUZZ_EXAMPLES", "1")))
LIMITS = MailLimits(timeout_s=5.0)
HANG_S = 20.0  # no call may take longer than this (the parser's own timeout is 5 s)
T = TypeVar("T")


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the run) when the block takes longer than ``seconds``."""
    def too_long(_signum: int, _frame: object) -> None:
        raise AssertionError(f"hung: still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- seeds -----------------------------------------------------------------------------------


def _sample_mailbox() -> list[bytes]:
    items = read_mbox(resources_dir() / "demo" / "sample-mailbox.mbox")
    return [item.data for item in items if item.data]


def _corpus_mail() -> list[bytes]:
    out = []
    for name in ("messages_en.toml", "messages_es.toml", "messages_general.toml"):
        data = tomllib.loads((HERE / "intake_corpus" / name).read_text(encoding="utf-8"))
        for number, message in enumerate(data["message"][:6]):
            address = message.get("sender_email") or "x@example.com"
            sender = f"{message.get('sender_name', '')} <{address}>"
            out.append(mail(subject=message.get("subject", ""), body=message["text"],
                            sender=sender, message_id=f"<c{number}.{name}@example.com>"))
    return out


def _generated_mail() -> list[bytes]:
    request = mail(message_id="<gen1@example.com>")
    return [
        request,
        mail(subject="=?utf-8?b?Qm9ycmFyIG1pcyBkYXRvcw==?=", html=(
            "<p>Please <b>delete</b> my data <img src='http://tracker.example/x.gif'>"
            "<script>alert(1)</script><a href='javascript:x()'>me</a></p>"),
            message_id="<gen2@example.com>",
            attachments=(("id card.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n"),
                         ("../../etc/passwd", "text/plain", b"root:x:0:0"),
                         ("run.exe", "application/octet-stream", bytes(range(256))))),
        bounce(request),
        mail(subject="Re: PR-2026-00042", in_reply_to="<gen1@example.com>",
             references="<gen1@example.com> <a@b>", message_id="<gen3@example.com>",
             headers={"Auto-Submitted": "auto-replied", "X-Weird": "=?x-unknown?q?a=FF?="},
             body="Ich möchte meine Daten löschen. 🚗\n"),
    ]


SEED_MAIL = _sample_mailbox() + _corpus_mail() + _generated_mail()
SEED_MSG = write_msg(subject="Delete my data", sender_name="Ana Ruiz",
                     sender_email="ana.ruiz@example.com", to=[("Privacy", "privacy@example.org")],
                     body="Please delete my data.\nAna", html="<p>Please delete my data.</p>",
                     message_id="<msg1@example.com>", date=datetime(2026, 3, 2, tzinfo=UTC),
                     attachments=(("form.txt", "text/plain", b"signed"),))

# Pieces that make parsers take other paths: boundaries, encodings, nesting, odd charsets.
TOKENS = (
    b"\n\n", b"\r\n", b"\r", b"\x00", b"\xff\xfe", b"From ", b">From ", b"\n--b\n", b"--b--",
    b"Content-Type: multipart/mixed; boundary=\"b\"\n",
    b"Content-Type: multipart/alternative; boundary=b\n",
    b"Content-Type: message/rfc822\n", b"Content-Type: text/html; charset=utf-7\n",
    b"Content-Type: text/plain; charset=\"x-no-such-charset\"\n",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Transfer-Encoding: uuencode\n", b"begin 644 x\n`\nend\n",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%80%AE.exe\n",
    b"=?utf-8?b?", b"=?iso-2022-jp?q?=1B$B?=", b"?=", b"=\n", b"=ZZ", b"\t", b" ",
    b"Message-ID: <", b"In-Reply-To: <<<", b"References: " + b"<a@b> " * 50,
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n", b"From: \"\\\" <@>,,;;<>\n",
    b"Subject: " + b"x" * 300 + b"\n", b"Received: from x; Tue, 3 Mar 2026 10:00:00 -1200\n",
    b"<html><body><table><tr><td>" * 5, b"<a href='data:text/html,x'>",
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], tokens: tuple[bytes, ...] = TOKENS
            ) -> bytes:
    """A seed with a few mutations: flipped, inserted, deleted, repeated bytes and tokens."""
    data = bytearray(draw(st.sampled_from(seeds), label="seed"))
    for _ in range(draw(st.integers(0, 8), label="mutations")):
        where = draw(st.integers(0, max(len(data), 1)), label="at") % (len(data) + 1)
        how = draw(st.sampled_from(("flip", "insert", "delete", "repeat", "token", "cut")))
        if how == "flip" and data:
            data[where % len(data)] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=64))
        elif how == "delete":
            del data[where:where + draw(st.integers(1, 200))]
        elif how == "repeat":
            chunk = bytes(data[where:where + draw(st.integers(1, 400))])
            data[where:where] = chunk * draw(st.integers(1, 30))
        elif how == "token":
            data[where:where] = draw(st.sampled_from(tokens))
        elif how == "cut":
            del data[where:]
    return bytes(data)


mail_bytes = st.one_of(mutated(SEED_MAIL), st.binary(max_size=3000),
                       st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join))


def only(call: Callable[[], T], allowed: type[BaseException], *, seconds: float = HANG_S
         ) -> T | None:
    """The call's result, or None when it raised ``allowed``; anything else fails."""
    started = time.monotonic()
    try:
        with bounded(seconds):
            return call()
    except allowed:
        return None
    finally:
        assert time.monotonic() - started < seconds


# --- mail ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parser() -> Iterator[MailParser]:
    with MailParser(workers=1) as pool:
        yield pool


def check_parsed(parsed: ParsedMail) -> None:
    """What intake relies on from a parse that went through."""
    assert len(parsed.raw_sha256) == 64
    for value in (parsed.subject, parsed.text, parsed.from_addr, parsed.message_id):
        value.encode("utf-8")  # storable (no lone surrogates)
    for attachment in parsed.attachments:
        assert "/" not in attachment.filename_sanitized
        assert attachment.filename_sanitized not in ("", ".", "..")
        assert attachment.size == len(attachment.data)


@fuzz_settings(150)
@given(raw=mail_bytes)
def test_the_mail_parser_in_this_process_raises_only_mail_rejected(raw: bytes) -> None:
    def parse() -> ParsedMail:
        prescan(raw, LIMITS)
        parsed = build(raw, LIMITS)
        classify(parsed.subject, parsed.text, parsed.from_name, parsed.from_addr)
        return parsed

    parsed = only(parse, MailRejected)
    event("rejected" if parsed is None else "parsed")
    if parsed is not None:
        check_parsed(parsed)


@fuzz_settings(60)
@given(raw=mail_bytes)
def test_the_mail_parser_workers_raise_only_mail_rejected(parser: MailParser,
                                                          raw: bytes) -> None:
    parsed = only(lambda: parser.parse(raw, LIMITS), MailRejected)
    event("rejected" if parsed is None else "parsed")
    if parsed is not None:
        check_parsed(parsed)


@fuzz_settings(25)
@given(data=st.one_of(mutated([SEED_MSG], (b"\x00" * 8, b"\xff" * 8, b"\xfe\xff\xff\xff",
                                          b"__substg1.0_", b"\xd0\xcf\x11\xe0")),
                      st.binary(max_size=2000).map(lambda b: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
                                                   + b)))
def test_a_broken_outlook_file_is_rejected_not_a_crash(parser: MailParser,
                                                       data: bytes) -> None:
    converted = only(lambda: parser.convert_msg(data, LIMITS), MailRejected)
    event("rejected" if converted is None else "converted")
    if converted is not None:
        only(lambda: parser.parse(converted, LIMITS), MailRejected)


def test_the_outlook_seed_converts() -> None:
    with MailParser(workers=1) as pool:
        parsed = pool.parse(pool.convert_msg(SEED_MSG, LIMITS), LIMITS)
    assert parsed.subject == "Delete my data" and parsed.from_addr == "ana.ruiz@example.com"


body_lines = st.lists(st.one_of(
    st.sampled_from(("From me to you", "From ", ">From x", ">>From y", "", " ", "From:",
                     "From sender@example.com Mon Mar  2 10:00:00 2026")),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            max_size=40)), max_size=12)


@fuzz_settings(80)
@given(bodies=st.lists(body_lines, min_size=1, max_size=6))
def test_an_mbox_splits_back_into_the_messages_written(tmp_path_factory: pytest.TempPathFactory,
                                                       bodies: list[list[str]]) -> None:
    messages = [mail(message_id=f"<mb{n}@example.com>", body="\n".join(lines) + "\nend\n")
                for n, lines in enumerate(bodies)]
    file = tmp_path_factory.mktemp("mbox") / "box.mbox"
    file.write_bytes(mbox(*messages))
    items = list(read_mbox(file))
    assert [item.error for item in items] == [""] * len(messages)
    assert [item.sha256 for item in items] == [mail_hash(m) for m in messages]


@fuzz_settings(60)
@given(data=st.one_of(st.binary(max_size=3000), mutated([mbox(*SEED_MAIL[:4])])))
def test_any_bytes_as_an_mbox_give_items_never_an_exception(
        tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    file = tmp_path_factory.mktemp("mbox") / "box.mbox"
    file.write_bytes(data)
    items = only(lambda: list(read_mbox(file)), ())
    assert items is not None
    for item in items:
        assert bool(item.data) != bool(item.error)
    # Nothing of the file is lost: each non-blank line is in some message.
    kept = b"".join(item.data for item in items)
    for line in data.split(b"\n"):
        stripped = line.lstrip(b">").strip()
        if stripped and not line.startswith(b"From "):
            assert stripped in kept.replace(b"\r", b"") or stripped in kept


@fuzz_settings(40)
@given(raw=mail_bytes)
def test_the_desk_takes_any_mail_in_and_keeps_what_it_quarantines(sqlite_desk: Desk,
                                                                  raw: bytes) -> None:
    item = SourceItem("fuzz.eml", "mail", data=raw, sha256=mail_hash(raw)) if raw.strip() \
        else SourceItem("fuzz.eml", "mail", error="the file is empty")
    result = only(lambda: sqlite_desk.take_in(item), ())
    assert result is not None and result.outcome in INTAKE_OUTCOMES
    event(result.outcome)
    if result.outcome == "quarantined" and item.data:
        assert result.detail.strip()  # the reason
        assert result.message_db_id is not None
        kept = sqlite_desk.raw_message(result.message_db_id)
        assert raw.startswith(kept) and kept  # the bytes, all of them up to 25 MB
        assert any(i.message_db_id == result.message_db_id and i.reason
                   for i in sqlite_desk.intake_queue("quarantined"))
    elif result.outcome in ("created", "threaded", "not_request"):
        assert result.message_db_id is not None
        sqlite_desk.get_message(result.message_db_id)  # and it opens


@fuzz_settings(15)
@given(data=st.one_of(mutated([SEED_MSG], (b"\x00" * 8, b"\xff" * 8)),
                      st.binary(min_size=1, max_size=600)))
def test_the_desk_quarantines_a_broken_outlook_file_with_its_bytes(sqlite_desk: Desk,
                                                                   data: bytes) -> None:
    item = SourceItem("fuzz.msg", "msg", data=data, sha256=mail_hash(data))
    result = only(lambda: sqlite_desk.take_in(item), ())
    assert result is not None and result.outcome in INTAKE_OUTCOMES
    if result.outcome == "quarantined":
        assert result.message_db_id is not None and result.detail.strip()
        assert data.startswith(sqlite_desk.raw_message(result.message_db_id))


# --- scans -----------------------------------------------------------------------------------

SCAN_LIMITS = ScanLimits(dpi=100, min_dpi=50, page_timeout_s=15, total_timeout_s=30,
                         max_pages=3, max_pixels=4_000_000)
SCAN_HANG_S = 45.0
LETTER = ("Privacy Office, PO Box 1234, Detroit MI 48226\n\nDear Sir,\nPlease delete "
          "all my personal information.\nAna Ruiz\n88 Valencia Street\nSan Francisco CA 94103")


def _image(kind: str) -> bytes:
    picture = Image.new("L", (420, 160), 255)
    draw = ImageDraw.Draw(picture)
    for number, line in enumerate(LETTER.splitlines()[:5]):
        draw.text((8, 8 + number * 28), line, fill=0)
    out = io.BytesIO()
    picture.save(out, format=kind, **({"dpi": (100, 100)} if kind != "JPEG" else {}))
    return out.getvalue()


def _pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(letter_size[0] / 3, letter_size[1] / 6),
                         invariant=1)
    for number, line in enumerate(LETTER.splitlines()[:5]):
        page.drawString(8, 110 - number * 14, line)
    page.showPage()
    page.save()
    return out.getvalue()


SCANS = {"letter.png": _image("PNG"), "letter.tif": _image("TIFF"),
         "letter.jpg": _image("JPEG"), "letter.pdf": _pdf()}
SCAN_TOKENS = (b"\x00" * 16, b"\xff" * 16, b"IDAT", b"IEND", b"obj", b"endobj", b"stream\n",
               b"/Type /Page", b"/Filter /FlateDecode", b"xref", b"%%EOF", b"\xff\xd8\xff",
               b"II*\x00", b"\x7f\xff\xff\xff")


@fuzz_settings(12)
@given(name=st.sampled_from(sorted(SCANS)), data=st.data())
def test_a_scan_gives_text_or_scan_unreadable_never_a_crash_or_a_hang(
        name: str, data: st.DataObject) -> None:
    scan = data.draw(mutated([SCANS[name]], SCAN_TOKENS), label="scan")
    read = only(lambda: ocr_scan(scan, name, limits=SCAN_LIMITS), ScanUnreadable,
                seconds=SCAN_HANG_S)
    event(f"{name}: {'unreadable' if read is None else 'read'}")
    if read is not None:
        assert read.page_count >= 1
        fields = read_letter(read.text)
        proposal_for(read.text, date(2026, 3, 4), fields=fields)


def test_the_unmutated_scans_are_read() -> None:
    for name, scan in SCANS.items():
        read = ocr_scan(scan, name, limits=SCAN_LIMITS)
        assert "delete" in read.text.lower(), (name, read.text)


@fuzz_settings(150)
@given(text=st.one_of(st.text(max_size=800), mutated([LETTER.encode()], (
    b"\n", b"PO Box", b"ZIP 94103", b"CA 9", b"age 9", b"my son", b"(555) 010-0100",
    b"@example.com", b"1HGCM82633A004352")).map(lambda b: b.decode("utf-8", "replace"))))
def test_the_letter_reader_takes_any_text(text: str) -> None:
    fields = only(lambda: read_letter(text), ())
    assert fields is not None
    proposal_for(text, date(2026, 3, 4), fields=fields)


# --- found by the fuzzing: a long unbroken run of letters ------------------------------------

BLOB = "QUJD" * 75_000  # 300 KB without a space or an "@": a pasted base64 blob


def test_the_classifier_reads_a_long_unbroken_run_in_linear_time() -> None:
    # Was quadratic twice over (the email pattern tried from every letter, the typo
    # repair copied the whole "word" once per letter): 22 s for 100 KB.
    started = time.monotonic()
    with bounded(10):
        classify("Please delete my data", f"Please delete my data.\n{BLOB}\nAna Ruiz",
                 "Ana Ruiz", "ana.ruiz@example.com")
    assert time.monotonic() - started < 10


def test_a_long_unbroken_run_does_not_stall_the_intake(sqlite_desk: Desk) -> None:
    # The search index's email pattern (caseapp.search.text.EMAIL) is quadratic on such a
    # run: 11 s in find_identifiers for this one mail, minutes for a megabyte, all inside
    # the write transaction (every other workstation waits). About 1 s once linear.
    raw = mail(message_id="<blob@example.com>", body=f"Please delete my data.\n{BLOB}\n")
    sqlite_desk.take_in(SourceItem("warm.eml", "mail", data=mail(), sha256=mail_hash(mail())))
    started = time.monotonic()
    result = only(lambda: sqlite_desk.take_in(
        SourceItem("blob.eml", "mail", data=raw, sha256=mail_hash(raw))), (), seconds=60)
    assert result is not None and result.outcome == "created"
    assert time.monotonic() - started < 6
