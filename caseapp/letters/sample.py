"""A letter context holding every placeholder (resources/letters/README.md), with every
list filled: checking a template against it finds any unknown placeholder, and the
template editor previews with it when no case is at hand."""

from __future__ import annotations

from typing import Any


def sample_context(language: str = "en") -> dict[str, Any]:
    spanish = language == "es"
    day = "3 de diciembre de 2026" if spanish else "December 3, 2026"
    return {
        "letter": {"kind": "deletion_confirmation", "serial": "L-2026-000042", "date": day,
                   "language": language},
        "org": {"name": "Customer Relations and Services", "department": "Privacy requests",
                "address": ["PO Box 1227", "Westwood, NJ 07675-1227"],
                "email": "privacy@askminiusa.com", "phone": "1-800-555-0100",
                "website": "", "attorney_general": "California Attorney General (oag.ca.gov)"},
        "case": {"ref": "PR-2026-00042", "received_on": day, "channel": "email",
                 "request_types": ["Deletion"], "request_text": "deletion",
                 "jurisdiction": "California (CCPA/CPRA)", "due_on": day,
                 "acknowledge_by": day, "days_to_respond": 45, "status": "In progress",
                 "reason": "We could not verify your identity.", "extended": True,
                 "extension_reason": "The request concerns records in several systems.",
                 "original_due_on": day, "verification": "matching two data points",
                 "verified": True, "is_child": True, "via_agent": False,
                 "appeal_of": "PR-2026-00017", "appeal_granted": False,
                 "appeals_allowed": True, "appeal_days": 60},
        "requester": {"name": "José Núñez", "email": "jose.nunez@example.com",
                      "phone": "(916) 555-0143",
                      "address": ["José Núñez", "1420 Capitol Avenue", "Sacramento, CA 95814"],
                      "greeting_name": "José Núñez"},
        "subject": {"name": "Tyler Núñez", "is_child": True, "age": 11,
                    "same_as_requester": False},
        "staff": {"name": "Maria Lopez"},
        "deletion": {
            "decision": "partial", "completed_on": day,
            "deleted": [{"category": "Customer profile", "system": "Customer database",
                         "rows": 2, "how": "de-identified", "date": day}],
            "kept": [{"category": "Warranty and recall records",
                      "system": "Customer database", "reason": "Kept to honour the warranty",
                      "legal_basis": "49 CFR Part 576", "rows": 1}],
            "notified": [{"recipient": "Brand Financial Services", "kind": "Affiliate",
                          "status": "acknowledged", "date": day}],
            "not_notified": [{"recipient": "Pacific Motors", "kind": "Independent dealer",
                              "reason": "The dealer closed in 2024."}],
            "pending": [{"recipient": "Marketing email service provider",
                         "kind": "Service provider", "due": day}],
            "audit_hash": "3f2a" * 16},
        "access": {"groups": [{"category": "Customer profile", "system": "Customer database",
                               "purpose": "to keep your account",
                               "shared_with": ["Brand Financial Services"],
                               "records": [{"table": "Customer profiles", "key": "1",
                                            "fields": [{"name": "email",
                                                        "value": "jose.nunez@example.com"},
                                                       {"name": "ssn", "value": "withheld"}]}]}],
                   "masked_note": "Some information is held but never disclosed.",
                   "complete": True},
        "correction": {"changes": [{"system": "Customer database",
                                    "category": "Customer profile", "field": "email",
                                    "value": "jose.new@example.com"}], "completed_on": day},
        "opt_out": {"systems": [{"system": "Customer database",
                                 "category": "Marketing subscriptions", "rows": 1}],
                    "completed_on": day},
        "notice": {"recipient": "Brand Financial Services", "kind": "Affiliate",
                   "categories": "Customer profile", "systems": "Customer database",
                   "rows": 2, "text": ["On December 3, 2026 we deleted …"], "due": day},
        "info": {"needed": "a copy of the signed authorization", "respond_by": day},
    }
