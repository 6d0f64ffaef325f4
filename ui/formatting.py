"""How values read on screen: short labels, dates, "in N days"."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from caseapp.vocabulary import LANGUAGES, REQUEST_TYPE_LABELS

# The workflow state in which the response went out and the legal clock stopped.
RESPONSE_SENT = "response_sent"

CHANNEL_LABELS = {
    "email": "Email",
    "postal": "Post",
    "phone": "Phone",
    "web": "Web form",
    "in_person": "In person",
}

SHORT_TYPE_LABELS = {
    "access": "Access",
    "delete": "Delete",
    "correct": "Correct",
    "opt_out_marketing": "Marketing opt-out",
    "opt_out_sale_share": "Sale/share opt-out",
    "limit_sensitive": "Limit sensitive",
    "appeal": "Appeal",
    "other": "Other",
}

RELATIONSHIP_LABELS = {
    "self": "The person themselves",
    "parent": "Parent",
    "guardian": "Guardian",
    "authorized_agent": "Authorized agent",
    "other": "Other",
}

# The languages letters are written in (caseapp.vocabulary.LANGUAGES).
_LANGUAGE_NAMES = {"en": "English", "es": "Spanish (español)"}
LANGUAGE_LABELS = {code: _LANGUAGE_NAMES.get(code, code) for code in LANGUAGES}

VERIFICATION_METHOD_LABELS = {
    "email_match": "Email address matches our records",
    "data_points_2": "Two data points match",
    "data_points_3_signed_declaration": "Three data points + signed declaration",
    "signed_form_post": "Signed form by post",
    "card_transaction": "Card transaction",
    "toll_free_call": "Toll-free call",
    "video_call": "Video call",
    "government_id_checked_then_deleted": "Government ID checked (then deleted)",
    "agent_signed_permission": "Agent's signed permission",
}

US_STATES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
)


def channel_text(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def types_text(types: Iterable[str]) -> str:
    return ", ".join(SHORT_TYPE_LABELS.get(t, t) for t in types)


def types_long_text(types: Iterable[str]) -> str:
    return "\n".join(REQUEST_TYPE_LABELS.get(t, t) for t in types)


def method_text(method: str) -> str:
    return VERIFICATION_METHOD_LABELS.get(method, method.replace("_", " "))


def relationship_text(relationship: str) -> str:
    return RELATIONSHIP_LABELS.get(relationship, relationship)


def date_text(day: date | None) -> str:
    return day.isoformat() if day else "—"


def moment_text(moment: datetime, timezone: str) -> str:
    """A stored (naive UTC) moment as the desk's local time; a bare date at midnight
    (a letter dated to the day it reached the PO box has no time of its own)."""
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M")


def days_text(days_left: int) -> str:
    """'due today', 'in 3 days', '1 day overdue'."""
    if days_left == 0:
        return "due today"
    if days_left > 0:
        return f"in {days_left} day{'s' if days_left != 1 else ''}"
    late = -days_left
    return f"{late} day{'s' if late != 1 else ''} overdue"


def source_text(source: str) -> str:
    """'delete: 45 days (11 CCR …)' with the request type spelled out."""
    key, sep, rest = source.partition(": ")
    if sep and key in SHORT_TYPE_LABELS:
        return f"{SHORT_TYPE_LABELS[key]}: {rest}"
    return source


def size_text(size: int) -> str:
    """'812 bytes', '14 KB', '3.2 MB'."""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


AUTO_KIND_LABELS = {"bounce": "bounce", "auto_reply": "auto-reply"}


def auto_kind_text(kind: str) -> str:
    return AUTO_KIND_LABELS.get(kind, kind.replace("_", " "))


def plain_tooltip(text: str | None) -> str | None:
    """A tooltip that shows ``text`` as text: Qt renders a tooltip that looks like HTML as
    rich text (pictures included), and names and subjects come from outside."""
    if not text:
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"
