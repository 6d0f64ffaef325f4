"""The deadline engine: from the received date and the rules to the dates a case is due.

A case with several request types is due on the earliest of their dates. The clock
starts on the day the request was received (for post: the day it reached the PO box).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from caseapp.workflow.calendar import US_FEDERAL, BusinessCalendar
from caseapp.workflow.jurisdictions import ClockRule, Jurisdictions, Policy


def add_months(start: date, months: int) -> date:
    """Same day ``months`` later, or the last day of that month if it is shorter."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def apply_clock(start: date, rule: ClockRule, cal: BusinessCalendar = US_FEDERAL) -> date:
    if rule.unit == "calendar_days":
        return start + timedelta(days=rule.days)
    if rule.unit == "business_days":
        return cal.add_business_days(start, rule.days)
    return add_months(start, rule.days)


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: date | None
    respond_by: date
    original_respond_by: date
    extension_possible: bool
    extended: bool
    sources: tuple[str, ...]


def _extended(received_on: date, respond: ClockRule, extension: ClockRule,
              cal: BusinessCalendar) -> date:
    """The due date after the one extension.

    Month clocks add up from the day of receipt (GDPR Art. 12(3): one month "extended by
    two further months" is three months from receipt, so 31 Jan gives 30 Apr, not the
    28 Apr that chaining 31 Jan → 28 Feb → 28 Apr would give).
    """
    if respond.unit == "months" and extension.unit == "months":
        return add_months(received_on, respond.days + extension.days)
    return apply_clock(apply_clock(received_on, respond, cal), extension, cal)


def policies_for(
    rules: Jurisdictions, jurisdiction: str, request_types: Sequence[str]
) -> list[Policy]:
    return [rules.policy(jurisdiction, t) for t in (request_types or ("other",))]


def compute_deadlines(
    rules: Jurisdictions,
    jurisdiction: str,
    request_types: Sequence[str],
    received_on: date,
    *,
    extended: bool = False,
    paused_days: int = 0,
    cal: BusinessCalendar = US_FEDERAL,
) -> Deadlines:
    """All due dates for a case.

    ``paused_days`` (time on hold) is added only where the jurisdiction stops the clock
    on hold; ``extended`` applies each type's single extension where it has one.
    """
    policies = policies_for(rules, jurisdiction, request_types)
    acknowledge = [
        apply_clock(received_on, p.acknowledge, cal) for p in policies if p.acknowledge
    ]
    original: list[date] = []
    effective: list[date] = []
    with_extension: list[date] = []
    sources: list[str] = []
    for policy in policies:
        is_appeal = policy.request_type == "appeal"
        respond = policy.appeal if is_appeal and policy.appeal else policy.respond
        # An appeal is decided within its own clock; the laws give it no extension.
        extension = None if is_appeal else policy.extension
        due = apply_clock(received_on, respond, cal)
        pause = timedelta(days=paused_days if policy.hold_pauses_clock else 0)
        due += pause
        original.append(due)
        sources.append(f"{policy.request_type}: {respond.describe()}")
        later = _extended(received_on, respond, extension, cal) + pause if extension else due
        with_extension.append(later)
        if extended and extension is not None:
            due = later
            sources.append(f"{policy.request_type} extension: {extension.describe()}")
        effective.append(due)
    return Deadlines(
        acknowledge_by=min(acknowledge) if acknowledge else None,
        respond_by=min(effective),
        original_respond_by=min(original),
        # Only if extending moves the case's due date: a type without an extension (an
        # opt-out) that is due first keeps the whole case on its first deadline.
        extension_possible=min(with_extension) > min(original),
        extended=extended,
        sources=tuple(sources),
    )
