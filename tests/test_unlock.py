"""The unlock passphrase of the screen lock (caseapp.unlock) and its [security] setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseapp import unlock
from caseapp.config import SecuritySettings, load_settings
from caseapp.errors import ConfigError, InvalidInput
from caseapp.secrets import SecretStoreUnavailable
from tests.keyring_fixtures import MemoryKeyring


def test_only_a_salted_slow_hash_is_kept_and_only_the_passphrase_matches(
        memory_keyring: MemoryKeyring) -> None:
    unlock.set_passphrase("alice", "correct horse", "correct horse")
    unlock.set_passphrase("bob", "correct horse", "correct horse")
    stored = memory_keyring.items[("caseapp", "unlock:alice")]
    assert "correct horse" not in stored and stored.startswith("scrypt$")
    assert stored != memory_keyring.items[("caseapp", "unlock:bob")]  # salted
    assert unlock.passphrase_matches("alice", "correct horse")
    assert not unlock.passphrase_matches("alice", "correct horse ")
    assert not unlock.passphrase_matches("carol", "correct horse")  # none set
    assert unlock.has_passphrase("alice") and not unlock.has_passphrase("carol")
    memory_keyring.items[("caseapp", "unlock:alice")] = "garbage"
    assert not unlock.passphrase_matches("alice", "correct horse")
    unlock.forget_passphrase("bob")
    assert not unlock.has_passphrase("bob")


@pytest.mark.parametrize(("typed", "repeated", "problem"), [
    ("short", "short", "at least 6"), ("x" * 201, "x" * 201, "at most 200"),
    ("long enough", "long enougH", "not the same")])
def test_a_weak_or_mistyped_passphrase_is_refused(
        memory_keyring: MemoryKeyring, typed: str, repeated: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        unlock.set_passphrase("alice", typed, repeated)
    assert not unlock.has_passphrase("alice")


def test_a_plaintext_keyring_is_refused(plaintext_keyring: object) -> None:
    with pytest.raises(SecretStoreUnavailable):
        unlock.set_passphrase("alice", "correct horse", "correct horse")


def test_the_security_setting(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text("[security]\nlock_after_minutes = 3\n")
    assert load_settings(file).security == SecuritySettings(lock_after_minutes=3)
    for bad in ("lock_after_minutes = -1", "lock_after_minutes = \"ten\"",
                "lock_after_minutes = true", "lock_after = 3"):
        file.write_text(f"[security]\n{bad}\n")
        with pytest.raises(ConfigError, match=r"\[security\]"):
            load_settings(file)
    file.write_text("")
    assert load_settings(file).security.lock_after_minutes == 10
