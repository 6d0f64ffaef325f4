"""Who a lookup searches for: a case's data subject as normalized identifiers.

``Subject`` holds what the customer systems are searched by, each in its canonical form
(caseapp.records.normalize) and, for the direct query on raw columns, as typed.
``subject_from_parties`` builds it from the case's parties: for a child, the child's
name with the parent's address (a child lives with the parent), and the parent's email
searched only in columns that hold a parent's email (the parent's own records are not
the child's). VINs and labelled customer numbers found in the case's text are added.

Never raises on odd input: what does not normalize is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from caseapp.records.normalize import (
    email_forms,
    fold_name,
    fold_street,
    normalize_phone,
    normalize_vin,
    normalize_zip,
)

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sr", "jr", "ii", "iii", "iv",
                     "sra", "srta", "don", "dona"})
_ZIP_IN_TEXT = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
_VIN_IN_TEXT = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b", re.IGNORECASE)
_CUSTOMER_NO = re.compile(
    r"(?i)\b(?:customer|account|client|member)\s*(?:no\.?|number|num\.?|id|#)\s*[:#]?\s*"
    r"([A-Z0-9][A-Z0-9-]{3,24})\b")
_CASE_REF = re.compile(r"(?i)^PR-\d{4}-\d+$")


@dataclass(frozen=True)
class PartyIdentifiers:
    """A party as typed on the case (the fields a lookup can use)."""

    name: str = ""
    email: str = ""
    phone: str = ""
    postal_address: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class PersonName:
    """A name folded: first token, and the possible last names (the last token, and all
    after the first for compound surnames: "jose nunez garcia" → "nunez garcia")."""

    first: str
    lasts: tuple[str, ...]

    @property
    def block_tokens(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for last in self.lasts for t in last.split()
                                   if len(t) > 1))


@dataclass(frozen=True)
class Subject:
    names: tuple[PersonName, ...] = ()
    emails: tuple[str, ...] = ()
    """Normalized, each with its untagged form (email_forms)."""
    phones: tuple[str, ...] = ()
    """E.164."""
    vins: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()
    """Folded (fold_street)."""
    zips: tuple[str, ...] = ()
    parent_emails: tuple[str, ...] = ()
    """Searched only in parent_email columns (a child's sign-up names the parent)."""
    raw_emails: tuple[str, ...] = ()
    raw_phones: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.emails or self.phones or self.vins or self.customer_ids
                    or self.parent_emails or (self.names and (self.zips or self.streets)))

    @property
    def can_fuzzy(self) -> bool:
        return bool(self.names and (self.zips or self.streets))


def person_name(text: str) -> PersonName | None:
    """"José Núñez", "Núñez, José", "Dr. Emily R. Carter" → first and last names."""
    raw = text or ""
    if raw.count(",") == 1:
        last, first = raw.split(",")
        raw = f"{first} {last}"
    tokens = [t for t in fold_name(raw).split() if t not in _TITLES]
    if len(tokens) < 2:
        return None
    first, rest = tokens[0], tokens[1:]
    rest_long = [t for t in rest if len(t) > 1] or rest  # middle initials dropped
    lasts = (rest_long[-1], " ".join(rest_long))
    return PersonName(first=first, lasts=tuple(dict.fromkeys(lasts)))


def street_of(address: str) -> str:
    """The street line of a postal address, folded: the first line that starts with a
    house number, else the first line."""
    lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    if not lines:
        return ""
    numbered = next((line for line in lines if line[:1].isdigit()), lines[0])
    if numbered.count(",") and not numbered.split(",")[1].strip()[:1].isdigit():
        numbered = numbered.split(",")[0]  # "12 Main St, Springfield, IL 62701"
    return fold_street(numbered)


def zip_of(postal_code: str, address: str) -> str | None:
    found = normalize_zip(postal_code.strip()) if postal_code else None
    if found:
        return found
    matches = _ZIP_IN_TEXT.findall(address or "")
    return matches[-1] if matches else None


def identifiers_in_text(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """VINs (check digit right) and customer numbers labelled as such in free text."""
    vins = tuple(dict.fromkeys(
        vin for vin in (normalize_vin(m) for m in _VIN_IN_TEXT.findall(text or "")) if vin))
    numbers = tuple(dict.fromkeys(
        m.upper() for m in _CUSTOMER_NO.findall(text or "")
        if any(ch.isdigit() for ch in m) and not _CASE_REF.match(m)))
    return vins, numbers


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def subject_from_parties(subject: PartyIdentifiers, requester: PartyIdentifiers | None = None,
                         *, is_child: bool = False, text: str = "") -> Subject:
    """What to search for. ``requester`` is given when someone else wrote (a parent, an
    agent); ``text`` is the case's summary and notes (for VINs and customer numbers)."""
    other = requester if requester is not None and requester != subject else None
    address_from = [subject]
    if is_child and other is not None:
        address_from.append(other)  # the child lives at the parent's address
    names = _unique_names(person_name(subject.name))
    emails = _unique(form for e in (subject.email,) for form in email_forms(e))
    phones = _unique([normalize_phone(subject.phone)])
    streets = _unique(street_of(p.postal_address) for p in address_from)
    zips = _unique(zip_of(p.postal_code, p.postal_address) for p in address_from)
    parent_emails: tuple[str, ...] = ()
    if is_child and other is not None:
        parent_emails = _unique(form for form in email_forms(other.email))
    vins, customer_ids = identifiers_in_text(text)
    raw_emails = _unique(e.strip() for e in (subject.email,))
    raw_phones = _unique(p.strip() for p in (subject.phone,))
    return Subject(names=names, emails=emails, phones=phones, vins=vins,
                   customer_ids=customer_ids, streets=streets, zips=zips,
                   parent_emails=parent_emails, raw_emails=raw_emails, raw_phones=raw_phones)


def _unique_names(*names: PersonName | None) -> tuple[PersonName, ...]:
    return tuple(dict.fromkeys(n for n in names if n is not None))


def normalize_customer_id(value: object) -> str | None:
    """A customer number compared without case or spaces: " cu-0001 " → "CU-0001"."""
    if value is None or isinstance(value, bool):
        return None
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        return None
    cleaned = "".join(text.split()).upper()
    return cleaned or None


def email_variants(raw: Iterable[str], normalized: Iterable[str]) -> tuple[str, ...]:
    """How a system may have stored an email, for an equality query on the raw column."""
    values: list[str] = []
    for email in (*raw, *normalized):
        values += [email, email.lower(), email.upper()]
        local, _, domain = email.partition("@")
        values.append(f"{local.title()}@{domain.title()}")
    return tuple(dict.fromkeys(v for v in values if v))


def phone_variants(raw: Iterable[str], e164: Iterable[str]) -> tuple[str, ...]:
    """The common ways a US number is written, for an equality query on the raw column."""
    values: list[str] = list(raw)
    for number in e164:
        values.append(number)
        if number.startswith("+1") and len(number) == 12:
            d = number[2:]
            a, b, c = d[:3], d[3:6], d[6:]
            values += [d, f"1{d}", f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}",
                       f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}",
                       f"{a} {b} {c}", f"({a}){b}-{c}", f"+1-{a}-{b}-{c}"]
    return tuple(dict.fromkeys(v for v in values if v))


def name_variants(token: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((token, token.lower(), token.upper(), token.title())))
