"""The letter kinds: what each is called, to whom it goes, and when it may be issued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True)
class LetterKind:
    name: str
    label: str
    to: Literal["requester", "recipient"]
    """A downstream notice goes to the recipient named on the notice."""


LETTER_KINDS: Final = {kind.name: kind for kind in (
    LetterKind("acknowledgement", "Acknowledgement of receipt", "requester"),
    LetterKind("verification_request", "Identity verification request", "requester"),
    LetterKind("information_request", "Information request", "requester"),
    LetterKind("access_report", "Access report", "requester"),
    LetterKind("correction_confirmation", "Correction confirmation", "requester"),
    LetterKind("opt_out_confirmation", "Opt-out confirmation", "requester"),
    LetterKind("extension_notice", "Extension notice", "requester"),
    LetterKind("denial", "Denial", "requester"),
    LetterKind("deletion_confirmation", "Deletion confirmation", "requester"),
    LetterKind("parent_response", "Response to a parent (COPPA)", "requester"),
    LetterKind("appeal_decision", "Appeal decision", "requester"),
    LetterKind("downstream_notice", "Notice to a recipient downstream", "recipient"),
)}

Delivery = Literal["post", "email", "file"]
DELIVERIES: Final = ("post", "email", "file")
