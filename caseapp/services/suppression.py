"""The desk's suppression list: salted hashes of deleted people's identifiers.

Every workstation of a desk must hash with the same salt or their entries never meet.
The salt itself stays in each workstation's keyring (records/suppression.py); the case
database keeps only a check value of it, so that a workstation with another salt, or
none, is stopped with what to do instead of quietly writing entries no one can match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import audit
from caseapp.db.models import Case, DeskSetting, RecordHit, SuppressionEntry
from caseapp.records.sources import SourcesConfig
from caseapp.records.suppression import (
    SALT_SECRET,
    PersonIdentifiers,
    SuppressionUnavailable,
    normalized_identifiers,
    suppression_hashes,
    suppression_salt,
)
from caseapp.secrets import SecretStoreUnavailable, get_secret, store_secret
from caseapp.services.context import ServiceContext
from caseapp.services.dto import SuppressionMatch
from caseapp.services.views import party_of

SALT_CHECK_KEY = "suppression_salt_check"
HOW_TO_COPY = ("On a workstation that has it, run: caseapp suppression salt --export; "
               "here: caseapp suppression salt --import")


def salt_check(salt: bytes) -> str:
    """A value that tells salts apart without revealing them."""
    return hmac.new(salt, b"caseapp suppression salt check", hashlib.sha256).hexdigest()[:32]


def desk_salt(ctx: ServiceContext, session: Session, username: str) -> bytes:
    """This workstation's salt, checked against the desk's (recorded by the first
    workstation that needed one). Raises SuppressionUnavailable with what to do."""
    recorded = session.get(DeskSetting, SALT_CHECK_KEY)
    if recorded is None:
        salt = suppression_salt()  # made and kept in the keyring the first time
        session.add(DeskSetting(key=SALT_CHECK_KEY, value=salt_check(salt), set_by=username,
                                set_at=ctx.clock.now()))
        session.flush()
        return salt
    try:
        stored = get_secret(SALT_SECRET)
    except SecretStoreUnavailable as problem:
        raise SuppressionUnavailable(
            f"The suppression entry cannot be made: {problem.message}") from None
    if not stored:
        raise SuppressionUnavailable(
            "This workstation does not have the desk's suppression salt (the keyring secret "
            f"'{SALT_SECRET}'), so its entries would not match the desk's. {HOW_TO_COPY}")
    if salt_check(stored.encode("utf-8")) != recorded.value:
        raise SuppressionUnavailable(
            "This workstation's suppression salt is not the desk's, so its entries would "
            f"not match. {HOW_TO_COPY}")
    return stored.encode("utf-8")


def identifiers_of(case: Case, hits: Iterable[RecordHit], config: SourcesConfig | None,
                   corrected: dict[str, list[str]] | None = None) -> PersonIdentifiers:
    """The deleted person's identifiers: the case's data subject, what the deleted
    records held in their email, phone, name and ZIP columns, and the emails and phones
    earlier corrections wrote (``corrected``: field → new values)."""
    emails: list[str] = []
    phones: list[str] = []
    for field, values in (corrected or {}).items():
        for value in values:
            if field == "email" or "@" in value:
                emails.append(value)
            elif field == "phone":
                phones.append(value)
    names: list[tuple[str, str]] = []
    party = party_of(case, "subject") or party_of(case, "requester")
    if party is not None:
        emails.append(party.email)
        phones.append(party.phone)
        names.append((party.name, party.postal_code))
    for hit in hits:
        snapshot = _snapshot(hit)
        columns = _kinds(config, hit)
        emails += [snapshot.get(c, "") for c in columns.get("email", ())]
        phones += [snapshot.get(c, "") for c in columns.get("phone", ())]
        full = [snapshot.get(c, "") for c in columns.get("full_name", ())]
        first = " ".join(snapshot.get(c, "") for c in columns.get("first_name", ()))
        last = " ".join(snapshot.get(c, "") for c in columns.get("last_name", ()))
        zips = [snapshot.get(c, "") for c in columns.get("postal_code", ())]
        for zip_code in zips:
            names += [(name, zip_code) for name in [*full, f"{first} {last}"] if name.strip()]
    return PersonIdentifiers(emails=tuple(e for e in emails if e),
                             phones=tuple(p for p in phones if p), names=tuple(names))


def _snapshot(hit: RecordHit) -> dict[str, str]:
    try:
        data = json.loads(hit.snapshot or "{}")
    except ValueError:
        return {}
    return {str(k): "" if v is None else str(v) for k, v in data.items()} \
        if isinstance(data, dict) else {}


def _kinds(config: SourcesConfig | None, hit: RecordHit) -> dict[str, tuple[str, ...]]:
    if config is None:
        return {}
    try:
        return dict(config.source(hit.source).table(hit.table_name).identifiers)
    except KeyError:
        return {}


def hashed_entries(person: PersonIdentifiers, salt: bytes) -> list[tuple[str, str]]:
    """(kind, hash) for each usable identifier."""
    return [(value.split(":", 1)[0], suppression_hashes([value], salt=salt)[0])
            for value in normalized_identifiers(person)]


def add_entries(session: Session, case: Case, action_id: int, entries: list[tuple[str, str]],
                username: str, ctx: ServiceContext) -> int:
    """Store the entries not yet kept for this case; returns how many were added."""
    known = set(session.scalars(select(SuppressionEntry.hash)
                                .where(SuppressionEntry.case_id == case.id)))
    added = 0
    for kind, digest in entries:
        if digest in known:
            continue
        known.add(digest)
        session.add(SuppressionEntry(hash=digest, kind=kind, case_id=case.id, case_ref=case.ref,
                                     action_id=action_id, created_at=ctx.clock.now(),
                                     created_by=username))
        added += 1
    return added


def check(ctx: ServiceContext, person: PersonIdentifiers) -> tuple[SuppressionMatch, ...]:
    """Which of these identifiers belong to someone whose records were deleted."""
    with ctx.write() as session:  # may record the desk's salt check the first time
        salt = desk_salt(ctx, session, ctx.username)
        entries = hashed_entries(person, salt)
        if not entries:
            return ()
        kinds = dict((digest, kind) for kind, digest in entries)
        rows = session.scalars(select(SuppressionEntry)
                               .where(SuppressionEntry.hash.in_(list(kinds)))
                               .order_by(SuppressionEntry.created_at))
        return tuple(SuppressionMatch(kinds[row.hash], row.case_ref, row.created_at)
                     for row in rows)


def export_salt(ctx: ServiceContext) -> str:
    """The salt, for IT to copy to another workstation of the same desk (admin only;
    audited)."""
    with ctx.write() as session:
        actor = ctx.require_role(session, "admin")
        salt = desk_salt(ctx, session, actor.username).decode("utf-8")
        audit.record(session, actor=actor.username, action="suppression.salt_exported",
                     at=ctx.clock.now())
        return salt


def import_salt(ctx: ServiceContext, salt: str) -> None:
    """Keep the desk's salt in this workstation's keyring (checked against the desk's)."""
    salt = salt.strip()
    with ctx.write() as session:
        recorded = session.get(DeskSetting, SALT_CHECK_KEY)
        if recorded is not None and salt_check(salt.encode("utf-8")) != recorded.value:
            raise SuppressionUnavailable(
                "That is not this desk's suppression salt: nothing was stored. Copy it again "
                "from a workstation of this desk (caseapp suppression salt --export).")
        if len(salt) < 32:
            raise SuppressionUnavailable("A suppression salt has at least 32 characters.")
        try:
            store_secret(SALT_SECRET, salt)
        except SecretStoreUnavailable as problem:
            raise SuppressionUnavailable(problem.message) from None
        if recorded is None:
            session.add(DeskSetting(key=SALT_CHECK_KEY, value=salt_check(salt.encode("utf-8")),
                                    set_by=ctx.username, set_at=ctx.clock.now()))
        audit.record(session, actor=ctx.username, action="suppression.salt_imported",
                     at=ctx.clock.now())
