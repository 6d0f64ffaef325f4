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
from dataclasses import dataclass
from functools import cached_property, lru_cache

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


class RowFacts:
    """A row's identifiers, normalized when first asked for (most candidates of a fuzzy
    search stop at the name, so their addresses are never folded)."""

    def __init__(self, table: Table, row: Mapping[str, object]) -> None:
        self.table = table
        self.row = row
        self.extra_streets: list[str] = []
        self.extra_zips: set[str] = set()

    def _values(self, kind: str) -> list[object]:
        return _texts(self.row, self.table.identifiers.get(kind, ()))

    @cached_property
    def emails(self) -> set[str]:
        return {e for e in (normalize_email(v) for v in self._values("email")) if e}

    @cached_property
    def email_forms(self) -> set[str]:
        return {form for email in self.emails for form in email_forms(email)}

    @cached_property
    def parent_emails(self) -> set[str]:
        return {form for v in self._values("parent_email") for form in email_forms(v)}

    @cached_property
    def phones(self) -> set[str]:
        return {p for p in (fast_phone(v) for v in self._values("phone")) if p}

    @cached_property
    def vins(self) -> set[str]:
        return {v for v in (normalize_vin(x, check_digit=False)
                            for x in self._values("vin")) if v}

    @cached_property
    def customer_ids(self) -> set[str]:
        return {c for c in (normalize_customer_id(v) for v in self._values("customer_id"))
                if c}

    @cached_property
    def names(self) -> list[PersonName]:
        return row_names(self.table, self.row)

    @cached_property
    def streets(self) -> list[str]:
        own = [s for s in (_fold_street(v) for v in self._values("street")) if s]
        return [*own, *self.extra_streets]

    @cached_property
    def zips(self) -> set[str]:
        return {z for z in (normalize_zip(v) for v in self._values("postal_code")) if z} \
            | self.extra_zips


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
    return RowFacts(table, row)


def row_names(table: Table, row: Mapping[str, object]) -> list[PersonName]:
    """The person names a row holds: first + last name columns, or a full name."""
    ids = table.identifiers
    names = []
    firsts = [_fold_name(v) for v in _texts(row, ids.get("first_name", ()))]
    lasts = tuple(n for n in (_fold_name(v) for v in _texts(row, ids.get("last_name", ())))
                  if n)
    for first in firsts:
        if first and lasts:
            names.append(PersonName(first.split()[0], lasts))
    for value in _texts(row, ids.get("full_name", ())):
        name = _person_name(value if isinstance(value, str) else str(value))
        if name:
            names.append(name)
    return names


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
    """Only what the subject has is normalized on the row."""
    reasons = []
    if subject.emails:
        given = {e for e in (normalize_email(r) for r in subject.raw_emails) if e}
        if facts.emails & given:
            reasons.append(Reason("email", "exact"))
        elif facts.email_forms & set(subject.emails):
            reasons.append(Reason("email", "untagged"))
    if subject.parent_emails and facts.parent_emails & set(subject.parent_emails):
        reasons.append(Reason("parent_email", "exact"))
    if subject.phones and facts.phones & set(subject.phones):
        reasons.append(Reason("phone", "e164"))
    if subject.vins and facts.vins & set(subject.vins):
        reasons.append(Reason("vin", "exact"))
    if subject.customer_ids and facts.customer_ids & set(subject.customer_ids):
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
    merged = RowFacts(facts.table, facts.row)
    merged.extra_streets = list(other.streets)
    merged.extra_zips = set(other.zips)
    return merged


def evaluate(facts: RowFacts, subject: Subject) -> RowMatch | None:
    """The row's score and reasons, or None if it does not refer to the subject."""
    reasons = _exact_reasons(facts, subject)
    name = _best_name(facts, subject) if subject.names else None
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
