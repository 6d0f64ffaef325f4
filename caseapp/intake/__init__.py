"""Intake: turning mail, scans and phone calls into cases.

So far: hostile-mail-safe parsing (:mod:`caseapp.intake.mailparse`).
"""

from __future__ import annotations

from caseapp.intake.mailparse import parse_mail, shutdown_default_parser
from caseapp.intake.mailtypes import Attachment, MailLimits, MailRejected, ParsedMail
from caseapp.intake.worker import MailParser

__all__ = [
    "Attachment",
    "MailLimits",
    "MailParser",
    "MailRejected",
    "ParsedMail",
    "parse_mail",
    "shutdown_default_parser",
]
