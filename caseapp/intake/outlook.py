"""Outlook .msg files, turned into ordinary MIME bytes (runs inside a parser worker).

extract-msg reads the compound file and builds an EmailMessage; from there a .msg
takes the same path as any other mail, so threading, dedupe and the safe viewer do not
need to know where it came from.
"""

from __future__ import annotations

import email.policy
import logging
from typing import Any


def msg_to_mime(data: bytes) -> bytes:
    """The message in *data* as RFC 822 bytes; raises ValueError when it is not one."""
    import extract_msg

    # extract-msg logs every oddity of a file at WARNING; staff see the result instead.
    logging.getLogger("extract_msg").setLevel(logging.CRITICAL)
    try:
        # "," not the default ";": the email package reads only the first address of a
        # ";"-joined To header, and recipients would be lost.
        msg: Any = extract_msg.openMsg(data, delayAttachments=False, recipientSeparator=",")
    except Exception as exc:
        raise ValueError(f"not a readable Outlook message ({type(exc).__name__})") from exc
    try:
        if not hasattr(msg, "asEmailMessage"):
            raise ValueError(f"an Outlook {type(msg).__name__}, not an email message")
        message = msg.asEmailMessage()
        # The MAPI subject is the true one: asEmailMessage drops it without transport
        # headers and garbles long encoded ones.
        subject = getattr(msg, "subject", None)
        if isinstance(subject, str) and subject:
            del message["Subject"]
            message["Subject"] = subject
        # Without transport headers the reply headers are left out; threading needs them.
        for header, attribute in (("In-Reply-To", "inReplyTo"), ("Message-ID", "messageId")):
            value = getattr(msg, attribute, None)
            if isinstance(value, str) and value.strip() and message[header] is None:
                message[header] = value.strip()
        result: bytes = message.as_bytes(policy=email.policy.SMTP.clone(linesep="\n"))
        return result
    finally:
        msg.close()
