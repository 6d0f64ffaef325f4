"""``caseapp db check`` / Settings → Database…'s test of an address: what it finds on a
real server, and the warning when this workstation's clock is off the server's (claims'
leases are timed by each workstation's clock)."""

from __future__ import annotations

import pytest

from caseapp.cli import main
from caseapp.services.database_admin import check_database, clock_warning
from tests import pg_server
from tests.conftest import _fresh_postgres_database


@pytest.mark.postgres
def test_a_real_server_is_checked_and_its_clock_compared(
        postgres_server: pg_server.PostgresServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = _fresh_postgres_database(postgres_server.url)
    found = check_database(url)
    assert found.ok and found.server.startswith("PostgreSQL")
    assert found.clock_offset is not None and abs(found.clock_offset) < 5  # one machine
    assert "Warning" not in found.sentence()
    assert main(["--db", url, "db", "check"]) == 0
    printed = capsys.readouterr().out
    assert "Connected to" in printed and "needs caseapp init" in printed


def test_a_clock_minutes_off_is_named_with_what_to_do() -> None:
    assert clock_warning(None) == "" and clock_warning(59.0) == "" and clock_warning(-60) == ""
    behind = clock_warning(200.4)
    assert "3 min 20 s behind the database server's" in behind and "NTP" in behind
    assert "1 min 45 s ahead of the database server's" in clock_warning(-45.2 - 60)
    assert "clock is 4 min behind" in clock_warning(240.2)  # not "4 min 0 s"
    assert "clock is 3 h 5 min ahead of" in clock_warning(-(3 * 3600 + 5 * 60 + 9))
    assert "clock is 1 day behind" in clock_warning(86_400 + 59)
    assert "clock is 2 days 3 h behind" in clock_warning(2 * 86_400 + 3 * 3600 + 7)
