"""A cheap structural scan of raw mail, run before any real parsing.

It mirrors how the stdlib ``email`` feed parser splits a message into header blocks and
MIME parts, but only measures: message size, the size of every header block and header
field, the number of parts and the nesting depth. Anything over :class:`MailLimits` is
refused here, in linear time and without building the message, so that header bombs
(CPython needs tens of seconds and gigabytes for ~1 MB of crafted headers) and deeply
nested multiparts (RecursionError at ~1,000 levels) never reach the parser.
"""

from __future__ import annotations

import re

from caseapp.intake.mailtypes import KiB, MailLimits, MailRejected

# The feed parser's own test for "this line still belongs to the header block".
_HEADER_LINE = re.compile(rb"^(From |[\041-\071\073-\176]*:|[\t ])")
_FIELD_NAME = re.compile(rb"^([\041-\071\073-\176]*):")
_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))""", re.IGNORECASE)


def _size(n: int) -> str:
    if n >= 1024 * KiB:
        return f"{n / (1024 * KiB):.1f} MB"
    if n >= KiB:
        return f"{n / KiB:.0f} KB"
    return f"{n} bytes"


class _Block:
    """The header block being read: its size, the current field, and Content-Type."""

    __slots__ = ("content_type", "field_name", "field_size", "size")

    def __init__(self) -> None:
        self.size = 0
        self.field_name = b""
        self.field_size = 0
        self.content_type = b""


def prescan(raw: bytes, limits: MailLimits) -> None:
    """Raise :class:`MailRejected` if *raw* is over any limit; return quietly otherwise."""
    if not raw:
        raise MailRejected("the message is empty")
    if len(raw) > limits.max_bytes:
        raise MailRejected(
            f"the message is {_size(len(raw))}, over the limit of {_size(limits.max_bytes)}"
        )
    # Frames of the MIME tree: a multipart's boundary, or None for an attached message.
    stack: list[bytes | None] = []
    boundaries: set[bytes] = set()
    parts = 1
    in_headers = True
    block = _Block()
    where = "the message"

    def check_field() -> None:
        if block.field_size > limits.max_header_line_bytes:
            name = block.field_name.decode("ascii", "replace")[:60] or "?"
            raise MailRejected(
                f"the {name} header of {where} is {_size(block.field_size)} long "
                f"(limit {_size(limits.max_header_line_bytes)})"
            )

    def end_block() -> None:
        """The header block is complete: does it open a multipart or a message?"""
        nonlocal in_headers
        in_headers = False
        value = block.content_type.strip().lower()
        if value.startswith(b"multipart/"):
            found = _BOUNDARY.search(block.content_type)
            if found is not None:
                boundary = found.group(1) if found.group(1) is not None else found.group(2)
                push(boundary.rstrip())
        elif value.startswith((b"message/rfc822", b"message/global")):
            push(None)
            in_headers = True

    def push(frame: bytes | None) -> None:
        stack.append(frame)
        if frame is not None:
            boundaries.add(frame)
        if len(stack) > limits.max_depth:
            raise MailRejected(f"the message nests parts more than {limits.max_depth} levels deep")

    def pop_to(boundary: bytes) -> None:
        while stack and stack[-1] != boundary:
            stack.pop()
        boundaries.clear()
        boundaries.update(frame for frame in stack if frame is not None)

    for line in raw.splitlines():
        if in_headers:
            if not line:
                end_block()
                continue
            if _HEADER_LINE.match(line):
                block.size += len(line) + 2
                if line[:1] in (b" ", b"\t"):  # a continuation of the current field
                    block.field_size += len(line) + 2
                    if block.field_name.lower() == b"content-type":
                        block.content_type += line
                else:
                    name = _FIELD_NAME.match(line)
                    block.field_name = name.group(1) if name is not None else b"From "
                    block.field_size = len(line) + 2
                    if block.field_name.lower() == b"content-type":
                        block.content_type = line[len(block.field_name) + 1 :]
                check_field()
                if block.size > limits.max_header_bytes:
                    raise MailRejected(
                        f"the header section of {where} is over {_size(limits.max_header_bytes)}"
                    )
                continue
            # Not a header line: the feed parser ends the header block here, and so do we.
            end_block()
        if not boundaries or not line.startswith(b"--"):
            continue
        token = line[2:].rstrip(b" \t")
        closing = False
        if token not in boundaries:
            if not (token.endswith(b"--") and token[:-2] in boundaries):
                continue
            token, closing = token[:-2], True
        boundary = token
        pop_to(boundary)
        if closing:  # the closing delimiter: this multipart is over
            stack.pop()
            boundaries.discard(boundary)
            continue
        parts += 1
        if parts > limits.max_parts:
            raise MailRejected(f"the message has more than {limits.max_parts} MIME parts")
        in_headers = True
        block = _Block()
        where = f"part {parts}"
