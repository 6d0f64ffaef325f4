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

# What a customer system's table holds (records/sources.py; the deletion letter lists
# what was deleted or kept "by category and system", REGULATIONS.md).
RECORD_CATEGORIES: Final = (
    "customer_profile",
    "vehicle_configurations",
    "marketing_subscriptions",
    "web_visits",
    "third_party_data",
    "dealer_leads",
    "affiliate_shares",
    "vehicles_owned",
    "warranty_recall",
    "customer_communications",
)

RECORD_CATEGORY_LABELS: Final = {
    "customer_profile": "Customer profile",
    "vehicle_configurations": "Saved vehicle configurations",
    "marketing_subscriptions": "Marketing subscriptions",
    "web_visits": "Web-visit data",
    "third_party_data": "Third-party-sourced data",
    "dealer_leads": "Dealer leads",
    "affiliate_shares": "Shares with affiliates",
    "vehicles_owned": "Vehicles owned",
    "warranty_recall": "Warranty and recall records",
    "customer_communications": "Customer communications (calls, letters)",
}

# The identifiers a record can be found by; a sources file maps each to its columns.
IDENTIFIER_KINDS: Final = (
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "street",
    "city",
    "state",
    "postal_code",
    "vin",
    "ip_address",
    # A child's sign-up carries the parent's address: how a parent's complaint finds it.
    "parent_email",
)

IDENTIFIER_LABELS: Final = {
    "customer_id": "Customer id",
    "email": "Email",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "street": "Street",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "vin": "VIN",
    "ip_address": "IP address",
    "parent_email": "Parent's email",
}

# Who data goes to downstream, and so who is told of a deletion (§7022, GDPR Art. 19).
RECIPIENT_KINDS: Final = ("affiliate", "service_provider", "dealer", "third_party")

RECIPIENT_KIND_LABELS: Final = {
    "affiliate": "Affiliate",
    "service_provider": "Service provider",
    "dealer": "Independent dealer",
    "third_party": "Third party",
}

# Actions on a case's confirmed records (caseapp.records.actions).
ACTION_KIND_LABELS: Final = {
    "delete": "Delete / de-identify",
    "correct": "Correct",
    "opt_out": "Opt out of marketing",
    "stop_sharing": "Stop sharing",
}

ACTION_STATUS_LABELS: Final = {
    "awaiting_approval": "Awaiting approval",
    "approved": "Ready to run",
    "running": "Running",
    "incomplete": "Incomplete: run again",
    "executed": "Done, not verified",
    "verified": "Done and verified",
    "verify_failed": "Verification failed",
    "withdrawn": "Withdrawn",
}

# Downstream notices: open until sent and answered, or closed as not notified (with why).
NOTICE_STATUS_LABELS: Final = {
    "open": "To send",
    "sent": "Sent, awaiting reply",
    "acknowledged": "Acknowledged",
    "not_notified": "Not notified",
}
