"""The reports as PDF (ReportLab Platypus), set in the letters' bundled DejaVu Sans.

Each starts with the organization, the title, the period and the day it was made; its
tables repeat their header row on every page; every page's footer names the report and
says "Page x of y". The metrics are on portrait pages, the request log on landscape.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from caseapp.letters.layout import registered_fonts
from caseapp.pdf_pages import counting_canvas
from caseapp.reports.csv_files import days_text, mean_text
from caseapp.reports.model import (
    DENIAL_REASON_LABELS,
    DENIAL_REASONS,
    MetricsReport,
    MetricsRow,
    RequestLog,
    metrics_notes,
)
from caseapp.resources import resources_dir
from caseapp.workflow.jurisdictions import DEFAULT_CODE

MARGIN = 40
PADDING = 4
INK = colors.HexColor("#1f3a5f")
GREY = colors.HexColor("#5a6470")
HEADER_FILL = colors.HexColor("#e8edf3")
GRID = colors.HexColor("#9aa5b1")
BAND_FILL = colors.HexColor("#f4f6f8")


class _Styles:
    def __init__(self) -> None:
        regular, bold = registered_fonts(resources_dir())
        self.bold = bold

        def style(name: str, size: float, **more: Any) -> ParagraphStyle:
            return ParagraphStyle(name, **{"fontName": regular, "fontSize": size,
                                           "leading": size * 1.25, **more})

        self.org = style("org", 10, fontName=bold, textColor=INK)
        self.title = style("title", 15, fontName=bold, spaceBefore=4, spaceAfter=4)
        self.meta = style("meta", 9, textColor=GREY)
        self.heading = style("heading", 11, fontName=bold, spaceBefore=12, spaceAfter=5,
                             keepWithNext=1)
        self.cell = style("cell", 8)
        self.number = style("number", 8, alignment=TA_RIGHT)
        self.head = style("head", 7.5, fontName=bold)
        self.head_number = style("head_number", 7.5, fontName=bold, alignment=TA_RIGHT)
        self.note = style("note", 8, spaceAfter=3, textColor=GREY)
        self.footer_size = 7.5
        self.regular = regular


def _numbered(label: str, styles: _Styles) -> Any:
    """A canvas that writes the footer, with "Page x of y" once y is known."""

    def mark(canvas: Canvas, number: int, total: int) -> None:
        width = canvas._pagesize[0]
        canvas.setFont(styles.regular, styles.footer_size)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, MARGIN / 2, label)
        canvas.drawRightString(width - MARGIN, MARGIN / 2, f"Page {number} of {total}")

    return counting_canvas(mark)


def _build(flow: list[Any], *, title: str, footer: str, organization: str,
           pagesize: tuple[float, float], styles: _Styles) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=title, author=organization, creator="caseapp")
    document.build(flow, canvasmaker=_numbered(footer, styles))
    return out.getvalue()


def _heading(styles: _Styles, organization: str, title: str, lines: Sequence[str]
             ) -> list[Any]:
    flow: list[Any] = [Paragraph(escape(organization), styles.org),
                       Paragraph(escape(title), styles.title)]
    flow += [Paragraph(escape(line), styles.meta) for line in lines]
    return flow


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
           numeric: Sequence[bool], styles: _Styles, bands: Sequence[int] = ()) -> LongTable:
    """A table whose header row repeats on every page; ``bands``: rows that are a label
    across the table."""
    data = [[Paragraph(escape(text), styles.head_number if num else styles.head)
             for text, num in zip(header, numeric, strict=True)]]
    for index, row in enumerate(rows, start=1):
        if index in bands:
            data.append([Paragraph(f"<i>{escape(row[0])}</i>", styles.cell),
                         *("" for _ in row[1:])])
            continue
        data.append([Paragraph(escape(text), styles.number if num else styles.cell)
                     for text, num in zip(row, numeric, strict=True)])
    table = LongTable(data, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    commands: list[Any] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
    ]
    for index in bands:
        commands += [("SPAN", (0, index), (-1, index)),
                     ("BACKGROUND", (0, index), (-1, index), BAND_FILL)]
    table.setStyle(TableStyle(commands))
    return table


def _fitting(header: str, styles: _Styles) -> float:
    """A column as narrow as its header's longest word (never split), at least 40 pt."""
    longest = max(float(stringWidth(word, styles.bold, styles.head.fontSize))
                  for word in header.split())
    return max(40.0, longest + 2 * PADDING + 1)


def _generated(day: date) -> str:
    return f"Generated on {day.isoformat()} by caseapp."


# --- metrics --------------------------------------------------------------------------

