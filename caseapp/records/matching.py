"""Does one customer-system row refer to the subject, how strongly, and why?

``row_facts`` reads a row through its table's identifier mapping into normalized
values; ``evaluate`` compares them with a :class:`Subject` and returns a score (0–100)
with the reasons (exact email, E.164 phone, fuzzy name 92, same ZIP...) or None.

Exact identifiers decide on their own, but a name that clearly differs (a family
sharing one email) lowers the score so staff see it. A fuzzy match needs both a name
that agrees (first name by nickname or Jaro–Winkler, last name by Jaro–Winkler) and an
address that agrees (street, or the ZIP when one side has no street): a name alone is
never enough at a million customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from caseapp.records.nicknames import same_first_name
from caseapp.records.normalize import (
    email_forms,
    fold_name,
    fold_street,
    normalize_email,
    normalize_phone,
    normalize_vin,
    normalize_zip,
)
from caseapp.records.sources import Table
from caseapp.records.subject import PersonName, Subject, normalize_customer_id, person_name

MIN_SCORE = 60.0
"""Rows scoring below are not proposed."""
FIRST_NAME_AGREES = 85.0
LAST_NAME_AGREES = 88.0
NAME_DIFFERS = 75.0
STREET_AGREES = 85.0

EXACT_WEIGHT = {"customer_id": 95.0, "vin": 95.0, "email": 90.0, "phone": 85.0,
                "parent_email": 80.0}
REASON_TEXT = {
    ("email", "exact"): "exact email",
    ("email", "untagged"): "email without its +tag",
    ("email", "raw"): "email as typed",
    ("phone", "e164"): "E.164 phone",
    ("vin", "exact"): "VIN",
    ("customer_id", "exact"): "customer id",
    ("parent_email", "exact"): "parent's email",
    ("name", "same"): "same name",
    ("name", "nickname"): "name (nickname)",
    ("name", "differs"): "name differs",
    ("postal_code", "same"): "ZIP",
    ("street", "same"): "same street",
    ("link", "parent"): "linked record",
}
_PHONE_CHARS = frozenset("0123456789 ()-.+")


@dataclass(frozen=True)
class Reason:
    kind: str
    """An identifier kind (email, phone...), or name, street, link."""
    how: str
    score: int | None = None

    def text(self) -> str:
        if self.how == "fuzzy":
            return f"fuzzy {self.kind.replace('_', ' ')} {self.score}"
        return REASON_TEXT.get((self.kind, self.how), f"{self.kind} {self.how}")

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "how": self.how}
        if self.score is not None:
            data["score"] = self.score
        return data


@dataclass(frozen=True)
class RowMatch:
    score: float
    reasons: tuple[Reason, ...]

    @property
    def exact(self) -> bool:
        return any(r.kind in EXACT_WEIGHT for r in self.reasons)

    def why(self) -> str:
        return ", ".join(r.text() for r in self.reasons)


@dataclass
class RowFacts:
    """A row's identifiers, normalized."""

    emails: set[str] = field(default_factory=set)
    email_forms: set[str] = field(default_factory=set)
    parent_emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    vins: set[str] = field(default_factory=set)
    customer_ids: set[str] = field(default_factory=set)
    names: list[PersonName] = field(default_factory=list)
    streets: list[str] = field(default_factory=list)
    zips: set[str] = field(default_factory=set)


# Names and streets repeat a lot across rows: folding each once is most of the work.
fold_name_cached = lru_cache(maxsize=65536)(fold_name)
_fold_name = fold_name_cached
_fold_street = lru_cache(maxsize=65536)(fold_street)
_person_name = lru_cache(maxsize=65536)(person_name)


def fast_phone(value: object) -> str | None:
    """normalize_phone, with the common US spellings done by hand (a 1M-row index build
    spends most of its time in phonenumbers otherwise). Agrees with normalize_phone."""
    if not isinstance(value, str) or not value or not set(value) <= _PHONE_CHARS:
        return normalize_phone(value)
    digits = "".join(ch for ch in value if ch.isdigit())
    plus = value.count("+")
    if plus > 1 or (plus == 1 and not value.lstrip().startswith("+")):
        return normalize_phone(value)
    if len(digits) == 11 and digits[0] == "1":
        national = digits[1:]
    elif len(digits) == 10 and not plus:
        national = digits
    else:
        return normalize_phone(value)
    if national[0] in "01":
        return normalize_phone(value)
    return f"+1{national}"


