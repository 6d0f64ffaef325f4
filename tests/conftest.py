"""Shared fixtures: a fresh case database per test, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from sqlalchemy import create_engine, text

from caseapp.clock import Clock
from caseapp.services import Desk
from tests import pg_server

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The embedded case databases are encrypted with a key kept in the keyring
# (caseapp.db.cipher): every test process (and the caseapp commands it starts) uses the
# test-only file keyring, one file per process: a pytest-xdist worker inherits the
# controller's environment, so it replaces the controller's file by its own (two workers
# writing one file would lose each other's keys). The folder goes when the process ends.
# Tests of the keyring itself set their own backends over it (tests/keyring_fixtures.py).
# A process a test starts (spawned, importing this module again) keeps its worker's file:
# the file is replaced only where it was made by another pytest process.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "tests.keyring_test_backend.TestOnlyKeyring")
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
if (os.environ.get("CASEAPP_TEST_KEYRING_OWNER") != _worker
        or not os.environ.get("CASEAPP_TEST_KEYRING_FILE")):
    _keyring_folder = tempfile.mkdtemp(prefix=f"caseapp-test-keyring-{_worker}-")
    atexit.register(shutil.rmtree, _keyring_folder, ignore_errors=True)
    os.environ["CASEAPP_TEST_KEYRING_FILE"] = os.path.join(_keyring_folder, "keyring.json")
    os.environ["CASEAPP_TEST_KEYRING_OWNER"] = _worker

# In CI every run explores the same examples, so a red build is reproducible and a green
# one is not luck; locally hypothesis keeps exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
# For investigating a failure quickly: HYPOTHESIS_PROFILE=noshrink (reports it unshrunk).
settings.register_profile("noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI"):
    settings.load_profile("ci")

# A fixed moment (Wednesday 2026-03-04, 15:00 UTC) so that deadlines are reproducible.
FIXED_NOW = datetime(2026, 3, 4, 15, 0, 0)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg_server.PostgresServer]:
    server = pg_server.start()
    yield server
    server.stop()


def _fresh_postgres_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty case database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return _fresh_postgres_database(server.url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cases.sqlite3'}"


@pytest.fixture
def clock() -> Clock:
    return Clock(fixed=FIXED_NOW)


def make_desk(url: str, username: str, clock: Clock, backup_dir: Path) -> Desk:
    desk = Desk(url, username, clock=clock)
    desk.prepare(backup_dir)
    return desk


@pytest.fixture
def desk(database_url: str, clock: Clock, tmp_path: Path) -> Iterator[Desk]:
    """The first user of a new database (so an admin), on both backends."""
    desk = make_desk(database_url, "alice", clock, tmp_path / "backups")
    yield desk
    desk.close()


@pytest.fixture
def sqlite_desk(sqlite_url: str, clock: Clock, tmp_path: Path) -> Iterator[Desk]:
    desk = make_desk(sqlite_url, "alice", clock, tmp_path / "backups")
    yield desk
    desk.close()


@dataclass
class Staff:
    """Three people at one desk: alice (admin), bob (supervisor), carol (agent)."""

    alice: Desk
    bob: Desk
    carol: Desk

    def set_clock(self, clock: Clock) -> None:
        for person in (self.alice, self.bob, self.carol):
            person.set_clock(clock)


@pytest.fixture
def staff(desk: Desk) -> Staff:
    """The ``desk`` fixture (both backends) with a supervisor and an agent added."""
    desk.add_user("bob", "supervisor", "Bob Supervisor")
    desk.add_user("carol", "agent", "Carol Agent")
    return Staff(alice=desk, bob=desk.as_user("bob"), carol=desk.as_user("carol"))

# A private Dovecot on 127.0.0.1 for the IMAP tests: fixtures `dovecot`, `imap_account`.
# Outgoing mail for the letters: a private aiosmtpd (`smtp_server_fixture`, its CA
# `smtp_certificates_fixture`); printing: a private cupsd with a cups-pdf queue (`cups`).
from tests.cups_server import cups  # noqa: E402, F401
from tests.imap_server import dovecot, imap_account  # noqa: E402, F401

# Keyrings: an in-memory secure one (`memory_keyring`) and the refused `plaintext_keyring`.
from tests.keyring_fixtures import memory_keyring, plaintext_keyring  # noqa: E402, F401

# Demo customer systems for the lookup tests: `demo_built` (per module) and `demo` (a copy).
from tests.records_fixtures import demo, demo_built  # noqa: E402, F401
from tests.smtp_server import smtp_certificates_fixture, smtp_server_fixture  # noqa: E402, F401
