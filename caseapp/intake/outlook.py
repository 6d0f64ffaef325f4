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
        msg: Any = extract_msg.openMsg(data, delayAttachments=False)
    except Exception as exc:
        raise ValueError(f"not a readable Outlook message ({type(exc).__name__})") from exc
    try:
        if not hasattr(msg, "asEmailMessage"):
            raise ValueError(f"an Outlook {type(msg).__name__}, not an email message")
        message = msg.asEmailMessage()
        result: bytes = message.as_bytes(policy=email.policy.SMTP.clone(linesep="\n"))
        return result
    finally:
        msg.close()
