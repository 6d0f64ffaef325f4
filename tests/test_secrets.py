"""caseapp.secrets: secrets go to a secure keyring only; plaintext and no-op backends are
refused with a message for staff; keyring failures never surface as tracebacks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring

from caseapp.errors import EnvironmentProblem
from caseapp.secrets import (
    SERVICE,
    SecretStoreUnavailable,
    delete_secret,
    get_secret,
    is_secure_backend,
    keyring_description,
    store_secret,
)
from tests import keyring_test_backend

REPO = Path(__file__).resolve().parent.parent


from tests.keyring_fixtures import MemoryKeyring, _use  # noqa: E402


class LockedKeyring(MemoryKeyring):
    """A secure keyring the user has not unlocked (or refused to unlock)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class BrokenKeyring(MemoryKeyring):
    """A keyring whose D-Bus service died: raises something that is no KeyringError."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise ConnectionError(f"dbus went away while storing {password}")


def test_store_get_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    assert get_secret("imap:privacy@mail.example.com") is None
    store_secret("imap:privacy@mail.example.com", "s3cret pass")
    assert get_secret("imap:privacy@mail.example.com") == "s3cret pass"
    assert memory_keyring.items == {(SERVICE, "imap:privacy@mail.example.com"): "s3cret pass"}
    store_secret("imap:privacy@mail.example.com", "changed")
    assert get_secret("imap:privacy@mail.example.com") == "changed"
    delete_secret("imap:privacy@mail.example.com")
    assert get_secret("imap:privacy@mail.example.com") is None
    delete_secret("imap:privacy@mail.example.com")  # nothing there: no error
    assert SERVICE == "caseapp"
    assert keyring_description() == "MemoryKeyring"


def test_plaintext_keyring_is_refused_and_writes_nothing(
    plaintext_keyring: PlaintextKeyring,
) -> None:
    with pytest.raises(SecretStoreUnavailable) as caught:
        store_secret("imap:privacy@mail.example.com", "s3cret")
    message = caught.value.message
    assert message.startswith(
        "No secure keyring is available on this workstation (found: PlaintextKeyring)")
    assert "the password was not stored" in message
    assert "Install/unlock the desktop keyring" in message
    assert "s3cret" not in message
    assert not Path(plaintext_keyring.file_path).exists()
    assert isinstance(caught.value, EnvironmentProblem)
    with pytest.raises(SecretStoreUnavailable, match="could not be read"):
        get_secret("imap:privacy@mail.example.com")
    with pytest.raises(SecretStoreUnavailable, match="not removed"):
        delete_secret("imap:privacy@mail.example.com")


@pytest.mark.parametrize("backend_class", [keyring.backends.fail.Keyring,
                                           keyring.backends.null.Keyring])
def test_fail_and_null_backends_are_refused(
    monkeypatch: pytest.MonkeyPatch, backend_class: type[KeyringBackend]
) -> None:
    _use(monkeypatch, backend_class())
    expected = f"found: {backend_class.__module__}.{backend_class.__name__}"
    with pytest.raises(SecretStoreUnavailable, match=re.escape(expected)):
        store_secret("imap:a@b", "pw")


def test_low_priority_and_plaintext_named_backends_are_refused() -> None:
    class WeakKeyring(MemoryKeyring):
        priority = 0.9  # type: ignore[assignment]

    class MyPlaintextStore(MemoryKeyring):
        pass

    assert not is_secure_backend(WeakKeyring())
    assert not is_secure_backend(MyPlaintextStore())
    assert not is_secure_backend(PlaintextKeyring())
    assert is_secure_backend(MemoryKeyring())
    with pytest.raises(SecretStoreUnavailable, match="found: WeakKeyring"):
        store_secret("imap:a@b", "pw", backend=WeakKeyring())


def _chain(*members: KeyringBackend) -> keyring.backends.chainer.ChainerBackend:
    class Chain(keyring.backends.chainer.ChainerBackend):
        viable = False  # type: ignore[assignment]
        backends = tuple(members)  # type: ignore[assignment]

    return Chain()


def test_chainer_of_only_plaintext_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "keyring_pass.cfg")
    _use(monkeypatch, _chain(plain, keyring.backends.fail.Keyring()))
    found = "found: PlaintextKeyring, keyring.backends.fail.Keyring"
    with pytest.raises(SecretStoreUnavailable, match=re.escape(found)):
        store_secret("imap:a@b", "pw")
    assert not (tmp_path / "keyring_pass.cfg").exists()


def test_chainer_with_a_secure_member_uses_only_that_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "keyring_pass.cfg")
    broken = BrokenKeyring()
    _use(monkeypatch, _chain(broken, plain))
    # The secure member fails: the chain must not fall through to the plaintext file.
    with pytest.raises(SecretStoreUnavailable, match="not stored"):
        store_secret("imap:a@b", "pw")
    assert not (tmp_path / "keyring_pass.cfg").exists()
    memory = MemoryKeyring()
    _use(monkeypatch, _chain(plain, memory))
    store_secret("imap:a@b", "pw")
    assert memory.items == {(SERVICE, "imap:a@b"): "pw"}
    assert not (tmp_path / "keyring_pass.cfg").exists()


def test_locked_keyring_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, LockedKeyring())
    with pytest.raises(SecretStoreUnavailable) as caught:
        store_secret("imap:a@b", "pw")
    assert "the keyring is locked" in caught.value.message
    assert "not stored" in caught.value.message
    with pytest.raises(SecretStoreUnavailable, match="locked"):
        get_secret("imap:a@b")


def test_other_keyring_failures_never_leak_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, BrokenKeyring())
    with pytest.raises(SecretStoreUnavailable) as caught:
        store_secret("imap:a@b", "hunter2-secret")
    assert "ConnectionError" in caught.value.message
    assert "hunter2-secret" not in caught.value.message
    assert "***" in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_backend_that_cannot_be_loaded_gives_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cannot_load() -> KeyringBackend:
        raise keyring.errors.InitError("no such backend module")

    monkeypatch.setattr(keyring, "get_keyring", cannot_load)
    with pytest.raises(SecretStoreUnavailable, match=r"could not be opened.*InitError"):
        get_secret("imap:a@b")


def test_the_test_only_file_backend_is_off_without_its_file_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(keyring_test_backend.FILE_VARIABLE, raising=False)
    assert not keyring_test_backend.TestOnlyKeyring.viable


def test_the_test_only_file_backend_works_across_processes(tmp_path: Path) -> None:
    """How CLI tests will use it: chosen by environment variables in a subprocess."""
    store = tmp_path / "keyring.json"
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.keyring_test_backend.TestOnlyKeyring",
        keyring_test_backend.FILE_VARIABLE: str(store),
        "PYTHONPATH": str(REPO),
    }
    script = (
        "import sys\n"
        "from caseapp.secrets import get_secret, keyring_description, store_secret\n"
        "if sys.argv[1] == 'store':\n"
        "    store_secret('imap:privacy@127.0.0.1', 'pw from child')\n"
        "print(keyring_description(), get_secret('imap:privacy@127.0.0.1'))\n"
    )
    first = subprocess.run([sys.executable, "-c", script, "store"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "TestOnlyKeyring pw from child"
    second = subprocess.run([sys.executable, "-c", script, "read"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert second.stdout.strip() == "TestOnlyKeyring pw from child", second.stderr
    assert store.exists()
