"""The program's log and its bug reports, kept free of consumers' personal data.

What caseapp logs itself names cases by reference and staff by user name, never a
consumer. What it cannot choose is the text of an exception: a driver error quotes the
row it failed on, a parser error the header it could not read. So every message and
every exception text that reaches a log file, the terminal or a bug report passes
through ``redact``: e-mail addresses, phone numbers and other long digit runs, quoted
text and SQL parameters are replaced by a placeholder. (The engine is also made with
``hide_parameters``, so SQLAlchemy leaves the parameters out of its errors to begin with.)

The log is ``logs/caseapp.log`` in the data folder: warnings and errors, rotated at
1 MB, five files kept.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import traceback
from pathlib import Path
from typing import TextIO

LOG_FILE = "caseapp.log"
MAX_BYTES = 1_000_000
KEEP = 5

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLAlchemy's "[parameters: (...)]" and "[SQL: ...]" blocks (before quotes go).
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(|\n|$))", re.DOTALL), "[parameters hidden]"),
    (re.compile(r"\[SQL: .*?\](?=\s*(?:\[|\(|\n|$))", re.DOTALL), "[SQL hidden]"),
    (re.compile(r"DETAIL: .*"), "DETAIL: (hidden)"),  # PostgreSQL repeats the row's values
    (re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE), "<email>"),
    # Text in quotes of any kind: a repr of a value, a quoted header or name.
    (re.compile(r"'[^'\n]{1,500}'|\"[^\"\n]{1,500}\"|“[^”\n]{1,500}”|‘[^’\n]{1,500}’"),
     "<text>"),
    # Phone numbers written any way, and other runs of 5 or more digits (ZIP codes,
    # account numbers); years, counts and line numbers are shorter.
    (re.compile(r"\+?\(?\d[\d ().-]{5,}\d"), "<number>"),
    (re.compile(r"\d{5,}"), "<number>"),
)


_CASE_REF = re.compile(r"\b[A-Z]{2,5}-\d{4}-\d{3,7}\b")
"""A case reference (PR-2026-00042): what the log names cases by, kept as it is."""
_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
_PLAIN_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "background", "before", "but", "by", "can",
    "cannot", "could", "did", "does", "error", "errors", "expected", "failed", "file",
    "for", "from", "has", "have", "if", "in", "invalid", "is", "it", "its", "missing",
    "must", "name", "need", "needs", "no", "none", "not", "of", "on", "or", "please",
    "should", "such", "that", "the", "there", "this", "to", "unable", "unknown", "was",
    "when", "where", "which", "while", "with", "without", "you", "your",
))
"""Capitalised words that start an error message's sentence, not a name."""


def redact(text: str) -> str:
    """``text`` with anything that may be a consumer's data replaced by a placeholder;
    case references are kept."""
    refs = _CASE_REF.findall(text)
    pieces = _CASE_REF.split(text)
    out = [_redact_piece(piece) for piece in pieces]
    return "".join(piece + (refs[index] if index < len(refs) else "")
                   for index, piece in enumerate(out))


def _redact_piece(text: str) -> str:
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def redact_exception_text(text: str) -> str:
    """``redact``, and every capitalised word too (a name written into an exception's
    text without quotes), but for the few that begin a sentence of an error message."""
    def name(match: re.Match[str]) -> str:
        word = match.group(0)
        if word[0].isupper() and word[1:].islower() and word.lower() not in _PLAIN_WORDS:
            return "<name>"
        return word

    return _WORD.sub(name, redact(text))


def bug_report(error: BaseException) -> str:
    """The traceback of ``error`` (and of the exceptions it came from), every exception's
    text redacted: where it happened in the code, not whose data it was handling."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__)
    for index, exc in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exc.__traceback__))
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__}: "
                     f"{redact_exception_text(str(exc))}\n")
    return "".join(parts)


def summary(error: BaseException) -> str:
    """One line naming the exception, its text redacted."""
    return f"{type(error).__name__}: {redact_exception_text(str(error))}"


class RedactingFormatter(logging.Formatter):
    """A formatter whose messages and tracebacks are redacted (``redact``)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        message = redact(record.getMessage())
        exc = record.exc_info[1] if record.exc_info else None
        record.exc_info, record.exc_text = None, None
        try:
            head = super().format(_with_message(record, message))
        finally:
            record.exc_info, record.exc_text = saved
        return head + ("\n" + bug_report(exc).rstrip() if exc is not None else "")


def _with_message(record: logging.LogRecord, message: str) -> logging.LogRecord:
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = message, None
    return copy


class _TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """To whatever ``sys.stderr`` is when a record comes (tests swap it per test)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass

    def filter(self, record: logging.LogRecord) -> bool:
        # A record already shown on the terminal another way (the command line's bug
        # report) is for the file only.
        return not getattr(record, "file_only", False) and bool(super().filter(record))


def setup_logging(log_dir: Path | None, *, level: int = logging.WARNING) -> Path | None:
    """Send caseapp's warnings and errors, redacted, to ``log_dir``/caseapp.log (rotated)
    and to the terminal; returns the log file, or None when the folder cannot be made
    (a read-only home: the terminal only). Calling it again replaces the handlers."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "caseapp", False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [_TerminalHandler()]
    path: Path | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            path = log_dir / LOG_FILE
            handlers.append(logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=KEEP, encoding="utf-8"))
        except OSError:
            path = None
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(level)
        handler.caseapp = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return path
