"""A shared desk on a PostgreSQL server on "another machine", for real: TLS verified
against the desk's CA file (verify-full, never falling back to clear text), the password
taken from the keyring, the backup's pg_dump on the same terms.

The server (tests/pg_server.start_tls) takes TLS connections with a password only; its
address 127.0.0.2 is no loopback name caseapp knows, so the desk treats it as remote.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from caseapp.clock import Clock
from caseapp.db.postgres import secret_name
from caseapp.errors import DatabaseUnavailable
from caseapp.secrets import delete_secret, store_secret
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from caseapp.services.search import SearchQuery
from tests import pg_server
from tests.certificates import make_certificates
from tests.test_database import assert_readable

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def tls_server() -> Iterator[pg_server.TlsPostgresServer]:
    server = pg_server.start_tls(password=secrets.token_urlsafe(12))
    try:
        yield server
    finally:
        server.server.stop()


@pytest.fixture
def keyring_password(tls_server: pg_server.TlsPostgresServer) -> Iterator[str]:
    """The login's password, kept in the keyring under the desk's name for it."""
    from sqlalchemy.engine import make_url

    name = secret_name(make_url(tls_server.url()))
    store_secret(name, tls_server.password)
    yield name
    delete_secret(name)


def _tls_of(desk: Desk) -> tuple[bool, str]:
    with desk.db.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).one()
    return bool(row[0]), str(row[1])


def test_a_remote_desk_works_over_verified_tls_with_the_keyring_password(
        tls_server: pg_server.TlsPostgresServer, keyring_password: str, clock: Clock,
        tmp_path: Path) -> None:
    url = tls_server.url(sslrootcert=str(tls_server.ca_file))
    assert tls_server.password not in url
    desk = Desk(url, "alice", clock=clock)
    try:
        desk.prepare(tmp_path / "backups")
        desk.create_case(NewCase(channel="email", request_types=("delete",),
                                 requester=PartyData(name="Mara Quist", state="CA")))
        encrypted, version = _tls_of(desk)
        assert encrypted and version.startswith("TLS")
        assert [hit.case.requester_name for hit in desk.search(SearchQuery(text="quist")).hits
                ] == ["Mara Quist"]
        # The backup's pg_dump goes the same way: verified TLS, the keyring's password.
        result = desk.back_up(tmp_path / "desk.backup")
        assert result.path.stat().st_size > 0 and result.manifest.row_counts["cases"] == 1
    finally:
        desk.close()


def test_a_certificate_from_another_ca_is_refused_with_a_clear_message(
        tls_server: pg_server.TlsPostgresServer, keyring_password: str, clock: Clock,
        tmp_path: Path) -> None:
    other_ca = make_certificates(tmp_path / "other")
    desk = Desk(tls_server.url(sslrootcert=str(other_ca)), "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            desk.prepare(tmp_path / "backups")
        assert_readable(raised.value)
        assert "could not be verified" in raised.value.message
        assert tls_server.password not in raised.value.message
    finally:
        desk.close()


def test_without_the_ca_file_the_connection_is_not_made_rather_than_unverified(
        tls_server: pg_server.TlsPostgresServer, keyring_password: str, clock: Clock,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No sslrootcert and none in ~/.postgresql: verify-full cannot verify, so it refuses
    # ("prefer" would have connected without checking who answers).
    monkeypatch.setenv("HOME", str(tmp_path))
    desk = Desk(tls_server.url(), "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            desk.prepare(tmp_path / "backups")
        assert_readable(raised.value)
        assert "could not be verified" in raised.value.message
        assert "root certificate" in raised.value.message
    finally:
        desk.close()


def test_a_name_the_certificate_does_not_hold_is_refused(
        tls_server: pg_server.TlsPostgresServer, clock: Clock, tmp_path: Path) -> None:
    # The certificate names 127.0.0.2 only: reaching the same server as 127.0.0.1 with
    # verify-full fails the host check (a server in the middle would have another name).
    url = (f"postgresql+psycopg://caseapp:{tls_server.password}@127.0.0.1:{tls_server.port}"
           f"/postgres?sslmode=verify-full&sslrootcert={tls_server.ca_file}")
    desk = Desk(url, "alice", clock=clock)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            desk.prepare(tmp_path / "backups")
        assert_readable(raised.value)
        assert "127.0.0.1" in raised.value.message
        assert tls_server.password not in raised.value.message
    finally:
        desk.close()


def test_the_backup_refuses_a_server_it_cannot_verify(
        tls_server: pg_server.TlsPostgresServer, keyring_password: str, clock: Clock,
        tmp_path: Path) -> None:
    url = tls_server.url(sslrootcert=str(tls_server.ca_file))
    desk = Desk(url, "alice", clock=clock)
    try:
        desk.prepare(tmp_path / "backups")
        other_ca = make_certificates(tmp_path / "other")
        # The same desk, its CA file swapped: pg_dump must check it as the desk does.
        tls_server.ca_file.rename(tls_server.ca_file.with_suffix(".kept"))
        other_ca.rename(tls_server.ca_file)
        try:
            with pytest.raises(Exception) as raised:
                desk.back_up(tmp_path / "desk.backup")
            assert "certificate" in str(raised.value)
            assert not (tmp_path / "desk.backup").exists()
        finally:
            tls_server.ca_file.unlink()
            tls_server.ca_file.with_suffix(".kept").rename(tls_server.ca_file)
    finally:
        desk.close()
