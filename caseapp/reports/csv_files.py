"""The reports as CSV: a header row, one row per request type (or request), ISO dates,
UTF-8, numbers as plain numbers (days: median as counted, mean to one decimal)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from caseapp.reports.model import LogRow, MetricsReport, MetricsRow, RequestLog

METRICS_HEADER = (
    "year", "request_type", "label", "ccpa_7102_category", "received",
    "complied_in_whole_or_part", "complied_in_whole", "complied_in_part", "denied",
    "denied_not_verifiable", "denied_not_made_by_consumer", "denied_exempt",
    "denied_other", "withdrawn", "open", "duplicates_not_counted", "median_days",
    "mean_days",
)

LOG_HEADER = (
    "ref", "date_of_request", "nature_of_request", "request_types", "manner",
    "jurisdiction", "status", "date_of_response", "nature_of_response",
    "basis_for_denial",
)


def days_text(value: float | None) -> str:
    """12, 12.5 or "" (no response yet): the median as counted, never a false 12.0."""
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def mean_text(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def metrics_values(report: MetricsReport, row: MetricsRow) -> tuple[object, ...]:
    return (report.year, row.request_type, row.label, "yes" if row.ccpa else "no",
            row.received, row.complied, row.complied_whole, row.complied_part, row.denied,
            row.denied_not_verifiable, row.denied_not_by_consumer, row.denied_exempt,
            row.denied_other, row.withdrawn, row.open, row.duplicates,
            days_text(row.median_days), mean_text(row.mean_days))


def metrics_csv(report: MetricsReport) -> bytes:
    return _csv(METRICS_HEADER, [metrics_values(report, row) for row in report.rows])


def log_values(row: LogRow) -> tuple[object, ...]:
    return (row.ref, row.received_on.isoformat(), row.nature, " ".join(row.request_types),
            row.manner, row.jurisdiction, row.status,
            row.response_on.isoformat() if row.response_on else "", row.response,
            row.denial_basis)


def log_csv(report: RequestLog) -> bytes:
    return _csv(LOG_HEADER, [log_values(row) for row in report.rows])
