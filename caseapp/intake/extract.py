"""Building a :class:`ParsedMail` from raw bytes with the stdlib ``email`` package.

This runs inside the worker process (see :mod:`caseapp.intake.worker`), after
:func:`caseapp.intake.prescan.prescan` has bounded the message's structure. It is
written to degrade, never to fail: every header and part is read defensively, unknown
charsets are decoded with replacement, and what went wrong is noted in ``defects``.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import email.policy
import hashlib
import io
import re
import unicodedata
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from caseapp.intake.htmlsafe import sanitize_and_text
from caseapp.intake.mailtypes import (
    DEFAULT_LIMITS,
    Attachment,
    MailLimits,
    MailRejected,
    ParsedMail,
)

_POLICY = email.policy.default
# For writing an attached message back out exactly as it came, without refolding.
_VERBATIM = email.policy.default.clone(refold_source="none", max_line_length=0)
_ADDR_SPEC = re.compile(r"[\w.+=-]+@[\w-]+(?:\.[\w-]+)+")
_MSGID = re.compile(r"<[^<>\s]+>")
_MAX_DEFECTS = 50
MAX_MESSAGE_ID = 250
_MAX_FILENAME = 150
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply")


class _Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, note: str) -> None:
        # Defect texts quote the raw line, 8-bit bytes (surrogates) included: make them
        # printable and storable.
        note = note.encode("utf-8", "backslashreplace").decode("utf-8")[:300]
        if note not in self.items and len(self.items) < _MAX_DEFECTS:
            self.items.append(note)


def _fix_8bit(value: str) -> str:
    """Header text with raw 8-bit bytes (kept as surrogates): read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _fix_8bit(str(value))
    return None


def _decode_words(value: str) -> str:
    """RFC 2047 decoding that never fails (the header-parser-free fallback)."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _clean_text(value: str) -> str:
    value = _fix_8bit(value)
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return " ".join(value.split())


def _header_text(msg: Message, name: str, notes: _Notes) -> str:
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)
    try:
        return _clean_text(str(_POLICY.header_factory(name, unfolded)))
    except Exception as exc:
        notes.add(f"{name} header could not be parsed ({type(exc).__name__})")
        return _clean_text(_decode_words(unfolded))


def _addresses(msg: Message, name: str, notes: _Notes) -> list[tuple[str, str]]:
    raw = _raw_header(msg, name)
    if raw is None:
        return []
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)
    try:
        header = _POLICY.header_factory(name, unfolded)
        found = [(_clean_text(a.display_name), a.addr_spec.strip()) for a in header.addresses]
    except Exception as exc:
        notes.add(f"{name} header could not be parsed ({type(exc).__name__})")
        try:
            found = [
                (_clean_text(_decode_words(n)), a.strip()) for n, a in getaddresses([unfolded])
            ]
        except Exception:  # even the lenient parser gave up: take what looks like addresses
            found = [("", a) for a in _ADDR_SPEC.findall(unfolded)]
    return [(n, a) for n, a in found if a and a != "<>"] or [(n, a) for n, a in found if n]


def _msg_ids(value: str) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value))


def _date(msg: Message, notes: _Notes) -> datetime | None:
    raw = _raw_header(msg, "date")
    if raw is None:
        notes.add("no Date header")
        return None
    try:
        parsed = parsedate_to_datetime(raw.strip())
        if parsed.tzinfo is None:  # "-0000": the zone is unknown; UTC is the best guess
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except Exception:  # unreadable, or out of range once moved to UTC (year 9999 -0100)
        notes.add(f"unreadable Date header: {_clean_text(raw)[:80]!r}")
        return None


def _arrival(msg: Message) -> datetime | None:
    """When the message reached the receiving server: the date of the topmost Received
    header (added last, by our own side), unlike Date, which the sender writes."""
    try:
        raw = msg.get_all("received") or []
    except Exception:
        return None
    for value in raw[:1]:
        text = _clean_text(str(value))
        if ";" not in text:
            return None
        with contextlib.suppress(Exception):
            parsed = parsedate_to_datetime(text.rsplit(";", 1)[1].strip())
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    return None


def _decode_text(payload: bytes, charset: str | None, notes: _Notes) -> str:
    name = (charset or "us-ascii").strip().strip('"').lower()
    try:
        codecs.lookup(name)
        return payload.decode(name, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        pass
    notes.add(f"unknown charset {name[:40]!r}: read as UTF-8 where possible")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", "replace")


def _payload(part: Message, notes: _Notes) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        notes.add(f"a part could not be decoded ({type(exc).__name__})")
        return b""
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message, notes: _Notes) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _decode_text(_payload(part, notes), charset, notes)


def sanitize_filename(name: str, index: int) -> str:
    """A filename safe to show and to save: no paths, controls, leading dots; ≤150 chars."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else ch
        for ch in name
    )
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: _MAX_FILENAME - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            name = name[:_MAX_FILENAME].rstrip(". ")
    return name or f"attachment-{index}.bin"


