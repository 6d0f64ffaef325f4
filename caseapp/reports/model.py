"""The reports' values and the counting rules behind them (plain values, no database).

Counting rules (CCPA regulations §7102, REGULATIONS.md):

- A request belongs to the year it was **received** (the desk's received date, the legal
  clock's start). Cases that are not privacy requests (``is_privacy_request`` false, or
  only the type ``other``) are left out.
- A case with several request types counts once under each of its types.
- Rows: the five §7102 categories (delete, correct, know/access, opt out of sale/sharing,
  limit sensitive), then the desk's other privacy requests, which §7102 does not ask for
  (opt out of marketing, appeals), marked as such.
- **Complied with in whole or in part**: the response went out (``response_sent``, or
  ``closed`` after it). **In part** is known for deletions only: a verified deletion
  that kept records under a legal exception (warranty, recall...), what the deletion
  confirmation prints as "in part". Other types record no partial answer and count as
  in whole.
- **Denied**: ``denied`` and ``closed_unverified``. The basis is split as §7102 allows:
  closed unverified is "not verifiable"; a denial's reason is free text, read
  conservatively: it says "not made by a consumer" / "not a consumer" / "business
  contact" → "not made by a consumer"; "verif..." or "identity" → "not verifiable";
  "exempt" → "exempt information"; anything else → "other".
- **Withdrawn** and **open** (every state still awaiting a response, on hold included)
  are in columns of their own, never complied or denied. **Duplicates** were merged
  into the case they duplicate (which counts the request): not counted as received,
  shown apart. So received = complied + denied + withdrawn + open, per type.
- **Days to respond**: calendar days from the received date to the desk's date of the
  response (when it was approved and sent; for a denial, the day it was denied or
  closed unverified). Median and mean over the complied and denied requests.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

Outcome = Literal["complied", "denied", "withdrawn", "duplicate", "open"]
DenialReason = Literal["not_verifiable", "not_by_consumer", "exempt", "other"]

CCPA_TYPES: Final = ("delete", "correct", "access", "opt_out_sale_share", "limit_sensitive")
"""The §7102 request types, in the order the report prints them."""
OTHER_PRIVACY_TYPES: Final = ("opt_out_marketing", "appeal")
"""Privacy requests the desk also takes, which §7102 does not ask to report."""
METRIC_TYPES: Final = (*CCPA_TYPES, *OTHER_PRIVACY_TYPES)

METRIC_LABELS: Final = {
    "delete": "Delete",
    "correct": "Correct",
    "access": "Know / access",
    "opt_out_sale_share": "Opt out of sale/sharing",
    "limit_sensitive": "Limit use of sensitive PI",
    "opt_out_marketing": "Opt out of marketing",
    "appeal": "Appeal",
}

COMPLIED_STATES: Final = ("response_sent", "closed")
DENIED_STATES: Final = ("denied", "closed_unverified")

DENIAL_REASONS: Final[tuple[DenialReason, ...]] = (
    "not_verifiable", "not_by_consumer", "exempt", "other")
DENIAL_REASON_LABELS: Final[dict[DenialReason, str]] = {
    "not_verifiable": "Not verifiable",
    "not_by_consumer": "Not made by a consumer",
    "exempt": "Exempt information",
    "other": "Other",
}

CHANNEL_LABELS: Final = {
    "email": "Email",
    "postal": "Post",
    "phone": "Phone",
    "web": "Web form",
    "in_person": "In person",
}

_NOT_BY_CONSUMER = ("not made by a consumer", "not a consumer", "not by a consumer",
                    "not from a consumer", "business contact")
_NOT_VERIFIABLE = ("verif", "identity")


def outcome_of(status: str) -> Outcome:
    if status in COMPLIED_STATES:
        return "complied"
    if status in DENIED_STATES:
        return "denied"
    if status in ("withdrawn", "duplicate"):
        return "withdrawn" if status == "withdrawn" else "duplicate"
    return "open"


def denial_reason(status: str, reason: str | None) -> DenialReason:
    """The §7102 basis of a denial, read from its status and reason text."""
    if status == "closed_unverified":
        return "not_verifiable"
    text = (reason or "").lower()
    if any(words in text for words in _NOT_BY_CONSUMER):
        return "not_by_consumer"
    if any(words in text for words in _NOT_VERIFIABLE):
        return "not_verifiable"
    if "exempt" in text:
        return "exempt"
    return "other"


@dataclass(frozen=True)
class Entry:
    """One request of one type, as the metrics count it."""

    outcome: Outcome
    days: int | None = None
    """Calendar days to the response (complied and denied only)."""
    reason: DenialReason | None = None
    in_part: bool = False


@dataclass(frozen=True)
class MetricsRow:
    request_type: str
    label: str
    ccpa: bool
    """One of the §7102 categories (else a privacy request the desk reports besides)."""
    received: int
    complied_whole: int
    complied_part: int
    denied_not_verifiable: int
    denied_not_by_consumer: int
    denied_exempt: int
    denied_other: int
    withdrawn: int
    open: int
    duplicates: int
    """Merged into the case they duplicate: not counted as received."""
    median_days: float | None
    mean_days: float | None

    @property
    def complied(self) -> int:
        """Complied with in whole or in part."""
        return self.complied_whole + self.complied_part

    @property
    def denied(self) -> int:
        return (self.denied_not_verifiable + self.denied_not_by_consumer + self.denied_exempt
                + self.denied_other)

    def denied_for(self, reason: DenialReason) -> int:
        return {"not_verifiable": self.denied_not_verifiable,
                "not_by_consumer": self.denied_not_by_consumer,
                "exempt": self.denied_exempt, "other": self.denied_other}[reason]


def tally(request_type: str, entries: Iterable[Entry]) -> MetricsRow:
    """The row of one request type from its requests."""
    counts: dict[str, int] = {}
    days: list[int] = []
    for entry in entries:
        key: str = entry.outcome
        if entry.outcome == "complied":
            key = "complied_part" if entry.in_part else "complied_whole"
        elif entry.outcome == "denied":
            key = f"denied_{entry.reason or 'other'}"
        counts[key] = counts.get(key, 0) + 1
        if entry.outcome in ("complied", "denied") and entry.days is not None:
            days.append(entry.days)
    count = counts.get
    received = sum(n for key, n in counts.items() if key != "duplicate")
    return MetricsRow(
        request_type=request_type, label=METRIC_LABELS.get(request_type, request_type),
        ccpa=request_type in CCPA_TYPES, received=received,
        complied_whole=count("complied_whole", 0), complied_part=count("complied_part", 0),
        denied_not_verifiable=count("denied_not_verifiable", 0),
        denied_not_by_consumer=count("denied_not_by_consumer", 0),
        denied_exempt=count("denied_exempt", 0), denied_other=count("denied_other", 0),
        withdrawn=count("withdrawn", 0), open=count("open", 0),
        duplicates=count("duplicate", 0),
        median_days=float(statistics.median(days)) if days else None,
        mean_days=statistics.fmean(days) if days else None)


@dataclass(frozen=True)
class MetricsReport:
    year: int
    period_start: date
    period_end: date
    generated_on: date
    rows: tuple[MetricsRow, ...]
    """One per request type of METRIC_TYPES, in that order (zero rows included)."""
    non_privacy_left_out: int
    """Cases received in the year that are not privacy requests."""

    def row(self, request_type: str) -> MetricsRow:
        return next(row for row in self.rows if row.request_type == request_type)


@dataclass(frozen=True)
class LogRow:
    """One request as §7101 keeps it."""

    ref: str
    received_on: date
    """Date of the request."""
    request_types: tuple[str, ...]
    """Nature of the request."""
    channel: str
    """Manner in which it was made."""
    jurisdiction: str
    status: str
    status_label: str
    response_on: date | None
    """Date of the response (None while none went out, or withdrawn / duplicate)."""
    response: str
    """Nature of the response."""
    denial_basis: str
    """For a denial: the §7102 category and the reason as recorded."""

    @property
    def nature(self) -> str:
        return ", ".join(METRIC_LABELS.get(t, t) for t in self.request_types)

    @property
    def manner(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)


@dataclass(frozen=True)
class RequestLog:
    period_start: date
    period_end: date
    generated_on: date
    rows: tuple[LogRow, ...]
    non_privacy_left_out: int


def response_text(status: str, status_label: str, in_part: bool, duplicate_of: str | None
                  ) -> str:
    """The nature of the response, as the log prints it."""
    outcome = outcome_of(status)
    if outcome == "complied":
        return "Complied in part (records kept under an exception)" if in_part else (
            "Complied")
    if status == "closed_unverified":
        return "Denied: identity not verified"
    if outcome == "denied":
        return "Denied"
    if outcome == "withdrawn":
        return "Withdrawn by the requester"
    if outcome == "duplicate":
        return f"Duplicate of {duplicate_of}" if duplicate_of else "Duplicate"
    return f"Pending ({status_label.lower()})"


def denial_basis_text(status: str, reason: str | None) -> str:
    if outcome_of(status) != "denied":
        return ""
    label = DENIAL_REASON_LABELS[denial_reason(status, reason)]
    text = (reason or "").strip()
    return f"{label}: {text}" if text else label


def metrics_notes(report: MetricsReport) -> list[str]:
    """How the metrics are counted, in words for the reader (the PDF, the window)."""
    duplicates = sum(row.duplicates for row in report.rows)
    return [
        "A request counts in the year it was received; a request of several types counts "
        "once under each type.",
        "Complied in whole or in part: the response was sent. In part is recorded for "
        "deletions only (records kept under a legal exception, as the deletion "
        "confirmation says); other types count as complied in whole.",
        "Denied: denied with a stated basis, or closed because the requester's identity "
        "could not be verified (not verifiable). The basis of other denials is read from "
        "the reason recorded; one that names no §7102 basis counts as other.",
        "Days to respond: calendar days from the date received to the date the response "
        "(or denial) went out, over the requests complied with or denied.",
        "Withdrawn and open requests are neither complied with nor denied. Received = "
        "complied + denied + withdrawn + open.",
        f"Left out: {report.non_privacy_left_out} case(s) received in {report.year} that "
        f"are not privacy requests; {duplicates} duplicate request(s) merged into the "
        "request they repeat (counted there).",
    ]
