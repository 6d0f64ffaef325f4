"""The block language of a rendered letter body (see templates.py), read into blocks.

Values in the text are already plain (character references for anything that could be
markup), so ``**`` is the only inline mark left: it becomes bold in ReportLab markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Bullets | Table


def inline(text: str) -> str:
    """ReportLab paragraph markup of one line of the block language."""
    return _BOLD.sub(r"<b>\1</b>", text.strip())


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return tuple(inline(cell) for cell in inner.split("|"))


def read_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []
    bullets: list[str] = []
    table: list[tuple[str, ...]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Paragraph(inline(" ".join(paragraph))))
            paragraph.clear()
        if bullets:
            blocks.append(Bullets(tuple(bullets)))
            bullets.clear()
        if table:
            width = max(len(row) for row in table)
            rows = [row + ("",) * (width - len(row)) for row in table]
            blocks.append(Table(rows[0], tuple(rows[1:])))
            table.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("# "):
            flush()
            blocks.append(Heading(inline(line[2:])))
        elif line.startswith("- "):
            if paragraph or table:
                flush()
            bullets.append(inline(line[2:]))
        elif line.startswith("|"):
            if paragraph or bullets:
                flush()
            table.append(_cells(line))
        else:
            if bullets or table:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def plain_text(blocks: list[Block]) -> str:
    """The blocks as text (for the email body and the content fingerprint)."""
    import html

    def text(markup: str) -> str:
        return html.unescape(re.sub(r"</?b>", "", markup))

    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += [text(block.text).upper(), ""]
        elif isinstance(block, Paragraph):
            lines += [text(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"  - {text(item)}" for item in block.items] + [""]
        else:
            for row in (block.header, *block.rows):
                lines.append("  " + " | ".join(text(cell) for cell in row))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