METRICS_HEADER = ("Request type", "Received", "Complied in whole", "Complied in part",
                  "Complied in whole or in part", "Denied", "Withdrawn", "Open",
                  "Median days to respond", "Mean days to respond")
DENIALS_HEADER = ("Request type", *(DENIAL_REASON_LABELS[r] for r in DENIAL_REASONS),
                  "Denied (all)")
OTHER_BAND = "Also received (privacy requests outside the §7102 categories)"


def _split(rows: Sequence[MetricsRow]) -> tuple[list[MetricsRow], list[MetricsRow]]:
    return [r for r in rows if r.ccpa], [r for r in rows if not r.ccpa]


def _with_band(ccpa: list[list[str]], other: list[list[str]], width: int
               ) -> tuple[list[list[str]], tuple[int, ...]]:
    if not other:
        return ccpa, ()
    band = [OTHER_BAND, *("" for _ in range(width - 1))]
    return [*ccpa, band, *other], (len(ccpa) + 1,)


def metrics_pdf(report: MetricsReport, organization: str) -> bytes:
    styles = _Styles()
    title = f"CCPA §7102 metrics for {report.year}"
    flow = _heading(styles, organization, title, [
        f"Requests received from {report.period_start.isoformat()} to "
        f"{report.period_end.isoformat()}, counted by the date they were received."
        + (" The year is not over: figures to date." if report.generated_on
           < report.period_end else ""),
        _generated(report.generated_on)])
    ccpa, other = _split(report.rows)

    def counts(row: MetricsRow) -> list[str]:
        return [row.label, str(row.received), str(row.complied_whole),
                str(row.complied_part), str(row.complied), str(row.denied),
                str(row.withdrawn), str(row.open), days_text(row.median_days) or "–",
                mean_text(row.mean_days) or "–"]

    rows, bands = _with_band([counts(r) for r in ccpa], [counts(r) for r in other],
                             len(METRICS_HEADER))
    usable = LETTER[0] - 2 * MARGIN
    numbers = [_fitting(text, styles) for text in METRICS_HEADER[1:]]
    first = usable - sum(numbers)
    flow += [Paragraph("Requests by type", styles.heading),
             _table(METRICS_HEADER, rows, [first, *numbers], [False, *([True] * 9)], styles,
                    bands)]

    def denials(row: MetricsRow) -> list[str]:
        return [row.label, *(str(row.denied_for(r)) for r in DENIAL_REASONS),
                str(row.denied)]

    rows, bands = _with_band([denials(r) for r in ccpa], [denials(r) for r in other],
                             len(DENIALS_HEADER))
    flow += [Paragraph("Denials by basis", styles.heading),
             _table(DENIALS_HEADER, rows, [first, *([(usable - first) / 5] * 5)],
                    [False, *([True] * 5)], styles, bands)]
    flow += [Paragraph("How the requests are counted", styles.heading)]
    flow += [Paragraph(escape(note), styles.note) for note in metrics_notes(report)]
    return _build(flow, title=title, footer=f"{organization} · {title}",
                  organization=organization, pagesize=LETTER, styles=styles)


# --- request log ----------------------------------------------------------------------

LOG_HEADER = ("Reference", "Date of request", "Nature of request", "Manner",
              "Jurisdiction", "Date of response", "Nature of response", "Basis for denial")
LOG_WIDTHS = (76, 58, 118, 50, 58, 58, 126, 168)


def _jurisdiction(code: str) -> str:
    """The case's jurisdiction code; the general rules (no state's law known): "other"."""
    return "other" if code in ("", DEFAULT_CODE) else code


def log_pdf(report: RequestLog, organization: str) -> bytes:
    styles = _Styles()
    title = "CCPA §7101 request log"
    period = f"{report.period_start.isoformat()} to {report.period_end.isoformat()}"
    flow = _heading(styles, organization, title, [
        f"Privacy requests received from {period}: {len(report.rows)} request(s); "
        f"{report.non_privacy_left_out} case(s) that are not privacy requests left out.",
        _generated(report.generated_on)])
    rows = [[row.ref, row.received_on.isoformat(), row.nature, row.manner,
             _jurisdiction(row.jurisdiction),
             row.response_on.isoformat() if row.response_on else "", row.response,
             row.denial_basis] for row in report.rows]
    flow.append(Spacer(1, 8))
    pagesize = landscape(LETTER)
    usable = pagesize[0] - 2 * MARGIN
    scale = usable / sum(LOG_WIDTHS)
    flow.append(_table(LOG_HEADER, rows, [w * scale for w in LOG_WIDTHS],
                       [False] * len(LOG_HEADER), styles))
    return _build(flow, title=title, footer=f"{organization} · {title}, {period}",
                  organization=organization, pagesize=pagesize, styles=styles)
