"""A letter on paper: ReportLab Platypus, US Letter, styles from resources/letters.

First page: the letterhead, the recipient's address where a #10 window envelope shows
it, the date and references beside it, then the title and body. Every page: the case
reference, the letter's serial and "Page x of y" in the footer. Text is set in the
bundled DejaVu Sans, so every name prints (and extracts) as written.
"""

from __future__ import annotations

import html
import io
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable

from caseapp.errors import ConfigError
from caseapp.letters.blocks import Block, Bullets, Heading, Table, read_blocks
from caseapp.letters.blocks import Paragraph as TextParagraph
from caseapp.pdf_pages import counting_canvas

REGULAR, BOLD = "CaseappSans", "CaseappSans-Bold"


@dataclass(frozen=True)
class Organization:
    name: str
    department: str
    address: tuple[str, ...]
    email: str
    phone: str
    website: str
    attorneys_general: tuple[tuple[str, str], ...]
    """Jurisdiction code → where a requester may complain about our answer."""
    logo: bytes | None = None
    """A PNG or JPEG printed at the letterhead's left (None: the name alone)."""


@dataclass(frozen=True)
class Page:
    """What the layout puts around the body."""

    organization: Organization
    recipient: tuple[str, ...]
    """The address block's lines (name first); empty for a letter that goes by email."""
    date_line: str
    references: tuple[tuple[str, str], ...]
    """Label → value beside the address (Case, Date received, ...)."""
    title: str
    footer: str
    """Left part of every page's footer (case reference and serial)."""
    page_label: str
    """"Page {page} of {pages}" in the letter's language."""
    signature: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]
    """PDF metadata: title, subject, author, keywords."""
    watermark: str = ""
    """Printed large and faint across every page ("DRAFT" on a draft)."""


def parse_organization(text: str, source: str, language: str = "en",
                       logo: bytes | None = None) -> Organization:
    """The profile, with its table for ``language`` (``[es]``: the name, department or
    address as letters in that language print them) laid over it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: the organization profile cannot be read ({error})"
                          ) from None
    translated = data.get(language, {})
    if isinstance(translated, dict):
        data |= {key: value for key, value in translated.items()
                 if key in ("name", "department", "address")}
    address = data.get("address", [])
    if not isinstance(data.get("name"), str) or not isinstance(address, list):
        raise ConfigError(f"{source}: 'name' (text) and 'address' (a list of lines) are "
                          "needed")
    return Organization(
        name=data["name"], department=str(data.get("department", "")),
        address=tuple(str(line) for line in address), email=str(data.get("email", "")),
        phone=str(data.get("phone", "")), website=str(data.get("website", "")),
        attorneys_general=tuple((str(code), str(text)) for code, text
                                in dict(data.get("attorneys_general", {})).items()),
        logo=logo)


def check_logo(data: bytes) -> tuple[int, int]:
    """The picture's size in pixels; ConfigError when it is not a usable PNG or JPEG, so
    a wrong one is said when it is set, never found half-way through a batch."""
    try:
        width, height = ImageReader(io.BytesIO(data)).getSize()
    except Exception:  # ReportLab/PIL raise many kinds for a bad picture
        raise ConfigError("The logo cannot be used: it is not a picture caseapp can read. "
                          "Give a PNG or JPEG file.") from None
    if width <= 0 or height <= 0:
        raise ConfigError("The logo is an empty picture.")
    return int(width), int(height)


@cache
def _styles(folder: Path) -> dict[str, Any]:
    path = folder / "letters" / "styles.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: the letter styles cannot be read ({error})") from None
    fonts = data.get("fonts", {})
    for name, file in ((REGULAR, fonts.get("regular")), (BOLD, fonts.get("bold"))):
        try:
            pdfmetrics.registerFont(TTFont(name, str(folder / "fonts" / str(file))))
        except Exception as error:  # ReportLab raises TTFError and plain errors alike
            raise ConfigError(f"{path}: the font {file} cannot be used ({error})") from None
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR,
                                  boldItalic=BOLD)
    return data


def registered_fonts(resources: Path) -> tuple[str, str]:
    """The bundled fonts (regular, bold) as registered with ReportLab, for other
    documents (the reports) to print with the letters' font."""
    _styles(resources)
    return REGULAR, BOLD


