"""The values mail parsing takes and gives: limits, the parsed mail, the refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from caseapp.errors import EnvironmentProblem, UserError

MiB = 1024 * 1024
KiB = 1024


class MailRejected(UserError):
    """A message that cannot be read safely; ``reason`` says why, for the quarantine list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

    @property
    def reason(self) -> str:
        return str(self.args[0])


class ParserUnavailable(EnvironmentProblem):
    """The parser itself could not work (busy, shut down, cannot start): the message is
    not to blame, so it is neither quarantined nor marked processed; try again later."""


@dataclass(frozen=True)
class MailLimits:
    """What one message may cost before it is refused (and quarantined) instead of read."""

    max_bytes: int = 25 * MiB
    max_header_bytes: int = 64 * KiB
    """The whole header section of the message, and of each MIME part."""
    max_header_line_bytes: int = 8 * KiB
    """One header field, continuation lines included."""
    max_parts: int = 200
    max_depth: int = 20
    """Nesting of multiparts and attached messages."""
    timeout_s: float = 10.0
    """Wall-clock time for parsing one message in the worker process."""
    memory_mb: int = 512
    """Address-space limit of the worker process (RLIMIT_AS), where the OS has one."""


@dataclass(frozen=True)
class Attachment:
    filename_sanitized: str
    media_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ParsedMail:
    """Everything intake needs from one message, as plain values (picklable)."""

    message_id: str
    """As written, angle brackets included (``<id@host>``); "" when missing."""
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    date: datetime | None
    """In UTC; None when missing or unparseable."""
    auto_submitted: bool
    is_bounce: bool
    text: str
    html_sanitized: str
    blocked: tuple[str, ...]
    """What sanitizing removed, for the viewer's banner: ("3 remote images", ...)."""
    attachments: tuple[Attachment, ...]
    raw_sha256: str
    defects: tuple[str, ...]
    reported_message_ids: tuple[str, ...] = ()
    """For a bounce or report: the Message-IDs of the original message it is about."""
    arrived: datetime | None = None
    """In UTC: the date of the topmost Received header, when the mail reached us."""


DEFAULT_LIMITS = MailLimits()
