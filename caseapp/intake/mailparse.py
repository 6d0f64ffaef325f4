"""Hostile-mail-safe parsing: the public entry points.

``parse_mail(raw)`` returns a :class:`ParsedMail` or raises :class:`MailRejected` (with a
reason for the quarantine list), and never anything else, and never hangs:

1. :func:`~caseapp.intake.prescan.prescan` refuses, in the calling process and in linear
   time, messages over the size limit and messages whose header sections, header fields,
   part count or nesting depth are absurd (header bombs, 2,000 nested multiparts);
2. the stdlib ``email`` parser then runs in a worker process
   (:mod:`caseapp.intake.worker`) with a wall-clock timeout and an address-space limit;
   a worker that overruns or dies is replaced, and the message is rejected.

For many messages, hold one :class:`MailParser` (a pool of reusable workers);
``parse_mail`` uses a shared one that is started on first use and stopped at exit.
"""

from __future__ import annotations

import atexit
import threading

from caseapp.intake.mailtypes import (
    DEFAULT_LIMITS,
    MailLimits,
    ParsedMail,
)
from caseapp.intake.worker import MailParser

__all__ = ["parse_mail", "shutdown_default_parser"]

_default: MailParser | None = None
_default_lock = threading.Lock()


def _default_parser() -> MailParser:
    global _default
    with _default_lock:
        if _default is None:
            _default = MailParser()
        return _default


def parse_mail(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse one message with the shared worker pool; raises only :class:`MailRejected`."""
    return _default_parser().parse(raw, limits)


def shutdown_default_parser() -> None:
    """Stop the shared pool's workers (it starts again on the next :func:`parse_mail`)."""
    global _default
    with _default_lock:
        parser, _default = _default, None
    if parser is not None:
        parser.close()


atexit.register(shutdown_default_parser)