def _style(name: str, size: float, leading: float, **more: Any) -> ParagraphStyle:
    return ParagraphStyle(name, **{"fontName": REGULAR, "fontSize": size, "leading": leading,
                                   "splitLongWords": True, **more})


def _lines(texts: Sequence[str]) -> str:
    return "<br/>".join(escape(t) for t in texts if t)


def render_pdf(page: Page, body: str, resources: Path, *, invariant: bool = False) -> bytes:
    """The letter as PDF bytes. ``invariant`` makes the bytes depend on the content only
    (no creation time or random id): for golden tests and for a stable document hash."""
    style = _styles(resources)
    margins, head = style["page"], style["letterhead"]
    address, text, footer = style["address"], style["body"], style["footer"]
    width, height = LETTER
    out = io.BytesIO()
    meta = dict(page.metadata)
    document = BaseDocTemplate(
        out, pagesize=LETTER, leftMargin=margins["margin_left"],
        rightMargin=margins["margin_right"], topMargin=margins["margin_top"],
        bottomMargin=margins["margin_bottom"], title=meta.get("title", ""),
        subject=meta.get("subject", ""), author=meta.get("author", ""),
        keywords=meta.get("keywords", ""), creator="caseapp", invariant=int(invariant))
    usable = width - margins["margin_left"] - margins["margin_right"]

    def frame(name: str) -> Frame:
        # No padding: the body's left edge is the letterhead's and the address's.
        return Frame(margins["margin_left"], margins["margin_bottom"], usable,
                     height - margins["margin_top"] - margins["margin_bottom"], id=name,
                     leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

    def first_page(canvas: Canvas, _doc: Any) -> None:
        _watermark(canvas, page, width, height)
        _letterhead(canvas, page, head, margins, width, height)
        _address(canvas, page, address, style, margins, width, height)
        _footer(canvas, page, footer, margins, width)

    def later_page(canvas: Canvas, _doc: Any) -> None:
        _watermark(canvas, page, width, height)
        _footer(canvas, page, footer, margins, width)

    document.addPageTemplates([
        PageTemplate("first", [frame("first")], onPage=first_page, autoNextPageTemplate="later"),
        PageTemplate("later", [frame("later")], onPage=later_page)])
    # The first page's top part is drawn on the canvas; the flowables start below it.
    first_top = address["top"] + address["max_lines"] * address["leading"] + 18
    flow: list[Any] = [Spacer(1, first_top - margins["margin_top"])]
    flow.append(Paragraph(f"<b>{escape(page.title)}</b>", _style(
        "title", text["heading_size"] + 1.5, text["heading_size"] + 5,
        spaceAfter=text["space_after"] + 2, keepWithNext=1)))
    flow += _body(read_blocks(body), text, usable)
    signature = _style("signature", text["size"], text["leading"])
    closing, *signer = [line for line in page.signature if line]
    # The signature never stands alone on a page: the last paragraph goes with it.
    last = [flow.pop()] if len(flow) > 2 and isinstance(flow[-1], Paragraph) else []
    flow.append(KeepTogether([
        *last, Spacer(1, 10), Paragraph(escape(closing), signature),
        Spacer(1, text["signature_space"]), Paragraph(_lines(signer), signature)]))
    document.build(flow, canvasmaker=_numbered(page.page_label, footer, margins, width))
    return out.getvalue()


def _body(blocks: list[Block], text: dict[str, Any], usable: float) -> list[Any]:
    para = _style("body", text["size"], text["leading"], spaceAfter=text["space_after"])
    heading = _style("heading", text["heading_size"], text["heading_size"] + 4,
                     spaceBefore=text["heading_space_before"],
                     spaceAfter=text["heading_space_after"], fontName=BOLD)
    cell = _style("cell", text["table_size"], text["table_leading"])
    item_style = _style("item", text["size"], text["leading"], spaceAfter=2)
    lead_in = _style("lead_in", text["size"], text["leading"], spaceAfter=text["space_after"],
                     keepWithNext=1)
    heading.keepWithNext = 1
    flow: list[Any] = []
    for number, block in enumerate(blocks):
        following = blocks[number + 1] if number + 1 < len(blocks) else None
        if isinstance(block, Heading):
            flow.append(Paragraph(block.text, heading))
        elif isinstance(block, TextParagraph):
            # A sentence ending in ":" introduces what follows: never left alone at a
            # page's foot.
            ends_in_colon = block.text.rstrip().endswith(":")
            flow.append(Paragraph(block.text, lead_in if ends_in_colon and isinstance(
                following, (Table, Bullets)) else para))
        elif isinstance(block, Bullets):
            flow.append(ListFlowable(
                [ListItem(Paragraph(item, item_style), leftIndent=text["bullet_indent"])
                 for item in block.items], bulletType="bullet", start="•",
                leftIndent=text["bullet_indent"], bulletFontName=REGULAR,
                bulletFontSize=text["size"], spaceAfter=text["space_after"]))
        else:
            flow.append(_table(block, cell, text, usable))
            flow.append(Spacer(1, text["space_after"]))
    return flow


def _table(block: Table, cell: ParagraphStyle, text: dict[str, Any], usable: float
           ) -> PdfTable:
    header = [Paragraph(f"<b>{c}</b>", cell) for c in block.header]
    rows = [[Paragraph(c, cell) for c in row] for row in block.rows]
    widths = _column_widths(block, usable, text["table_size"])
    table = PdfTable([header, *rows], colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(text["table_header_background"])),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor(text["table_grid"])),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _printed(markup: str) -> str:
    """A cell's text as printed (its bold marks and character references undone)."""
    return html.unescape(re.sub(r"</?b>", "", markup))


