"""The words the desk uses (DESIGN.md "Vocabulary"), in one place."""

from __future__ import annotations

from typing import Final

CHANNELS: Final = ("email", "postal", "phone", "web", "in_person")

REQUEST_TYPES: Final = (
    "access",
    "delete",
    "correct",
    "opt_out_marketing",
    "opt_out_sale_share",
    "limit_sensitive",
    "appeal",
    "other",
)

REQUEST_TYPE_LABELS: Final = {
    "access": "Access / right to know",
    "delete": "Delete",
    "correct": "Correct",
    "opt_out_marketing": "Opt out of marketing",
    "opt_out_sale_share": "Opt out of sale/sharing",
    "limit_sensitive": "Limit sensitive data",
    "appeal": "Appeal",
    "other": "Other (not a privacy request)",
}

ROLES: Final = ("agent", "supervisor", "admin")

# Letters and notices go out in the languages the desk uses with consumers (CCPA §7003).
LANGUAGES: Final = ("en", "es")

# Lower number sorts first; child cases are urgent (COPPA, REGULATIONS.md).
PRIORITIES: Final = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
PRIORITY_NAMES: Final = {number: name for name, number in PRIORITIES.items()}

RELATIONSHIPS: Final = ("self", "parent", "guardian", "authorized_agent", "other")

VERIFICATION_METHODS: Final = (
    "email_match",
    "data_points_2",
    "data_points_3_signed_declaration",
    "signed_form_post",
    "card_transaction",
    "toll_free_call",
    "video_call",
    "government_id_checked_then_deleted",
    "agent_signed_permission",
)