def _texts(row: Mapping[str, object], columns: tuple[str, ...]) -> list[object]:
    return [row.get(column) for column in columns if row.get(column) not in (None, "")]


def row_facts(table: Table, row: Mapping[str, object]) -> RowFacts:
    facts = RowFacts()
    ids = table.identifiers
    for value in _texts(row, ids.get("email", ())):
        email = normalize_email(value)
        if email:
            facts.emails.add(email)
            facts.email_forms.update(email_forms(email))
    for value in _texts(row, ids.get("parent_email", ())):
        facts.parent_emails.update(email_forms(value))
    for value in _texts(row, ids.get("phone", ())):
        phone = fast_phone(value)
        if phone:
            facts.phones.add(phone)
    for value in _texts(row, ids.get("vin", ())):
        vin = normalize_vin(value, check_digit=False)
        if vin:
            facts.vins.add(vin)
    for value in _texts(row, ids.get("customer_id", ())):
        number = normalize_customer_id(value)
        if number:
            facts.customer_ids.add(number)
    firsts = [_fold_name(v) for v in _texts(row, ids.get("first_name", ()))]
    lasts = [_fold_name(v) for v in _texts(row, ids.get("last_name", ()))]
    for first in firsts:
        if first and lasts:
            facts.names.append(PersonName(first.split()[0], tuple(lasts)))
    for value in _texts(row, ids.get("full_name", ())):
        name = _person_name(value if isinstance(value, str) else str(value))
        if name:
            facts.names.append(name)
    facts.streets = [s for s in (_fold_street(v) for v in _texts(row, ids.get("street", ())))
                     if s]
    facts.zips = {z for z in (normalize_zip(v) for v in _texts(row, ids.get("postal_code", ())))
                  if z}
    return facts


def name_similarity(subject: PersonName, row: PersonName) -> tuple[float, float, bool]:
    """(first, last, nickname) similarity 0–100, in whichever order fits best (a system
    may hold the names swapped)."""

    def last_sim(mine: tuple[str, ...], theirs: tuple[str, ...]) -> float:
        best = max(JaroWinkler.similarity(a, b) * 100 for a in mine for b in theirs)
        mine_tokens = {t for a in mine for t in a.split()}
        if mine_tokens & {t for b in theirs for t in b.split() if len(t) > 1}:
            best = max(best, 92.0)  # one of a compound surname
        return best

    nickname = same_first_name(subject.first, row.first) and subject.first != row.first
    first = 100.0 if same_first_name(subject.first, row.first) else \
        JaroWinkler.similarity(subject.first, row.first) * 100
    last = last_sim(subject.lasts, row.lasts)
    swapped_first = JaroWinkler.similarity(subject.first, row.lasts[0]) * 100
    swapped_last = last_sim(subject.lasts, (row.first,))
    if swapped_first + swapped_last > first + last + 10:
        return swapped_first, swapped_last, False
    return first, last, nickname


def _house_number(street: str) -> str:
    first = street.split(" ", 1)[0]
    return first if first[:1].isdigit() else ""


def street_similarity(a: str, b: str) -> float:
    score = float(fuzz.token_set_ratio(a, b))
    number_a, number_b = _house_number(a), _house_number(b)
    if number_a and number_b and number_a != number_b:
        score = min(score, 50.0)  # another house on the same street
    return score


def _exact_reasons(facts: RowFacts, subject: Subject) -> list[Reason]:
    reasons = []
    given = {e for e in (normalize_email(r) for r in subject.raw_emails) if e}
    if facts.emails & given:
        reasons.append(Reason("email", "exact"))
    elif facts.email_forms & set(subject.emails):
        reasons.append(Reason("email", "untagged"))
    if facts.parent_emails & set(subject.parent_emails):
        reasons.append(Reason("parent_email", "exact"))
    if facts.phones & set(subject.phones):
        reasons.append(Reason("phone", "e164"))
    if facts.vins & set(subject.vins):
        reasons.append(Reason("vin", "exact"))
    if facts.customer_ids & set(subject.customer_ids):
        reasons.append(Reason("customer_id", "exact"))
    return reasons


