"""The sample mailbox in resources/demo/: a morning's privacy mail, all fictitious.

It lets a new user try intake before any mail server is set up: requests in English and
Spanish, a parent writing about a child, an authorized agent, a warranty question that
is not a privacy request, a reply that joins its case, an out-of-office reply, a bounce,
an HTML mail with remote images (blocked), an attachment, and a broken message for the
quarantine. ``python -m caseapp.demo_mailbox`` rewrites the file; a test keeps the two
in step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from caseapp.resources import resources_dir

START = datetime(2026, 3, 2, 13, 5, tzinfo=UTC)
DESK = "privacy@example.org"


def _mail(n: int, sender: str, subject: str, body: str, *, html: str | None = None,
          headers: dict[str, str] | None = None,
          attachment: tuple[str, str, bytes] | None = None) -> bytes:
    arrived = START + timedelta(minutes=17 * n)
    message = EmailMessage()
    message["Received"] = f"from mx.example.net by mail.example.org; {format_datetime(arrived)}"
    message["From"] = sender
    message["To"] = DESK
    message["Subject"] = subject
    message["Date"] = format_datetime(arrived - timedelta(minutes=2))
    message["Message-ID"] = f"<demo-{n}@mail.example.net>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        filename, media_type, data = attachment
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # Fixed boundaries (the email package draws random ones): the file is reproducible.
    for number, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"demo-{n}-part-{number}")
    return message.as_bytes()


def messages() -> list[bytes]:
    items = [
        _mail(1, "Dana Whitfield <dana.whitfield@example.com>", "Delete my account and data",
              "Hello,\n\nI no longer own a car of your brand. Please delete my account and all "
              "personal information you hold about me, including my saved configurations.\n\n"
              "I live at 1842 Alder Street, Sacramento, CA 95814.\n\n"
              "Thank you,\nDana Whitfield\n"),
        _mail(2, "José Martínez <jose.martinez@example.com>", "Solicitud de acceso a mis datos",
              "Buenos días:\n\nQuiero saber qué datos personales tienen sobre mí y con quién "
              "los han compartido (concesionarios, socios).\n\nVivo en Los Ángeles, "
              "California 90012. Mi teléfono es (213) 555-0147.\n\nAtentamente,\n"
              "José Martínez\n"),
        _mail(3, "Karen Osei <karen.osei@example.com>", "My daughter signed up on your site",
              "Hi,\n\nMy daughter is 11 years old and she created an account on your website "
              "to build a dream car. I did not give permission. Please delete everything "
              "you have about her.\n\nKaren Osei\n"),
        _mail(4, "Privacy Agents LLC <requests@agents.example.net>",
              "Authorized agent request on behalf of Tomás Reyes",
              "To whom it may concern,\n\nWe are the authorized agent of Tomás Reyes, a "
              "Colorado resident (ZIP 80202), and submit on his behalf a request to opt out "
              "of the sale and sharing of his personal data. His signed permission is "
              "attached.\n\nPrivacy Agents LLC\n",
              attachment=("signed-permission.pdf", "application/pdf",
                          b"%PDF-1.4\n% demo attachment: not a real signature\n")),
        _mail(5, "Greg Lindqvist <greg.lindqvist@example.com>", "Warranty on my hybrid battery",
              "Hello,\n\nThe battery warning light came on at 41,000 miles. Is the hybrid "
              "battery still covered by the warranty, and which dealer should I visit?\n\n"
              "Greg Lindqvist\n"),
        _mail(6, "Dana Whitfield <dana.whitfield@example.com>",
              "Re: Delete my account and data",
              "One more thing: please also remove me from all marketing emails.\n\nDana\n",
              headers={"In-Reply-To": "<demo-1@mail.example.net>",
                       "References": "<demo-1@mail.example.net>"}),
        _mail(7, "Sam Patel <sam.patel@example.com>", "Out of office: your newsletter",
              "I am out of the office until March 9 with no access to email.\n",
              headers={"Auto-Submitted": "auto-replied"}),
        _mail(8, "Lucia Romano <lucia.romano@example.com>", "Stop selling my information",
              "Please do not sell or share my personal information. I am a Texas "
              "resident.\n\nLucia Romano\n",
              html="<html><body><p>Please do not sell or share my personal information. "
                   "I am a Texas resident.</p><p>Lucia Romano</p>"
                   '<img src="https://tracker.example.net/open.gif?id=8" width="1">'
                   '<img src="https://cdn.example.net/logo.png"></body></html>'),
    ]
    bounce = (
        "Received: from mx.example.net by mail.example.org; "
        f"{format_datetime(START + timedelta(minutes=17 * 9))}\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        f"To: {DESK}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <demo-9@mx.example.net>\n"
        f"Date: {format_datetime(START + timedelta(minutes=17 * 9))}\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R9"\n\n'
        "--R9\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "--R9\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; old.address@example.com\nAction: failed\nStatus: 5.1.1\n"
        "--R9\nContent-Type: text/rfc822-headers\n\n"
        f"From: {DESK}\nTo: old.address@example.com\nSubject: Your newsletter\n"
        "Message-ID: <newsletter-2026-03@example.org>\n"
        "--R9--\n"
    ).encode()
    broken = (
        "Received: from mx.example.net by mail.example.org; "
        f"{format_datetime(START + timedelta(minutes=17 * 10))}\n"
        "From: unknown@example.net\nSubject: Invoice\n"
        + "X-Filler: " + "A" * 70_000 + "\n\nThis header is far too long to be read safely.\n"
    ).encode()
    return [*items, bounce, broken]


def mbox_bytes() -> bytes:
    out = []
    for raw in messages():
        lines = raw.split(b"\n")
        quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line
                  for line in lines]
        out.append(b"From demo@example.net Mon Mar  2 13:00:00 2026\n"
                   + b"\n".join(quoted).rstrip(b"\n") + b"\n\n")
    return b"".join(out)


def sample_mailbox() -> Path:
    return resources_dir() / "demo" / "sample-mailbox.mbox"


if __name__ == "__main__":
    sample_mailbox().parent.mkdir(parents=True, exist_ok=True)
    sample_mailbox().write_bytes(mbox_bytes())
    print(sample_mailbox())
