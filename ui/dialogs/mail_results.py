"""The summary line of a mailbox check ("10 new messages: 6 new cases, ..."); the rows
are shown by the import-results dialog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from caseapp.services.dto import INTAKE_OUTCOME_LABELS, IntakeResult

# (singular, plural) per outcome, in the order of INTAKE_OUTCOME_LABELS.
COUNT_LABELS = {
    "created": ("new case", "new cases"),
    "threaded": ("added to its case", "added to their cases"),
    "duplicate": ("already taken in", "already taken in"),
    "not_request": ("not a request", "not requests"),
    "quarantined": ("quarantined", "quarantined"),
    "failed": ("not read", "not read"),
}


def _counted(outcome: str, count: int) -> str:
    one, many = COUNT_LABELS.get(outcome, (outcome, outcome))
    return f"{count} {one if count == 1 else many}"


def results_summary(results: Sequence[IntakeResult], *, cancelled: bool = False) -> str:
    """'10 new messages: 6 new cases, 1 added to its case, 2 not requests, 1 quarantined'."""
    counts = Counter(result.outcome for result in results)
    parts = [_counted(outcome, counts[outcome]) for outcome in INTAKE_OUTCOME_LABELS
             if counts[outcome]]
    total = len(results)
    head = f"{total} new message{'s' if total != 1 else ''}"
    text = f"{head}: {', '.join(parts)}" if parts else "No new messages"
    return text + (" (stopped: the rest stays in the mailbox for the next check)"
                   if cancelled else "")
