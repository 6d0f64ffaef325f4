"""Claims with leases: two people never answer the same case (both backends)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseapp import cli
from caseapp.config import DatabaseSettings, load_settings, save_settings
from caseapp.db.engine import Database
from caseapp.db.migrate import _config, current_revision
from caseapp.db.sharing import Mount, mount_of, network_mount, parse_mounts, refuse_network_share
from caseapp.errors import ConfigError, DatabaseUnavailable, PermissionDenied, StaleEdit
from caseapp.services import Desk
from caseapp.services.cases import EditConflict
from caseapp.services.claims import ClaimHeld, lease_of
from caseapp.services.dto import CaseQuery, NewCase, PartyData, StepRequest
from tests.conftest import FIXED_NOW, Staff


def new_case(desk: Desk, name: str = "Ana Ruiz") -> str:
    return desk.create_case(NewCase(channel="phone", request_types=("delete",),
                                    requester=PartyData(name=name, state="CA"))).case.ref


def test_a_claimed_case_refuses_anyone_else_and_names_the_holder(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.alice.add_user("dave", "agent", "Dave Agent")
    dave = staff.alice.as_user("dave")
    claimed = staff.carol.claim_case(ref)
    assert claimed.mine and claimed.claim is not None and claimed.claim.holder == "carol"
    # 15:00 UTC is 10:00 at the desk (New York): what staff read.
    with pytest.raises(ClaimHeld, match="Held by carol since 10:00") as refused:
        dave.take_step(ref, StepRequest("acknowledge"))
    assert "until 10:15" in refused.value.message
    with pytest.raises(ClaimHeld):
        dave.claim_case(ref)
    # Nothing happened: still received, still carol's.
    shown = dave.get_case(ref)
    assert shown.status == "received"
    assert shown.claim is not None and shown.claim.holder == "carol" and shown.claim.live
    # The holder answers; others see who and since when, in the list too.
    staff.carol.take_step(ref, StepRequest("acknowledge"))
    row = dave.list_cases(CaseQuery(view="all")).rows[0]
    assert row.claimed_by == "carol" and row.claimed_since == FIXED_NOW


def test_the_first_action_claims_an_unclaimed_case(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.carol.take_step(ref, StepRequest("acknowledge"))
    detail = staff.carol.get_case(ref)
    assert detail.claim is not None and detail.claim.holder == "carol"
    # Recorded in the step's own audit event, not as one of its own.
    assert [h.action for h in detail.history] == ["case.created", "case.step"]
    staff.alice.add_user("dave", "agent")
    with pytest.raises(ClaimHeld):
        staff.alice.as_user("dave").take_step(ref, StepRequest("start_verification"))


def test_a_lease_from_a_crashed_workstation_expires(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.carol.claim_case(ref)
    staff.alice.add_user("dave", "agent")
    dave = staff.alice.as_user("dave")
    staff.set_clock(staff.alice.clock.advanced(timedelta(minutes=14)))
    dave.set_clock(staff.alice.clock)
    with pytest.raises(ClaimHeld):
        dave.claim_case(ref)
    staff.set_clock(staff.alice.clock.advanced(timedelta(minutes=2)))  # 16 min: lapsed
    dave.set_clock(staff.alice.clock)
    lapsed = dave.get_case(ref).claim
    assert lapsed is not None and not lapsed.live
    taken = dave.take_step(ref, StepRequest("acknowledge")).case.claim
    assert taken is not None and taken.holder == "dave" and taken.live
    # Carol's window renews: the case went to dave, she does not take it back.
    renewed = staff.carol.renew_claim(ref)
    assert not renewed.mine and renewed.claim is not None and renewed.claim.holder == "dave"


def test_the_window_renews_and_releases(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.carol.claim_case(ref)
    staff.set_clock(staff.alice.clock.advanced(timedelta(minutes=10)))
    renewed = staff.carol.renew_claim(ref)
    assert renewed.mine and renewed.claim is not None
    assert renewed.claim.since == FIXED_NOW  # still since when it was taken
    assert renewed.claim.until == FIXED_NOW + timedelta(minutes=25)
    assert staff.carol.my_claims() == (ref,)
    # Someone else cannot release it.
    assert not staff.bob.release_claim(ref).changed
    assert staff.carol.release_my_claims() == (ref,)
    assert staff.carol.get_case(ref).claim is None
    history = [h.action for h in staff.carol.get_case(ref).history]
    assert history == ["case.created", "case.claimed", "case.released"]  # renewal hidden


def test_a_supervisor_takes_over_an_agent_may_not(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.alice.add_user("dave", "agent")
    staff.carol.claim_case(ref)
    with pytest.raises(PermissionDenied):
        staff.alice.as_user("dave").take_over_claim(ref)
    taken = staff.bob.take_over_claim(ref)
    assert taken.claim is not None and taken.claim.holder == "bob"
    last = staff.bob.get_case(ref).history[-1]
    assert last.action == "case.claim_taken_over" and last.actor == "bob"
    assert "carol" in last.summary
    with pytest.raises(ClaimHeld, match="Held by bob"):
        staff.carol.take_step(ref, StepRequest("acknowledge"))
    assert staff.alice.verify_audit().ok


def test_submitting_for_review_hands_the_case_on(staff: Staff) -> None:
    ref = new_case(staff.carol)
    for step in ("acknowledge", "start_verification"):
        staff.carol.take_step(ref, StepRequest(step))
    staff.carol.take_step(ref, StepRequest("verify", method="email_match"))
    submitted = staff.carol.take_step(ref, StepRequest("submit_for_review")).case
    assert submitted.claim is None  # the reviewer may take it
    staff.alice.add_user("dave", "agent")
    returned = staff.alice.as_user("dave").take_step(
        ref, StepRequest("return_to_work", reason="Check the dealer")).case
    assert returned.claim is None
    assert staff.carol.take_step(ref, StepRequest("submit_for_review")).case.claim is None


def test_edits_are_not_claim_guarded_but_never_overwrite(staff: Staff) -> None:
    ref = new_case(staff.carol)
    staff.carol.claim_case(ref)
    opened = staff.bob.get_case(ref).version
    staff.carol.update_case(ref, opened, priority="high")
    with pytest.raises(EditConflict) as stale:
        staff.bob.update_case(ref, opened, summary="Called back", language="es")
    conflict = stale.value
    assert isinstance(conflict, StaleEdit) and conflict.expected_version == opened
    assert conflict.current.priority == "high" and conflict.current.version > opened
    assert "changed by carol" in conflict.message
    # Applied on top of the new version, nothing of carol's is lost.
    merged = staff.bob.update_case(ref, conflict.current.version, summary="Called back")
    assert merged.case.priority == "high" and merged.case.summary == "Called back"


def test_the_command_line_claims_shows_and_releases(staff: Staff, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    ref = new_case(staff.carol)
    url = staff.alice.db.url
    assert cli.main(["--db", url, "--user", "carol", "cases", "claim", ref]) == 0
    assert f"{ref}: Held by carol since" in capsys.readouterr().out
    assert cli.main(["--db", url, "--user", "alice", "cases", "show", ref]) == 0
    assert "working on it: Held by carol since" in capsys.readouterr().out
    assert cli.main(["--db", url, "--user", "alice", "cases", "show", ref, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["claim"]["by"] == "carol" and shown["claim"]["live"] is True
    assert cli.main(["--db", url, "--user", "bob", "cases", "step", ref,
                     "acknowledge"]) == 0  # a supervisor acting takes it over
    capsys.readouterr()
    assert cli.main(["--db", url, "--user", "carol", "cases", "step", ref,
                     "start_verification"]) == 2
    assert "Held by bob since" in capsys.readouterr().err
    assert cli.main(["--db", url, "--user", "bob", "cases", "release", ref]) == 0
    assert f"{ref}: nobody" in capsys.readouterr().out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["carol", "dave", "bob"]),
                                st.sampled_from(["claim", "release", "renew", "wait"])),
                      max_size=12))
def test_at_most_one_live_holder_whatever_happens(sqlite_desk: Desk,
                                                  steps: list[tuple[str, str]]) -> None:
    desk = sqlite_desk
    for name, role in (("carol", "agent"), ("dave", "agent"), ("bob", "supervisor")):
        if name not in {u.username for u in desk.list_users()}:
            desk.add_user(name, role)
    ref = new_case(desk)
    people = {name: desk.as_user(name) for name in ("carol", "dave", "bob")}
    clock = desk.clock
    for name, what in steps:
        for person in people.values():
            person.set_clock(clock)
        before = desk.get_case(ref).claim
        try:
            if what == "claim":
                people[name].claim_case(ref)
            elif what == "release":
                people[name].release_claim(ref)
            elif what == "renew":
                people[name].renew_claim(ref)
            else:
                clock = clock.advanced(timedelta(minutes=9))
        except ClaimHeld:
            assert before is not None and before.live and before.holder != name
        after = people[name].get_case(ref).claim
        if what == "claim" and (before is None or not before.live or before.holder == name):
            assert after is not None and after.holder == name and after.live
    assert desk.verify_audit().ok


def test_the_lease_comes_from_the_settings(tmp_path: Path) -> None:
    assert lease_of(None) == timedelta(minutes=15)
    assert lease_of(5) == timedelta(minutes=5)
    with pytest.raises(ConfigError):
        DatabaseSettings(claim_minutes=0)
    file = tmp_path / "settings.toml"
    file.write_text('database_url = "postgresql+psycopg://desk@db.example.com/privacy"\n'
                    '[database]\nclaim_minutes = 20\nsslrootcert = "/etc/ca.pem"\n')
    loaded = load_settings(file)
    assert loaded.database.claim_minutes == 20
    assert loaded.effective_database_url == (
        "postgresql+psycopg://desk@db.example.com/privacy?sslrootcert=%2Fetc%2Fca.pem")
    save_settings(loaded, file)
    assert load_settings(file).database == loaded.database
    file.write_text('database_url = "postgresql+psycopg://desk:s3cret@db.example.com/p"\n')
    with pytest.raises(ConfigError, match="holds a password"):
        load_settings(file)


# --- the migration --------------------------------------------------------------------

def test_migration_0012_adds_the_claim_columns_and_goes_back(database_url: str,
                                                             tmp_path: Path) -> None:
    db = Database(database_url)
    config = _config()
    try:
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0011")
        assert current_revision(db) == "0011"
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
            connection.exec_driver_sql(
                "INSERT INTO users (username, display_name, role, active, created_at) "
                "VALUES ('carol', 'Carol', 'agent', true, '2026-01-01 00:00:00')")
            command.downgrade(config, "0011")
            command.upgrade(config, "0012")
            names = connection.exec_driver_sql(
                "SELECT claimed_by, claimed_at, claim_expires_at FROM cases").keys()
        assert list(names) == ["claimed_by", "claimed_at", "claim_expires_at"]
    finally:
        db.dispose()


# --- a SQLite file on a network share ----------------------------------------------------

MOUNTS = r"""
/dev/sda1 / ext4 rw,relatime 0 0
server:/export/desk /mnt/desk nfs4 rw,relatime 0 0
//files/privacy\040team /mnt/privacy\040team cifs rw 0 0
alice@host:/data /home/alice/remote fuse.sshfs rw 0 0
tmpfs /mnt/desk/local tmpfs rw 0 0
"""


def test_the_mount_of_a_folder_is_the_longest_above_it() -> None:
    mounts = parse_mounts(MOUNTS)
    assert mount_of(Path("/mnt/desk/cases"), mounts) == Mount(Path("/mnt/desk"), "nfs4",
                                                                 "server:/export/desk")
    assert mount_of(Path("/mnt/desk/local/x"), mounts).fstype == "tmpfs"  # type: ignore[union-attr]
    team = mount_of(Path("/mnt/privacy team/2026"), mounts)
    assert team is not None and team.is_network and team.source == "//files/privacy team"
    assert not mount_of(Path("/home/alice"), mounts).is_network  # type: ignore[union-attr]
    assert mount_of(Path("/home/alice/remote/db"), mounts).is_network  # type: ignore[union-attr]


def test_a_sqlite_file_on_a_network_share_is_refused_and_says_why(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/x {tmp_path} nfs4 rw 0 0\n")
    url = f"sqlite:///{tmp_path / 'desk' / 'cases.sqlite3'}"
    with pytest.raises(DatabaseUnavailable, match=r"network share \(nfs4") as refused:
        refuse_network_share(url, mounts)
    assert "PostgreSQL" in refused.value.message
    assert not (tmp_path / "desk").exists()  # nothing was created there
    refuse_network_share("postgresql+psycopg://desk@db.example.com/privacy", mounts)
    # This machine's real mount table: the test folder is local.
    assert network_mount(tmp_path / "cases.sqlite3") is None
