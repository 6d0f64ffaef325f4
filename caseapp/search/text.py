"""Words for searching: accents and case folded, emails and phone numbers found.

Documents and queries are folded by the same functions, so a word is a word on both
backends: lower-case, accents stripped (NFKD without combining marks, casefolded),
apostrophes joined ("O'Brien" → "obrien"), any other non-letter a separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from caseapp.records.normalize import fold, normalize_phone, untagged_email

MAX_WORD = 100
"""Longer "words" (a base64 run, a 10,000-letter paste) are not indexed nor searched."""

# An email address as people write one (the classifier's pattern, local part generous).
# The lookbehind starts a match only where a run of address characters starts: without
# it a long unbroken line (pasted base64) is scanned from every position (quadratic).
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]+"
                   r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A North American phone number in any usual spelling: +1 (916) 555-0143, 916.555.0143,
# 19165550143 ... (checked by normalize_phone afterwards).
PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)")
# A word of the original text as a reader sees it (apostrophes inside belong to it).
WORD = re.compile(r"\w(?:[\w'’`´ʼ]*\w)?")


def fold_words(text: str) -> list[str]:
    """The searchable words of ``text``, folded: "José Núñez-O'Brien" → jose nunez obrien."""
    return [word for word in fold(text).split() if len(word) <= MAX_WORD]


@dataclass(frozen=True)
class Found:
    """An email or phone number found in a text: where, and the words it is indexed as."""

    start: int
    end: int
    kind: str  # email | phone
    words: tuple[str, ...]


def phone_digits(value: str) -> str | None:
    """The E.164 digits of a phone number ("+1 916 555 0143" → 19165550143), else None."""
    e164 = normalize_phone(value)
    return e164[1:] if e164 else None


def phone_forms(e164_digits: str) -> list[str]:
    """The words a phone number is indexed as: E.164 digits, the national number, and for
    North America its three groups, so "555-0143" or "9165550143" find it too."""
    forms = [e164_digits]
    if e164_digits.startswith("1") and len(e164_digits) == 11:
        national = e164_digits[1:]
        forms += [national, national[:3], national[3:6], national[6:]]
    return forms


def email_words(address: str) -> list[str]:
    """An address's parts as words, and again without its plus-tag if it has one: the
    address is searched as the phrase of its parts."""
    words = fold_words(address)
    plain = untagged_email(address)
    if plain and plain != address.strip().lower():
        words += fold_words(plain)
    return words


def find_identifiers(text: str) -> list[Found]:
    """Emails and phone numbers in ``text``, in order, not overlapping."""
    found: list[Found] = []
    for match in EMAIL.finditer(text):
        found.append(Found(match.start(), match.end(), "email",
                           tuple(fold_words(match.group(0)))))
    for match in PHONE.finditer(text):
        if any(f.start < match.end() and match.start() < f.end for f in found):
            continue
        digits = phone_digits(match.group(0))
        if digits:
            found.append(Found(match.start(), match.end(), "phone", (digits,)))
    return sorted(found, key=lambda f: f.start)