def _filename(part: Message, notes: _Notes) -> str:
    try:
        name = part.get_filename() or part.get_param("name", header="content-type") or ""
    except Exception as exc:
        notes.add(f"an attachment name could not be read ({type(exc).__name__})")
        return ""
    if isinstance(name, tuple):  # an undecoded RFC 2231 value
        name = _fix_8bit(name[2] or "")
    name = _fix_8bit(str(name))
    if "=?" in name:
        name = _decode_words(name)
    return name


def _message_bytes(part: Message, notes: _Notes) -> bytes:
    """The bytes of an attached message/rfc822, as written (not refolded)."""
    try:
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(inner_msg, EmailMessage):
            return b""
        out = io.BytesIO()
        BytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(inner_msg)
        return out.getvalue()
    except Exception as exc:
        notes.add(f"an attached message could not be written out ({type(exc).__name__})")
        return b""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        has_name = bool(part.get_filename() or part.get_param("name", header="content-type"))
    except Exception:
        disposition, has_name = "", False
    return disposition == "attachment" or has_name


def _walk(msg: Message, limits: MailLimits) -> list[tuple[Message, str]]:
    """(part, content type) for all parts, depth-first, without recursion.

    Attached messages are not entered: they become attachments of their own.
    """
    out: list[tuple[Message, str]] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        kind = _content_type(part)
        out.append((part, kind))
        if len(out) > limits.max_parts:
            raise MailRejected(f"the message has more than {limits.max_parts} MIME parts")
        if depth > limits.max_depth:
            raise MailRejected(f"the message nests parts more than {limits.max_depth} levels deep")
        if part.is_multipart() and not kind.startswith("message/"):
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
    return out


def _auto_submitted(msg: Message) -> bool:
    auto = (_raw_header(msg, "auto-submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    precedence = (_raw_header(msg, "precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "auto_reply", "auto-reply"):
        return True
    if any(_raw_header(msg, name) is not None for name in _AUTO_HEADERS):
        return True
    return (_raw_header(msg, "x-fc-machinegenerated") or "").strip().lower() == "true"


_REPORTED_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]+>)", re.I | re.M)


def _reported_message_ids(parts: list[tuple[Message, str]], notes: _Notes) -> tuple[str, ...]:
    """Message-IDs in the returned message (or its headers) of a delivery report, so a
    bounce can join the case whose mail it answers."""
    found: list[str] = []
    for part, kind in parts:
        if kind in ("message/rfc822", "message/global"):
            data = _message_bytes(part, notes)
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            data = _payload(part, notes)
        else:
            continue
        data = data[:65536].replace(b"\r\n", b"\n")
        header_end = data.find(b"\n\n")
        head = data if header_end < 0 else data[:header_end]
        for match in _REPORTED_ID.finditer(head):
            value = match.group(1).decode("ascii", "replace")
            if value not in found:
                found.append(value)
    return tuple(found[:5])


