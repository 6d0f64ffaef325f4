"""Test mail, made by the tests themselves (fictitious people only)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime


def mail(*, subject: str = "Please delete my data", body: str = "", sender: str =
         "Ana Ruiz <ana.ruiz@example.com>", message_id: str | None = "<m1@example.com>",
         in_reply_to: str | None = None, references: str | None = None,
         date: datetime | None = datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
         received: datetime | None = None, headers: dict[str, str] | None = None,
         attachments: tuple[tuple[str, str, bytes], ...] = (), html: str | None = None
         ) -> bytes:
    message = EmailMessage()
    if received is not None:
        message["Received"] = (f"from mx.example.net by mail.example.org; "
                               f"{format_datetime(received)}")
    message["From"] = sender
    message["To"] = "privacy@example.org"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    if date is not None:
        message["Date"] = format_datetime(date)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body or (
        "Hello,\n\nI live in California, ZIP 94110. Please delete all my personal "
        "information from your systems.\n\nThank you,\nAna Ruiz\n"))
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, media_type, data in attachments:
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def bounce(original: bytes, *, message_id: str = "<bounce1@mx.example.net>") -> bytes:
    """An RFC 3464 delivery status notification returning *original*."""
    head = original.split(b"\n\n", 1)[0].decode("ascii", "replace")
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        "To: privacy@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: {message_id}\n"
        "Date: Tue, 3 Mar 2026 10:00:00 +0000\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\n'
        "\n--BB\nContent-Type: text/plain\n\nThe mail could not be delivered.\n"
        "--BB\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; nobody@example.com\n"
        "Action: failed\nStatus: 5.1.1\n"
        "--BB\nContent-Type: text/rfc822-headers\n\n"
        f"{head}\n"
        "--BB--\n"
    ).encode()


def mbox(*messages: bytes) -> bytes:
    """An mboxrd file holding *messages*."""
    out = []
    for raw in messages:
        lines = raw.replace(b"\r\n", b"\n").split(b"\n")
        quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line
                  for line in lines]
        out.append(b"From sender@example.com Mon Mar  2 10:00:00 2026\n"
                   + b"\n".join(quoted).rstrip(b"\n") + b"\n\n")
    return b"".join(out)