def _column_widths(block: Table, usable: float, size: float) -> list[float]:
    """Column widths as a browser sets an automatic table: every column as wide as its
    longest cell when they all fit; otherwise each keeps at least its longest word (the
    header in bold) and the room left goes to the columns with the most text to wrap."""
    padding = 2 * 6 + 2
    narrowest, widest = [], []
    for column in range(len(block.header)):
        cells = [(BOLD, _printed(block.header[column])),
                 *((REGULAR, _printed(row[column])) for row in block.rows)]
        narrowest.append(max((pdfmetrics.stringWidth(word, font, size)
                              for font, cell in cells for word in cell.split()), default=0)
                         + padding)
        widest.append(max(pdfmetrics.stringWidth(cell, font, size) for font, cell in cells)
                      + padding)
    if sum(widest) <= usable:
        return [w * usable / sum(widest) for w in widest]
    if sum(narrowest) >= usable:  # words longer than the page: shrink all to fit
        return [w * usable / sum(narrowest) for w in narrowest]
    room = usable - sum(narrowest)
    wrap = [high - low for low, high in zip(narrowest, widest, strict=True)]
    return [low + room * extra / sum(wrap) for low, extra in zip(narrowest, wrap,
                                                                 strict=True)]


def _letterhead(canvas: Canvas, page: Page, head: dict[str, Any], margins: dict[str, Any],
                width: float, height: float) -> None:
    org = page.organization
    canvas.saveState()
    color = colors.HexColor(head["color"])
    top = height - margins["margin_top"]
    left = margins["margin_left"]
    if org.logo is not None:
        picture = ImageReader(io.BytesIO(org.logo))
        width_px, height_px = picture.getSize()
        logo_height = head["logo_height"]
        logo_width = min(logo_height * width_px / height_px, head["logo_max_width"])
        canvas.drawImage(picture, left, top - logo_height, width=logo_width,
                         height=logo_height, preserveAspectRatio=True, anchor="nw",
                         mask="auto")
        left += logo_width + head["logo_gap"]
    canvas.setFillColor(color)
    canvas.setFont(BOLD, head["name_size"])
    canvas.drawString(left, top - head["name_size"], org.name)
    canvas.setFont(REGULAR, head["line_size"])
    y = top - head["name_size"] - head["leading"]
    for line in (org.department, *org.address):
        if line:
            canvas.drawString(left, y, line)
            y -= head["leading"]
    right = width - margins["margin_right"]
    y = top - head["line_size"]
    for line in (org.email, org.phone, org.website):
        if line:
            canvas.drawRightString(right, y, line)
            y -= head["leading"]
    canvas.setStrokeColor(color)
    canvas.setLineWidth(0.6)
    rule = top - head["name_size"] - head["leading"] * 3.6
    canvas.line(margins["margin_left"], rule, right, rule)
    canvas.restoreState()