def build(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse *raw* (already prescanned) into a :class:`ParsedMail`."""
    notes = _Notes()
    msg = BytesParser(policy=_POLICY).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    parts = _walk(msg, limits)
    for part, _kind in parts:
        for defect in part.defects:
            notes.add(f"{type(defect).__name__}: {defect}".rstrip(": "))

    message_id_raw = _raw_header(msg, "message-id")
    if message_id_raw is None:
        notes.add("no Message-ID header")
        message_id = ""
    else:
        ids = _msg_ids(message_id_raw)
        message_id = ids[0] if ids else _clean_text(message_id_raw)
    # Real Message-IDs are short; a longer one is cut so it fits the database's index.
    message_id = message_id[:MAX_MESSAGE_ID]
    in_reply_to_ids = tuple(i[:MAX_MESSAGE_ID]
                            for i in _msg_ids(_raw_header(msg, "in-reply-to") or ""))
    references = tuple(i[:MAX_MESSAGE_ID]
                       for i in _msg_ids(_raw_header(msg, "references") or ""))[:100]

    senders = _addresses(msg, "from", notes)
    from_name, from_addr = senders[0] if senders else ("", "")
    to = tuple(addr for _name, addr in _addresses(msg, "to", notes) if addr)

    top_type = parts[0][1]
    report_type = ""
    with contextlib.suppress(Exception):
        report_type = str(msg.get_param("report-type", "", header="content-type")).lower()
    is_bounce = (
        (top_type == "multipart/report" and report_type == "delivery-status")
        or any(kind == "message/delivery-status" for _p, kind in parts)
        or from_addr.split("@")[0].lower() in _BOUNCE_SENDERS
    )

    # The body: the first readable text/plain and text/html that are not attachments.
    plain_part: Message | None = None
    html_part: Message | None = None
    try:
        plain_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
    except Exception as exc:
        notes.add(f"the message body could not be located ({type(exc).__name__})")
    if plain_part is None and html_part is None:
        for part, kind in parts:
            if kind in ("text/plain", "text/html") and not _is_attachment(part):
                if kind == "text/plain" and plain_part is None:
                    plain_part = part
                elif kind == "text/html" and html_part is None:
                    html_part = part
    text = _part_text(plain_part, notes) if plain_part is not None else ""
    html_sanitized = ""
    blocked: tuple[str, ...] = ()
    if html_part is not None:
        html_sanitized, blocked, html_text = sanitize_and_text(_part_text(html_part, notes))
        if not text.strip():
            text = html_text

    reported = _reported_message_ids(parts, notes) if is_bounce else ()

    attachments: list[Attachment] = []
    for part, kind in parts:
        if part is plain_part or part is html_part:
            continue
        if kind.startswith("multipart/") or kind == "message/delivery-status":
            continue
        if kind.startswith("text/") and not _is_attachment(part):
            continue
        data = (
            _message_bytes(part, notes)
            if kind in ("message/rfc822", "message/global")
            else _payload(part, notes)
        )
        index = len(attachments) + 1
        attachments.append(
            Attachment(
                filename_sanitized=sanitize_filename(_filename(part, notes), index),
                media_type=kind,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
        )

    return _storable(ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else "",
        references=references,
        subject=_header_text(msg, "subject", notes),
        from_name=from_name,
        from_addr=from_addr,
        to=to,
        date=_date(msg, notes),
        auto_submitted=_auto_submitted(msg),
        is_bounce=is_bounce,
        text=text,
        html_sanitized=html_sanitized,
        blocked=blocked,
        attachments=tuple(attachments),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        defects=tuple(notes.items),
        reported_message_ids=reported,
        arrived=_arrival(msg),
    ))


def _text_ok(value: str) -> str:
    """Text any database stores: 8-bit bytes that slipped through a decoder (as lone
    surrogates) are read as UTF-8/cp1252, anything left is replaced, and NUL characters
    (refused by PostgreSQL in text columns) become U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _fix_8bit(value).encode("utf-8", "replace").decode("utf-8")


def _storable(parsed: ParsedMail) -> ParsedMail:
    changes: dict[str, Any] = {}
    for name, value in vars(parsed).items():
        if isinstance(value, str):
            fixed: Any = _text_ok(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            fixed = tuple(_text_ok(v) for v in value)
        else:
            continue
        if fixed != value:
            changes[name] = fixed
    attachments = tuple(
        dataclasses.replace(a, media_type=_text_ok(a.media_type)[:100],
                            filename_sanitized=_text_ok(a.filename_sanitized))
        for a in parsed.attachments)
    if attachments != parsed.attachments:
        changes["attachments"] = attachments
    return dataclasses.replace(parsed, **changes) if changes else parsed
