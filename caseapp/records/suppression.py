"""The suppression entry kept after a deletion: salted hashes of the person's identifiers.

After a deletion the desk keeps no identifier in the clear, only these hashes, so that a
person who asked to be deleted is recognised (and not re-added by mistake) when the same
email, phone or name and ZIP turns up again. Each identifier is normalized first
(normalize.py: an email with and without its plus-tag, a phone in E.164, a folded name
with a 5-digit ZIP), then hashed with SHA-256 keyed by a salt (HMAC): without the salt,
the hashes of the few billion possible phone numbers cannot be precomputed.

The salt is the keyring secret ``suppression-salt``, made once (32 random bytes) when
missing. Every workstation of a shared desk needs the same salt, or their entries do not
meet: IT copies it with the other secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from caseapp.errors import EnvironmentProblem
from caseapp.records.normalize import email_forms, fold_name, normalize_phone, normalize_zip
from caseapp.secrets import SecretStoreUnavailable, get_secret, store_secret

SALT_SECRET = "suppression-salt"


class SuppressionUnavailable(EnvironmentProblem):
    """The salt cannot be read or stored (the keyring refused); nothing was hashed."""


@dataclass(frozen=True)
class PersonIdentifiers:
    """What identified the deleted person (as written anywhere; normalized here)."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    """(full name, ZIP code) pairs: a name alone is too common to suppress anyone by."""


def normalized_identifiers(person: PersonIdentifiers) -> tuple[str, ...]:
    """``kind:value`` for every usable identifier, each once, in a stable order."""
    found: list[str] = []
    for email in person.emails:
        found += [f"email:{form}" for form in email_forms(email)]
    for phone in person.phones:
        number = normalize_phone(phone)
        if number:
            found.append(f"phone:{number}")
    for name, postal_code in person.names:
        folded, zip_code = fold_name(name), normalize_zip(postal_code)
        if folded and zip_code:
            found.append(f"name_zip:{folded}|{zip_code}")
    return tuple(dict.fromkeys(found))


def suppression_salt(get: Callable[[str], str | None] = get_secret,
                     put: Callable[[str, str], None] = store_secret) -> bytes:
    """The salt from the keyring, made and stored there the first time."""
    try:
        salt = get(SALT_SECRET)
        if salt is None:
            put(SALT_SECRET, secrets.token_hex(32))
            salt = get(SALT_SECRET)  # what the keyring kept (another window may have won)
    except SecretStoreUnavailable as problem:
        raise SuppressionUnavailable(
            "The suppression entry cannot be made: its salt lives in the keyring secret "
            f"'{SALT_SECRET}', and {problem.message}") from None
    if not salt:
        raise SuppressionUnavailable(
            f"The suppression entry cannot be made: the keyring did not keep the secret "
            f"'{SALT_SECRET}'")
    return salt.encode("utf-8")


def suppression_hashes(identifiers: PersonIdentifiers | Iterable[str], *,
                       salt: bytes | None = None) -> tuple[str, ...]:
    """Hex HMAC-SHA256 of each normalized identifier, sorted, each once.

    ``identifiers`` is a :class:`PersonIdentifiers`, or ``kind:value`` strings already
    normalized (as :func:`normalized_identifiers` gives). ``salt`` defaults to the
    keyring's (:func:`suppression_salt`)."""
    values = (normalized_identifiers(identifiers)
              if isinstance(identifiers, PersonIdentifiers) else tuple(identifiers))
    if not values:
        return ()
    key = salt if salt is not None else suppression_salt()
    return tuple(sorted({hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
                         for value in values}))