def _best_name(facts: RowFacts, subject: Subject) -> tuple[float, float, bool] | None:
    best: tuple[float, float, bool] | None = None
    for mine in subject.names:
        for theirs in facts.names:
            found = name_similarity(mine, theirs)
            if best is None or found[0] + found[1] > best[0] + best[1]:
                best = found
    return best


def _address(facts: RowFacts, subject: Subject) -> tuple[float | None, bool | None]:
    """(best street similarity or None if a side has none, same ZIP or None)."""
    street = None
    if facts.streets and subject.streets:
        street = max(street_similarity(a, b) for a in subject.streets for b in facts.streets)
    same_zip = bool(facts.zips & set(subject.zips)) if facts.zips and subject.zips else None
    return street, same_zip


def address_agrees(facts: RowFacts, subject: Subject) -> bool:
    """The row's address is the subject's: the street agrees (same house), or the ZIP
    does when either side has no street."""
    street, same_zip = _address(facts, subject)
    if street is not None:
        return street >= STREET_AGREES and same_zip is not False
    return bool(same_zip)


def with_address_of(facts: RowFacts, other: RowFacts) -> RowFacts:
    """A row's facts with another row's address added (a customer at an old address)."""
    return RowFacts(facts.emails, facts.email_forms, facts.parent_emails, facts.phones,
                    facts.vins, facts.customer_ids, facts.names,
                    [*facts.streets, *other.streets], facts.zips | other.zips)


def evaluate(facts: RowFacts, subject: Subject) -> RowMatch | None:
    """The row's score and reasons, or None if it does not refer to the subject."""
    reasons = _exact_reasons(facts, subject)
    name = _best_name(facts, subject)
    if not reasons and (name is None or not (subject.zips or subject.streets)):
        return None
    agrees = name is not None and name[0] >= FIRST_NAME_AGREES and name[1] >= LAST_NAME_AGREES
    if not reasons and not agrees:
        return None  # the cheap test first: most block candidates stop here
    street, same_zip = _address(facts, subject)
    address_reasons = []
    if street is not None and street >= STREET_AGREES:
        address_reasons.append(Reason("street", "same") if street == 100 else
                               Reason("street", "fuzzy", round(street)))
    if same_zip:
        address_reasons.append(Reason("postal_code", "same"))
    name_reason: list[Reason] = []
    if name is not None:
        name_score = (name[0] + name[1]) / 2
        if agrees:
            name_reason.append(Reason("name", "nickname") if name[2] and name[1] == 100 else
                               Reason("name", "same") if name_score == 100 else
                               Reason("name", "fuzzy", round(name_score)))
        elif name[0] < NAME_DIFFERS or name[1] < NAME_DIFFERS:
            name_reason.append(Reason("name", "differs"))
    if reasons:
        kinds = {r.kind for r in reasons}
        score = max(EXACT_WEIGHT[k] for k in kinds) + 5 * (len(kinds) - 1)
        if agrees:
            score += 10
        elif name_reason:
            score -= 30
        if address_reasons:
            score += 3
        return RowMatch(min(100.0, max(0.0, score)),
                        (*reasons, *name_reason, *address_reasons))
    assert name is not None
    evidence = (street is not None and street >= STREET_AGREES) or (street is None
                                                                     and bool(same_zip))
    if not evidence:
        return None
    if street is not None:
        zip_part = 100.0 if same_zip else (0.0 if same_zip is False else street)
        address_score = 0.75 * street + 0.25 * zip_part
    else:
        address_score = 100.0
    score = 0.6 * (name[0] + name[1]) / 2 + 0.4 * address_score
    if score < MIN_SCORE:
        return None
    return RowMatch(round(score, 1), (*name_reason, *address_reasons))
