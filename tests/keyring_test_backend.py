"""TEST ONLY: a keyring backend that keeps secrets in a JSON file, in plain text.

It exists only so that tests can run the ``caseapp`` command in a subprocess with a
keyring that the subprocess and the test both see. Never use it on a real workstation:
it protects nothing. It is chosen only explicitly, by environment variables:

    PYTHON_KEYRING_BACKEND=tests.keyring_test_backend.TestOnlyKeyring
    CASEAPP_TEST_KEYRING_FILE=/tmp/.../keyring.json
    PYTHONPATH=<the repository>          (so that ``tests`` can be imported)

Without ``CASEAPP_TEST_KEYRING_FILE`` the backend is not viable (its priority raises),
so keyring's automatic choice never picks it even where this module was imported.
caseapp.secrets accepts it (its name does not say plaintext and its priority is 1): that
is deliberate, for the tests, and the reason this module lives under tests/ only.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

FILE_VARIABLE = "CASEAPP_TEST_KEYRING_FILE"


class TestOnlyKeyring(KeyringBackend):
    """TEST ONLY (plain-text JSON file named by CASEAPP_TEST_KEYRING_FILE)."""

    __test__ = False  # not a pytest test class, whatever its name

    @properties.classproperty
    def priority(cls) -> float:
        if not os.environ.get(FILE_VARIABLE):
            raise RuntimeError(f"{FILE_VARIABLE} is not set: the test-only keyring is off")
        return 1

    @property
    def path(self) -> Path:
        name = os.environ.get(FILE_VARIABLE)
        if not name:
            raise RuntimeError(f"{FILE_VARIABLE} is not set: the test-only keyring is off")
        return Path(name)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(temp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(service, {}).get(username)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: the test process and the caseapp commands it runs may
        change the file at once (a read-modify-write each; readers need no lock, every
        write is an atomic rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            data = self._read()
            data.setdefault(service, {})[username] = password
            self._write(data)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            data = self._read()
            if username not in data.get(service, {}):
                raise PasswordDeleteError(f"no password for {username!r} in {service!r}")
            del data[service][username]
            self._write(data)
