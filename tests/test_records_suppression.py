"""The suppression entry kept after a deletion: salted hashes of normalized identifiers,
the salt made once in the keyring, and a refused keyring said plainly."""

from __future__ import annotations

import pytest
from keyrings.alt.file import PlaintextKeyring

from caseapp.records.suppression import (
    SALT_SECRET,
    PersonIdentifiers,
    SuppressionUnavailable,
    normalized_identifiers,
    suppression_hashes,
)
from tests.keyring_fixtures import MemoryKeyring

JOSE = PersonIdentifiers(emails=("Jose.Nunez+cars@Example.com",),
                         phones=("(916) 555-0143",),
                         names=(("José Núñez", "95814-2231"),))


def test_identifiers_are_normalized_before_hashing() -> None:
    assert normalized_identifiers(JOSE) == (
        "email:jose.nunez+cars@example.com", "email:jose.nunez@example.com",
        "phone:+19165550143", "name_zip:jose nunez|95814")
    written_otherwise = PersonIdentifiers(emails=("<jose.nunez@EXAMPLE.com>",),
                                          phones=("+1 916.555.0143",),
                                          names=(("JOSE  NUNEZ", "95814"),))
    salt = b"s" * 32
    assert set(suppression_hashes(written_otherwise, salt=salt)) <= set(
        suppression_hashes(JOSE, salt=salt))
    # Nothing usable, nothing hashed; a name without a ZIP suppresses no one.
    assert suppression_hashes(PersonIdentifiers(phones=("555-0143",),
                                                names=(("José Núñez", ""),)), salt=salt) == ()


def test_hashes_are_keyed_by_the_salt_and_hide_the_value() -> None:
    one = suppression_hashes(JOSE, salt=b"a" * 32)
    assert len(one) == 4 and all(len(h) == 64 for h in one)
    assert one != suppression_hashes(JOSE, salt=b"b" * 32)
    assert not any("jose" in h or "9165550143" in h for h in one)
    assert one == tuple(sorted(one))


def test_the_salt_is_made_once_in_the_keyring(memory_keyring: MemoryKeyring) -> None:
    first = suppression_hashes(JOSE)
    salt = memory_keyring.items[("caseapp", SALT_SECRET)]
    assert len(salt) == 64
    assert suppression_hashes(JOSE) == first
    assert memory_keyring.items[("caseapp", SALT_SECRET)] == salt


def test_a_refused_keyring_is_said_plainly(plaintext_keyring: PlaintextKeyring) -> None:
    with pytest.raises(SuppressionUnavailable) as caught:
        suppression_hashes(JOSE)
    assert SALT_SECRET in caught.value.message
    assert "No secure keyring" in caught.value.message
