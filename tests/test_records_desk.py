"""Record lookup through the desk (SQLite and PostgreSQL case databases) and the command
line: stored proposals and decisions, per-system state, manual systems, audit, the
access report's masking."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from caseapp.cli import main
from caseapp.db.models import AuditEvent, Task
from caseapp.demo import open_planted_cases
from caseapp.errors import NotFound
from caseapp.records.disclosure import MASKED_TEXT
from caseapp.records.sources import parse_sources
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData
from tests.records_fixtures import DemoCopy


@pytest.fixture
def looking(desk: Desk, demo: DemoCopy) -> Desk:
    desk.use_sources(demo.config, demo.data_dir, secret=lambda _name: None)
    return desk


def test_lookup_stores_proposals_state_per_system_and_one_manual_task(
        looking: Desk, demo: DemoCopy) -> None:
    jose_ref, child_ref, robert_ref = open_planted_cases(looking)
    result = looking.lookup(jose_ref)
    assert result.complete and result.new_hits == len(result.hits) > 5
    states = {s.source: s for s in result.sources}
    assert states["customer_db"].outcome == "found"
    assert states["customer_db"].searched_by == "alice"
    assert states["customer_db"].hit_count == len(result.hits)
    assert states["call_recordings"].outcome == "manual_pending"
    jose = next(p for p in demo.built.planted if p.person.first_name == "José")
    main_hit = next(h for h in result.hits
                    if h.table == "customers" and h.record_key == str(jose.customer_id))
    assert main_hit.status == "proposed" and main_hit.score == 100
    assert "exact email" in main_hit.reasons and main_hit.category == "customer_profile"
    assert dict(main_hit.snapshot)["email"] == "jose.nunez@example.com"
    # Searching again keeps the single manual task and adds no hit twice.
    again = looking.lookup(jose_ref)
    assert again.new_hits == 0 and len(again.hits) == len(result.hits)
    tasks = [t for t in looking.get_case(jose_ref).tasks if t.kind == "manual_source"]
    assert len(tasks) == 1 and "Call-center recordings" in tasks[0].title
    # The child case: the child's rows, through the parent's email.
    child = looking.lookup(child_ref)
    emily = next(p for p in demo.built.planted if p.person.first_name == "Emily")
    assert any(h.record_key == str(emily.child_id) and h.via == "parent email"
               for h in child.hits if h.table == "customers")
    assert not any(h.record_key == str(emily.customer_id) for h in child.hits
                   if h.table == "customers")
    robert = looking.lookup(robert_ref)
    assert any("name (nickname)" in h.reasons for h in robert.hits)


def test_decisions_survive_a_new_lookup_and_are_audited_without_personal_data(
        looking: Desk) -> None:
    ref = open_planted_cases(looking)[0]
    hits = looking.lookup(ref).hits
    confirmed = looking.decide_hit(ref, hits[0].id, True)
    rejected = looking.decide_hit(ref, hits[-1].id, False)
    assert (confirmed.status, confirmed.decided_by) == ("confirmed", "alice")
    assert rejected.status == "rejected" and rejected.decided_at is not None
    after = {h.id: h.status for h in looking.lookup(ref).hits}
    assert after[hits[0].id] == "confirmed" and after[hits[-1].id] == "rejected"
    assert {h.id: h.status for h in looking.record_hits(ref)} == after
    with pytest.raises(NotFound):
        looking.decide_hit(ref, 999_999, True)
    with looking.ctx.read() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.case_ref == ref, AuditEvent.action.like("records.%"))).all()
    actions = [e.action for e in events]
    assert actions.count("records.looked_up") == 2
    assert "records.hit_confirmed" in actions and "records.hit_rejected" in actions
    looked = json.loads(next(e.detail for e in events if e.action == "records.looked_up"))
    assert set(looked) == {"sources", "found", "nothing_found", "unreachable",
                           "schema_mismatch", "manual", "hits", "new_hits", "complete"}
    assert all("@" not in e.detail and "555" not in e.detail and "Núñez" not in e.detail
               for e in events)
    assert looking.verify_audit().ok


def test_an_unreachable_system_makes_the_lookup_incomplete_never_nothing_found(
        desk: Desk, demo: DemoCopy) -> None:
    from caseapp.demo import demo_sources_text

    extra = ('\n[sources.warehouse]\nlabel = "Data warehouse"\n'
             'url = "sqlite:///{data_dir}/gone.sqlite3"\n'
             '[sources.warehouse.tables.people]\ncategory = "customer_profile"\n'
             'key = "id"\nidentifiers = { email = "email" }\n'
             'deletion = { mode = "delete_rows" }\n')
    file = demo.data_dir / "with-warehouse.toml"
    file.write_text(demo_sources_text(demo.data_dir) + extra, encoding="utf-8")
    desk.use_sources(file, demo.data_dir, secret=lambda _name: None)
    ref = open_planted_cases(desk)[0]
    result = desk.lookup(ref)
    assert not result.complete and result.unreachable == ("Data warehouse",)
    status = {s.source: s for s in desk.source_status(ref)}
    assert status["warehouse"].outcome == "unreachable" and status["warehouse"].incomplete
    assert "gone.sqlite3" in status["warehouse"].detail
    assert status["customer_db"].outcome == "found"


def test_nothing_found_is_recorded_per_system_and_a_manual_owner_answers(
        looking: Desk) -> None:
    ref = looking.create_case(NewCase(
        channel="email", request_types=("delete",),
        requester=PartyData(name="Nobody Known", email="nobody.known@example.org"))).case.ref
    result = looking.lookup(ref)
    assert result.complete and not result.hits
    status = {s.source: s for s in result.sources}
    assert status["customer_db"].outcome == "nothing_found"
    assert status["customer_db"].outcome_label == "searched, nothing found"
    assert status["call_recordings"].incomplete  # until its owner answers
    task_id = status["call_recordings"].task_id
    views = looking.complete_manual_source(ref, "call_recordings", False, "No recordings.")
    answered = {s.source: s for s in views}["call_recordings"]
    assert answered.outcome == "manual_nothing_found" and not answered.incomplete
    with looking.ctx.read() as session:
        task = session.get(Task, task_id)
        assert task is not None and task.status == "done"
    looking.lookup(ref)  # no new task for an answered system
    assert len([t for t in looking.get_case(ref).tasks if t.kind == "manual_source"]) == 1
    with pytest.raises(NotFound):
        looking.complete_manual_source(ref, "customer_db", True, "")


def test_access_report_groups_confirmed_records_and_masks_what_must_not_be_disclosed(
        desk: Desk, tmp_path: Path) -> None:
    db = tmp_path / "loyalty.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute(
            "CREATE TABLE members (member_id INTEGER PRIMARY KEY, email TEXT, full_name "
            "TEXT, ssn TEXT, drivers_license_no TEXT, password_hash TEXT, loyalty_code "
            "TEXT, favourite_model TEXT)")
        connection.execute("CREATE TABLE points (entry_id INTEGER PRIMARY KEY, member_id "
                           "INTEGER, points INTEGER, card_number TEXT)")
        connection.execute("INSERT INTO members VALUES (7, 'ana@example.com', 'Ana Ruiz', "
                           "'123-45-6789', 'D1234567', 'x$2b$hash', 'LC-99', 'Clubwagon')")
        connection.execute("INSERT INTO points VALUES (1, 7, 1200, '4111111111111111')")
    text = f'''
[sources.loyalty]
label = "Loyalty program"
url = "sqlite:///{db.as_posix()}"
[sources.loyalty.tables.members]
category = "customer_profile"
key = "member_id"
identifiers = {{ email = "email", full_name = "full_name" }}
deletion = {{ mode = "delete_rows" }}
never_disclose = ["loyalty_code"]
[sources.loyalty.tables.points]
category = "marketing_subscriptions"
key = "entry_id"
parent = {{ table = "members", column = "member_id" }}
deletion = {{ mode = "delete_rows" }}
'''
    config = parse_sources(text, tmp_path / "sources.toml")
    assert config.source("loyalty").table("members").never_disclose == ("loyalty_code",)
    desk.use_sources(config, tmp_path, secret=lambda _name: None)
    ref = desk.create_case(NewCase(channel="email", request_types=("access",),
                                   requester=PartyData(name="Ana Ruiz",
                                                       email="ana@example.com"))).case.ref
    hits = desk.lookup(ref).hits
    assert {h.table for h in hits} == {"members", "points"}
    assert "ssn" not in dict(next(h for h in hits if h.table == "members").snapshot)
    for hit in hits:
        desk.decide_hit(ref, hit.id, True)
    report = desk.access_report_data(ref)
    assert report.complete and report.masked_note
    groups = {(g.category, g.source): g for g in report.groups}
    member = groups[("customer_profile", "loyalty")].records[0]
    fields = dict(member.fields)
    assert fields["favourite_model"] == "Clubwagon" and fields["email"] == "ana@example.com"
    for column in ("ssn", "drivers_license_no", "password_hash", "loyalty_code"):
        assert fields[column] == MASKED_TEXT, column
    assert set(member.masked) == {"ssn", "drivers_license_no", "password_hash",
                                  "loyalty_code"}
    points = dict(groups[("marketing_subscriptions", "loyalty")].records[0].fields)
    assert points["points"] == "1200" and points["card_number"] == MASKED_TEXT
    assert "4111" not in json.dumps([g.records for g in report.groups], default=str)


def test_command_line_lookup_decide_and_reindex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["--db", db, "--user", "alice", "init", "--demo", "--cases", "3",
                 "--customers", "300"]) == 0
    out = capsys.readouterr().out
    ref = out.rsplit("Cases whose records exist in the demo systems: ", 1)[1].split(",")[0]
    assert main(["--db", db, "--user", "alice", "lookup", "--reindex"]) == 0
    assert "Customer database: rebuilt" in capsys.readouterr().out
    assert main(["--db", db, "--user", "alice", "lookup", ref, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["complete"] is True
    assert {s["source"]: s["outcome"] for s in shown["sources"]} == {
        "customer_db": "found", "call_recordings": "manual_pending"}
    first = shown["hits"][0]
    assert first["reasons"] and first["status"] == "proposed"
    assert main(["--db", db, "--user", "alice", "lookup", ref, "--confirm",
                 str(first["id"])]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert main(["--db", db, "--user", "alice", "lookup", ref]) == 0
    text = capsys.readouterr().out
    assert "Customer database" in text and "searched, records found" in text
    assert f"#{first['id']}" in text and "confirmed" in text and "Lookup complete" in text
    assert main(["--db", db, "--user", "alice", "lookup", ref, "--reject", "999999"]) == 2
    assert "no record hit 999999" in capsys.readouterr().err


def test_a_case_with_nothing_to_search_by_is_refused_not_reported_as_nothing_found(
        looking: Desk) -> None:
    from caseapp.errors import InvalidInput

    ref = looking.create_case(NewCase(channel="phone", request_types=("delete",),
                                      requester=PartyData(name="Ana Ruiz"))).case.ref
    with pytest.raises(InvalidInput, match="nothing to search by"):
        looking.lookup(ref)
    assert all(s.outcome == "not_searched" for s in looking.source_status(ref))