def _address(canvas: Canvas, page: Page, address: dict[str, Any], style: dict[str, Any],
             margins: dict[str, Any], width: float, height: float) -> None:
    # One line per address line, never wrapped: the window shows max_lines lines of its
    # width; a longer line is cut with "…" (the letter's greeting keeps the full name).
    canvas.saveState()
    canvas.setFont(REGULAR, address["size"])
    y = height - address["top"] - address["size"]
    for line in list(page.recipient)[: address["max_lines"]]:
        canvas.drawString(address["left"], y, _fit(line, address["width"], address["size"]))
        y -= address["leading"]
    canvas.restoreState()
    right = width - margins["margin_right"]
    rows = [page.date_line, *(f"<b>{escape(k)}:</b> {escape(v)}" for k, v in page.references)]
    info = Paragraph("<br/>".join(r if r.startswith("<b>") else escape(r) for r in rows),
                     _style("refs", style["body"]["size"] - 1, style["body"]["leading"] - 1.5,
                            alignment=TA_RIGHT))
    info_width = right - address["left"] - address["width"] - 12
    _w, h = info.wrap(info_width, 200)
    info.drawOn(canvas, right - info_width, height - address["top"] - h)


def _watermark(canvas: Canvas, page: Page, width: float, height: float) -> None:
    if not page.watermark:
        return
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.6, 0.6, 0.6, alpha=0.18))
    # As large as fits the page's diagonal with a margin, whatever the word's length.
    room = 0.6 * (width ** 2 + height ** 2) ** 0.5
    size = min(110.0, 110.0 * room / pdfmetrics.stringWidth(page.watermark, BOLD, 110))
    canvas.setFont(BOLD, size)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, -size / 3, page.watermark)
    canvas.restoreState()


def _fit(text: str, width: float, size: float) -> str:
    """The text cut to ``width`` points, ending in "…" when cut."""
    if pdfmetrics.stringWidth(text, REGULAR, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", REGULAR, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _footer(canvas: Canvas, page: Page, footer: dict[str, Any], margins: dict[str, Any],
            width: float) -> None:
    """The case reference and serial (the page number is drawn beside them once the
    page count is known); below them, smaller, the document's fingerprint."""
    canvas.saveState()
    canvas.setFillColor(colors.HexColor(footer["color"]))
    base = margins["margin_bottom"] / 2
    lines = page.footer.split("\n")
    canvas.setFont(REGULAR, footer["size"])
    canvas.drawString(margins["margin_left"], base + footer["size"] * 0.6, lines[0])
    if len(lines) > 1:
        canvas.setFont(REGULAR, footer["size"] - 1.5)
        canvas.drawString(margins["margin_left"], base - footer["size"] * 0.8, lines[1])
    canvas.restoreState()


def _numbered(label: str, footer: dict[str, Any], margins: dict[str, Any], width: float
              ) -> Any:
    """A canvas that writes "Page x of y" once it knows y."""

    def mark(canvas: Canvas, number: int, total: int) -> None:
        canvas.setFont(REGULAR, footer["size"])
        canvas.setFillColor(colors.HexColor(footer["color"]))
        canvas.drawRightString(width - margins["margin_right"],
                               margins["margin_bottom"] / 2 + footer["size"] * 0.6,
                               label.format(page=number, pages=total))

    return counting_canvas(mark)
