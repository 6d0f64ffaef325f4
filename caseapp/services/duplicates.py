"""Other cases of the same person: shown when a case arrives, to merge it into the first.

The same consumer often asks twice: an email, then a letter to the PO box a week later,
or a phone call about the letter. ``likely_duplicates`` finds the other cases whose
requester or data subject is likely the same person as this case's, on any channel:

1. Candidates come from the search index (one indexed query per identifier): the email
   address, the phone number, and the name, each of its words also matching the names
   one or two letters away (caseapp.search.fuzzy), so "Jose Nunes" meets "José Núñez".
2. Each candidate's parties are compared with this case's, field by field:
   - the same email (without its plus-tag) or the same phone number (E.164): strong;
   - the same or a similar name (rapidfuzz token sort ratio ≥ ``NAME_SCORE`` on folded
     names of two words or more) with a ZIP or street address in common between the
     cases' parties (a parent writes about the child both cases name): strong;
   - a similar name alone, with no party of either case in another state: possible
     (shown after the strong ones).

Cases that are themselves duplicates are left out (what they held is in their original).
A match may be merged into (this case marked as its duplicate) only when this case can
take the "Mark as duplicate" step and the other case is still open.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from caseapp.db.models import Case, Party
from caseapp.records.normalize import (
    fold_name,
    fold_street,
    normalize_phone,
    normalize_state,
    normalize_zip,
    untagged_email,
)
from caseapp.search import fuzzy, index
from caseapp.search.query import ParsedQuery, parse_query
from caseapp.services.cases import load_case
from caseapp.services.context import ServiceContext

NAME_SCORE = 88
STREET_SCORE = 85
CANDIDATES = 200
"""Cases read per identifier (best ranked first)."""
MERGE_STEP = "mark_duplicate"


@dataclass(frozen=True)
class LikelyDuplicate:
    ref: str
    requester_name: str
    channel: str
    received_on: date
    status: str
    status_label: str
    reasons: tuple[str, ...]  # "same email", "same phone", "same name", "same ZIP"...
    strong: bool  # an identifier or a name with an address in common
    can_merge: bool  # this case may be marked a duplicate of that one


@dataclass(frozen=True)
class _Person:
    name: str
    email: str | None
    phone: str | None
    zip: str | None
    street: str
    state: str | None


def _person(party: Party) -> _Person:
    return _Person(
        name=fold_name(party.name) if len(fold_name(party.name).split()) >= 2 else "",
        email=untagged_email(party.email) if party.email else None,
        phone=normalize_phone(party.phone) if party.phone else None,
        zip=normalize_zip(party.postal_code) if party.postal_code else None,
        street=fold_street(party.postal_address.splitlines()[0])
        if party.postal_address.strip() else "",
        state=normalize_state(party.state) if party.state else None,
    )


def _compare(mine: _Person, theirs: _Person) -> tuple[set[str], bool, bool]:
    """What two people have in common: the reasons, whether an identifier (email or
    phone) is shared, whether the names are alike."""
    reasons: set[str] = set()
    if mine.email and mine.email == theirs.email:
        reasons.add("same email")
    if mine.phone and mine.phone == theirs.phone:
        reasons.add("same phone")
    name_alike = bool(mine.name and theirs.name) and (
        fuzz.token_sort_ratio(mine.name, theirs.name) >= NAME_SCORE)
    if name_alike:
        reasons.add("same name" if mine.name == theirs.name else "similar name")
    return reasons, bool(reasons - {"same name", "similar name"}), name_alike


def _same_address(mine: list[_Person], theirs: list[_Person]) -> set[str]:
    """A ZIP or street address in common between the two cases' parties (a parent and
    the child live at one address)."""
    reasons: set[str] = set()
    for one in mine:
        for other in theirs:
            if one.zip and one.zip == other.zip:
                reasons.add("same ZIP")
            if one.street and other.street and (
                    fuzz.ratio(one.street, other.street) >= STREET_SCORE):
                reasons.add("same street address")
    return reasons


def _states_agree(mine: list[_Person], theirs: list[_Person]) -> bool:
    """No two parties of the cases placed in different states."""
    states = {p.state for p in mine if p.state}
    others = {p.state for p in theirs if p.state}
    return not states or not others or bool(states & others)


def _queries(connection: Connection, people: list[Party]) -> list[ParsedQuery]:
    queries: list[ParsedQuery] = []
    for party in people:
        email = untagged_email(party.email) if party.email else None
        if email:
            queries.append(parse_query(email + " "))
        phone = normalize_phone(party.phone) if party.phone else None
        if phone:
            queries.append(parse_query(phone + " "))
        if len(fold_name(party.name).split()) >= 2:
            by_name = parse_query(party.name + " ")
            queries.append(fuzzy.widen_by_names(connection, by_name, names_too=True)
                           or by_name)
    return [query for query in queries if query.terms]


def _candidate_ids(session: Session, case: Case) -> set[int]:
    connection = session.connection()
    backend = index.backend_for(connection)
    found: set[int] = set()
    for query in _queries(connection, list(case.parties)):
        matching = index.matching(backend, query).subquery("matching")
        found.update(session.scalars(select(matching.c.case_id)
                                     .order_by(matching.c.rank).limit(CANDIDATES)))
    found.discard(case.id)
    return found


def likely_duplicates(ctx: ServiceContext, ref: str, limit: int = 10
                      ) -> tuple[LikelyDuplicate, ...]:
    """Other cases whose requester or data subject is likely this case's person, strong
    matches first, then the most recently received."""
    workflow = ctx.workflow
    with ctx.read() as session:
        case = load_case(session, ref)
        mine = [_person(party) for party in case.parties]
        can_step = case.status in workflow.transitions[MERGE_STEP].sources \
            if MERGE_STEP in workflow.transitions else False
        ids = _candidate_ids(session, case)
        if not ids:
            return ()
        parties: dict[int, list[Party]] = defaultdict(list)
        for party in session.scalars(select(Party).where(Party.case_id.in_(ids))):
            parties[party.case_id].append(party)
        others = session.scalars(select(Case).where(
            Case.id.in_(ids), Case.duplicate_of_id.is_(None))).all()
        found: list[LikelyDuplicate] = []
        for other in others:
            people = [_person(party) for party in parties[other.id]]
            reasons: set[str] = set()
            identifier = name_alike = False
            for theirs in people:
                for person in mine:
                    why, shares_identifier, alike = _compare(person, theirs)
                    reasons |= why
                    identifier = identifier or shares_identifier
                    name_alike = name_alike or alike
            address = _same_address(mine, people) if (identifier or name_alike) else set()
            strong = identifier or (name_alike and bool(address))
            if not strong and not (name_alike and _states_agree(mine, people)):
                continue
            reasons |= address
            requester = next((p for p in parties[other.id] if p.role == "requester"), None)
            is_open = workflow.state(other.status).is_open
            found.append(LikelyDuplicate(
                ref=other.ref, requester_name=requester.name if requester else "",
                channel=other.channel, received_on=other.received_on, status=other.status,
                status_label=workflow.label(other.status),
                reasons=tuple(sorted(reasons, key=_REASON_ORDER.index)), strong=strong,
                can_merge=can_step and is_open))
    found.sort(key=lambda d: (not d.strong, -d.received_on.toordinal(), d.ref))
    return tuple(found[:limit])


_REASON_ORDER = ["same email", "same phone", "same name", "similar name", "same ZIP",
                 "same street address"]
