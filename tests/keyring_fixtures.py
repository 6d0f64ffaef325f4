"""Keyrings for tests: an in-memory secure one, and the plaintext one the app refuses.

Fixtures ``memory_keyring`` and ``plaintext_keyring`` (registered in conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring for tests. Not viable for keyring's own automatic choice."""

    priority = 20  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]  # only ever set explicitly

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


def _use(monkeypatch: pytest.MonkeyPatch, backend: KeyringBackend) -> None:
    # keyring.set_keyring has no "undo"; patching the module's slot restores it after.
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    _use(monkeypatch, backend)
    yield backend


@pytest.fixture
def plaintext_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PlaintextKeyring:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")
    _use(monkeypatch, backend)
    return backend
