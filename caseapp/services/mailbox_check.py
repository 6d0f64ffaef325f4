"""Trying the mailbox settings before saving them: connect, log in, count what waits.

Used by Settings → Mailbox → Test connection. Nothing is taken in and nothing is
flagged; no database is touched. Errors are the mailbox's typed ones
(:class:`~caseapp.intake.imap.MailboxUnavailable`, ``MailboxLoginFailed``,
``MailboxFolderMissing``) or a :class:`~caseapp.errors.ConfigError` when there is no
password to try, each with a message for staff.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from caseapp.config import MailSettings
from caseapp.errors import ConfigError
from caseapp.intake.imap import Mailbox
from caseapp.secrets import get_secret


@dataclass(frozen=True)
class MailboxCheck:
    """What a test connection found."""

    where: str
    """``user@host:port/folder``."""
    waiting: int
    """Messages not yet taken in by caseapp (the next fetch takes these)."""
    uses_custom_keyword: bool
    """False when the server refuses custom keywords and ``\\Seen`` marks processed mail."""

    def sentence(self) -> str:
        count = (f"{self.waiting} new message{'s' if self.waiting != 1 else ''} "
                 f"{'is' if self.waiting == 1 else 'are'} waiting" if self.waiting
                 else "no new messages are waiting")
        note = ("" if self.uses_custom_keyword else
                " (the server keeps no custom flags: caseapp will mark the messages it "
                "takes in as read)")
        return f"Connected to {self.where}: {count}{note}."


def check_mailbox(settings: MailSettings, password: str | None = None, *,
                  ssl_context: ssl.SSLContext | None = None,
                  timeout_s: float = 20) -> MailboxCheck:
    """Connect with ``settings`` and ``password`` (the stored one when None)."""
    if not settings.configured:
        raise ConfigError("Give the IMAP server and the user name first.")
    secret = password if password else get_secret(settings.secret_name)
    if not secret:
        raise ConfigError(f"Type the password of {settings.imap_user} to test the connection "
                          "(no password is stored for this mailbox yet).")
    with Mailbox.connect(settings, secret, ssl_context=ssl_context,
                         timeout_s=timeout_s) as mailbox:
        waiting = len(mailbox.pending_uids())
        return MailboxCheck(mailbox.key, waiting, mailbox.uses_custom_keyword)
