"""Acting on confirmed records in the demo customer systems (SQLite): the preview lists
exactly what execution changes, retention keeps what the law says and says why, child
rows go first, de-identification, corrections, opt-outs and stop-sharing touch exactly
their columns of exactly the confirmed rows, a broken system fails alone, re-runs change
nothing more, and verification re-reads it all."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseapp.errors import InvalidInput
from caseapp.records.action_model import ActionPlan, ActionProgress, ActionResult
from caseapp.records.actions import (
    ActionRequest,
    Target,
    execute,
    preview,
    verify,
)
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems, build_demo_systems
from caseapp.records.sources import SourcesConfig, load_sources, parse_sources
from caseapp.resources import resources_dir
from tests.records_dump import allowed_cells, diff, dump_sqlite, planned_cells, without

EXAMPLE = (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")


def no_secret(_name: str) -> str | None:
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSystems:
    return build_demo_systems(tmp_path_factory.mktemp("demo") / DEMO_DB_NAME, customers=400)


@dataclass
class Systems:
    data_dir: Path
    db: Path
    config: SourcesConfig
    demo: DemoSystems

    def sql(self, statement: str, *args: object) -> list[tuple[object, ...]]:
        connection = sqlite3.connect(self.db)
        try:
            with connection:
                return list(connection.execute(statement, args))
        finally:
            connection.close()

    def ids(self, statement: str, *args: object) -> list[str]:
        return [str(row[0]) for row in self.sql(statement, *args)]


@pytest.fixture
def systems(demo: DemoSystems, tmp_path: Path) -> Systems:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(demo.path, data_dir / DEMO_DB_NAME)
    config = load_sources(resources_dir() / "sources.example.toml")
    return Systems(data_dir, data_dir / DEMO_DB_NAME, config, demo)


def request(kind: str, *targets: tuple[str, str], source: str = "customer_db",
            corrections: dict[str, str] | None = None, token: str = "action-1") -> ActionRequest:
    return ActionRequest(kind=kind,  # type: ignore[arg-type]
                         targets=tuple(Target(source, table, key) for table, key in targets),
                         corrections=corrections or {}, case_ref="PR-2026-00042", token=token)


def run(systems: Systems, action: ActionRequest | ActionPlan) -> ActionResult:
    return execute(systems.config, action, systems.data_dir, secret=no_secret)


def previewed_and_done(systems: Systems, action: ActionRequest
                       ) -> tuple[ActionPlan, ActionResult]:
    """Preview, execute the approved preview, and check: the database changed in exactly
    the cells the preview listed, and verification passes."""
    before = dump_sqlite(systems.db)
    plan = preview(systems.config, action, systems.data_dir, secret=no_secret)
    assert dump_sqlite(systems.db) == before, "a preview changed something"
    result = run(systems, plan)
    assert diff(before, dump_sqlite(systems.db)) == planned_cells(plan)
    checked = verify(systems.config, result, systems.data_dir, secret=no_secret)
    assert checked.ok, checked
    return plan, result


def planted(systems: Systems) -> tuple[str, str]:
    person = systems.demo.planted[0]
    return str(person.customer_id), str(person.duplicate_id)


# --- delete -------------------------------------------------------------------------------


def test_delete_does_exactly_what_the_preview_lists(systems: Systems) -> None:
    jose, duplicate = planted(systems)
    lead = systems.ids("SELECT lead_id FROM dealer_leads WHERE contact_email = ?",
                       "jose.nunez@example.com")
    assert lead
    plan, result = previewed_and_done(systems, request(
        "delete", ("customers", jose), ("customers", duplicate),
        *(("dealer_leads", key) for key in lead)))
    tables = {t.table: t for t in plan.source("customer_db").tables}
    # Profiles de-identified, children of both profiles follow, the lead goes too.
    assert {c.key for c in tables["customers"].changes} == {jose, duplicate}
    assert {c.via for c in tables["email_subscriptions"].changes} <= {
        f"customers {jose}", f"customers {duplicate}"}
    assert tables["email_subscriptions"].changes and tables["affiliate_shares"].changes
    assert [c.key for c in tables["dealer_leads"].changes] == lead
    outcome = result.source("customer_db")
    assert outcome.state == "done" and outcome.started_at and outcome.finished_at
    # Who to tell: the email service, the affiliates (by name) and the dealer.
    notices = {n.table: n for n in outcome.notices}
    assert [r.key for r in notices["affiliate_shares"].recipients] == [
        "brand_financial", "brand_insurance"]
    assert notices["affiliate_shares"].named == ("Brand Financial Services",)
    assert notices["dealer_leads"].named and notices["email_subscriptions"].recipients


def test_retention_keeps_warranty_records_and_says_why(systems: Systems) -> None:
    jose, _ = planted(systems)
    warranty = systems.ids("SELECT warranty_id FROM warranty_records WHERE customer_id = ?",
                           int(jose))
    assert warranty
    plan, result = previewed_and_done(systems, request("delete", ("customers", jose)))
    kept = {t.table: t.kept for t in plan.source("customer_db").tables}
    assert [k.key for k in kept["warranty_records"]] == warranty
    reason = kept["warranty_records"][0]
    assert reason.exception == "federal_warranty_recall"
    assert "49 CFR Part 576" in reason.legal_basis and "recall" in reason.reason
    assert reason.via == f"customers {jose}"
    assert systems.ids("SELECT warranty_id FROM warranty_records WHERE customer_id = ?",
                       int(jose)) == warranty
    outcome = {t.table: t for t in result.source("customer_db").tables}
    assert outcome["warranty_records"].kept == kept["warranty_records"]


def test_a_customer_with_open_financing_is_kept_with_everything_below(
        systems: Systems) -> None:
    customer = systems.ids("SELECT customer_id FROM customers WHERE has_open_financing = 1 "
                           "ORDER BY customer_id LIMIT 1")[0]
    before = dump_sqlite(systems.db)
    plan, result = previewed_and_done(systems, request("delete", ("customers", customer)))
    customers = plan.source("customer_db").tables[0]
    assert [k.exception for k in customers.kept] == ["open_financing"]
    assert "Gramm-Leach-Bliley" in customers.kept[0].legal_basis
    assert plan.source("customer_db").rows_to_change == 0
    assert dump_sqlite(systems.db) == before
    assert result.source("customer_db").state == "nothing_to_do"


def test_deidentify_sets_exactly_the_configured_columns(systems: Systems) -> None:
    jose, _ = planted(systems)
    before = dump_sqlite(systems.db)
    _, result = previewed_and_done(systems, request("delete", ("customers", jose)))
    changed = {(t, c) for t, key, c in diff(before, dump_sqlite(systems.db))
               if t == "customers"}
    deletion = systems.config.source("customer_db").table("customers").deletion
    configured = set(deletion.columns)  # type: ignore[union-attr]
    assert {c for _, c in changed} <= configured
    row = systems.sql("SELECT customer_no, email, phone, first_name, last_name, created_at "
                      "FROM customers WHERE customer_id = ?", int(jose))[0]
    assert row[:5] == (None, None, None, "DELETED", "DELETED") and row[5]
    customers = result.source("customer_db").tables[0]
    assert customers.set_values["first_name"] == "DELETED"


def test_running_twice_changes_nothing_more_and_says_already_done(systems: Systems) -> None:
    jose, duplicate = planted(systems)
    action = request("delete", ("customers", jose), ("customers", duplicate),
                     ("third_party_profiles", "1"))
    first = run(systems, action)
    assert first.source("customer_db").state == "done"
    after_first = dump_sqlite(systems.db)
    second = run(systems, action)
    assert dump_sqlite(systems.db) == after_first
    again = second.source("customer_db")
    assert again.state == "already_done" and again.rows_changed == 0
    tables = {t.table: t for t in again.tables}
    assert set(tables["customers"].already_done) == {jose, duplicate}
    assert tables["third_party_profiles"].already_done == ("1",)
    assert verify(systems.config, second, systems.data_dir, secret=no_secret).ok
    assert verify(systems.config, first, systems.data_dir, secret=no_secret).ok


def test_an_approved_preview_is_refused_when_the_records_changed_since(
        systems: Systems) -> None:
    jose, _ = planted(systems)
    plan = preview(systems.config, request("delete", ("customers", jose)), systems.data_dir,
                   secret=no_secret)
    systems.sql("INSERT INTO email_subscriptions (customer_id, email, list_name, "
                "subscribed_at) VALUES (?, 'jose.nunez@example.com', 'Owner news', "
                "'2026-03-02')", int(jose))
    before = dump_sqlite(systems.db)
    result = run(systems, plan)
    refused = result.source("customer_db")
    assert refused.state == "refused" and "preview and approve again" in refused.problem
    assert dump_sqlite(systems.db) == before
    assert not verify(systems.config, result, systems.data_dir, secret=no_secret).ok
    # Previewed again, it runs.
    previewed_and_done(systems, request("delete", ("customers", jose)))


def test_verify_notices_a_row_that_came_back_or_was_touched(systems: Systems) -> None:
    jose, _ = planted(systems)
    _, result = previewed_and_done(systems, request("delete", ("customers", jose)))
    systems.sql("UPDATE customers SET email = 'back@example.com' WHERE customer_id = ?",
                int(jose))
    systems.sql("UPDATE customers SET created_at = '2000-01-01' WHERE customer_id = ?",
                int(jose))
    systems.sql("UPDATE warranty_records SET claims = claims + 1 WHERE customer_id = ?",
                int(jose))
    checked = verify(systems.config, result, systems.data_dir, secret=no_secret)
    assert not checked.ok
    problems = " | ".join(checked.sources[0].problems)
    assert f"row {jose}: email not as set" in problems
    assert f"row {jose}: other columns changed" in problems
    assert "kept row" in problems and "changed" in problems


# --- correct, opt-out, stop sharing ---------------------------------------------------------


def test_correct_changes_only_the_confirmed_rows_mapped_columns(systems: Systems) -> None:
    jose, duplicate = planted(systems)
    lead = systems.ids("SELECT lead_id FROM dealer_leads WHERE contact_email = ?",
                       "jose.nunez@example.com")
    before = dump_sqlite(systems.db)
    plan, result = previewed_and_done(systems, request(
        "correct", ("customers", jose), *(("dealer_leads", key) for key in lead),
        corrections={"email": "  Jose.Nunez@Example.ORG ", "phone": "916 555 0199",
                     "last_name": "Núñez  García"}))
    tables = {t.table: t for t in plan.source("customer_db").tables}
    change = tables["customers"].changes[0]
    assert {c.column: (c.before, c.after) for c in change.columns} == {
        "email": ("jose.nunez@example.com", "jose.nunez@example.org"),
        "phone": ("(916) 555-0143", "+19165550199"),
        "last_name": ("Núñez", "Núñez García")}
    assert tables["dealer_leads"].set_values == {"contact_email": "jose.nunez@example.org",
                                                 "contact_phone": "+19165550199"}
    assert set(tables) == {"customers", "dealer_leads"}  # no child follows a correction
    cells = diff(before, dump_sqlite(systems.db))
    assert {(t, k) for t, k, _ in cells} == {("customers", jose),
                                             *(("dealer_leads", k) for k in lead)}
    assert duplicate not in {k for _, k, _ in cells}
    assert result.source("customer_db").notices[0].table == "dealer_leads"


def test_corrections_are_checked(systems: Systems) -> None:
    jose, _ = planted(systems)
    with pytest.raises(InvalidInput, match="not a valid email"):
        preview(systems.config, request("correct", ("customers", jose),
                                        corrections={"email": "not an address"}),
                systems.data_dir, secret=no_secret)
    with pytest.raises(InvalidInput, match="only identifiers can be corrected"):
        preview(systems.config, request("correct", ("customers", jose),
                                        corrections={"has_open_financing": "0"}),
                systems.data_dir, secret=no_secret)
    with pytest.raises(InvalidInput, match="Only a correction"):
        preview(systems.config, request("delete", ("customers", jose),
                                        corrections={"email": "a@example.com"}),
                systems.data_dir, secret=no_secret)
    with pytest.raises(InvalidInput, match="by hand"):
        preview(systems.config, request("delete", ("x", "1"), source="call_recordings"),
                systems.data_dir, secret=no_secret)
    # The key column is never rewritten, even when it is also an identifier column.
    plan = preview(systems.config, request("correct", ("address_history", "1"),
                                           corrections={"customer_id": "CU-1"}),
                   systems.data_dir, secret=no_secret)
    assert plan.sources[0].tables[0].operation == "none"
    assert "none of the corrected identifiers" in plan.sources[0].tables[0].note


def test_opt_out_sets_the_unsubscribe_and_suppression_flags(systems: Systems) -> None:
    jose, _ = planted(systems)
    profile = systems.ids("SELECT profile_id FROM third_party_profiles ORDER BY profile_id "
                          "LIMIT 1")[0]
    plan, result = previewed_and_done(systems, request(
        "opt_out", ("customers", jose), ("third_party_profiles", profile)))
    tables = {t.table: t for t in plan.source("customer_db").tables}
    assert "no opt-out flag" in tables["customers"].note
    assert tables["customers"].unchanged == (jose,)
    assert tables["email_subscriptions"].set_values == {"unsubscribed": 1}
    assert tables["third_party_profiles"].set_values == {"suppressed": 1}
    assert systems.sql("SELECT unsubscribed FROM email_subscriptions WHERE customer_id = ?",
                       int(jose)) == [(1,)]
    assert systems.sql("SELECT suppressed FROM third_party_profiles WHERE profile_id = ?",
                       int(profile)) == [(1,)]
    # Tables without a flag below the profile are not listed at all.
    assert "saved_configurations" not in {t.table for t in plan.source("customer_db").tables
                                          if t.changes or t.unchanged}
    assert run(systems, plan).source("customer_db").state == "already_done"
    assert result.complete


def test_stop_sharing_flags_shares_where_mapped_and_names_the_recipients(
        systems: Systems, tmp_path: Path) -> None:
    jose, _ = planted(systems)
    plan, result = previewed_and_done(systems, request("stop_sharing", ("customers", jose)))
    shares = {t.table: t for t in plan.source("customer_db").tables}["affiliate_shares"]
    assert shares.operation == "none" and shares.unchanged and "told" in shares.note
    notice = {n.table: n for n in result.source("customer_db").notices}["affiliate_shares"]
    assert notice.named == ("Brand Financial Services",)
    # With a flag column mapped, the share rows are marked.
    systems.sql("ALTER TABLE affiliate_shares ADD COLUMN do_not_share INTEGER NOT NULL "
                "DEFAULT 0")
    text = EXAMPLE.replace('recipient_column = "affiliate_name"',
                           'recipient_column = "affiliate_name"\n'
                           'stop_sharing = { column = "do_not_share", value = 1 }')
    systems.config = parse_sources(text, tmp_path / "sources.toml")
    plan, _ = previewed_and_done(systems, request("stop_sharing", ("customers", jose)))
    shares = {t.table: t for t in plan.source("customer_db").tables}["affiliate_shares"]
    assert shares.set_values == {"do_not_share": 1} and shares.changes


# --- failures -------------------------------------------------------------------------------


def two_systems(systems: Systems, tmp_path: Path, second_file: str) -> SourcesConfig:
    section = EXAMPLE[EXAMPLE.index("[sources.customer_db]"):
                      EXAMPLE.index("# --- a system searched by hand")]
    second = (section.replace("sources.customer_db", "sources.archive_db")
              .replace('label = "Customer database"', 'label = "Customer archive"')
              .replace(DEMO_DB_NAME, second_file))
    return parse_sources(EXAMPLE + "\n" + second, tmp_path / "sources.toml")


def test_an_unreachable_system_is_reported_by_name_while_the_others_run(
        systems: Systems, tmp_path: Path) -> None:
    systems.config = two_systems(systems, tmp_path, "missing.sqlite3")
    jose, _ = planted(systems)
    action = request("delete", ("customers", jose))
    action = ActionRequest(kind="delete", targets=(
        Target("archive_db", "customers", jose), *action.targets), case_ref="PR-1", token="t")
    plan = preview(systems.config, action, systems.data_dir, secret=no_secret)
    assert plan.source("archive_db").state == "unreachable"
    assert "Customer archive" in plan.source("archive_db").problem
    result = run(systems, action)
    assert result.source("archive_db").state == "unreachable"
    assert "Customer archive" in result.source("archive_db").problem
    assert result.source("customer_db").state == "done" and not result.complete
    checked = verify(systems.config, result, systems.data_dir, secret=no_secret)
    assert [(s.source, s.state) for s in checked.sources] == [
        ("archive_db", "not_run"), ("customer_db", "verified")]


def test_a_system_that_fails_midway_rolls_back_alone(systems: Systems,
                                                     tmp_path: Path) -> None:
    shutil.copy(systems.db, systems.data_dir / "archive.sqlite3")
    systems.config = two_systems(systems, tmp_path, "archive.sqlite3")
    archive = systems.data_dir / "archive.sqlite3"
    connection = sqlite3.connect(archive)
    connection.execute("CREATE TRIGGER no_deleting BEFORE DELETE ON affiliate_shares "
                       "BEGIN SELECT RAISE(ABORT, 'affiliate shares are read-only'); END")
    connection.commit()
    connection.close()
    archive_before = dump_sqlite(archive)
    jose, _ = planted(systems)
    action = ActionRequest(kind="delete", case_ref="PR-1", token="t", targets=(
        Target("archive_db", "customers", jose), Target("customer_db", "customers", jose)))
    result = run(systems, action)
    failed = result.source("archive_db")
    assert failed.state == "failed" and "read-only" in failed.problem
    assert failed.problem.startswith("Customer archive: ")
    assert dump_sqlite(archive) == archive_before  # the deletes before it rolled back too
    assert result.source("customer_db").state == "done"


def test_cancel_rolls_the_running_system_back(systems: Systems,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caseapp.records.action_plan.CHUNK", 2)
    keys = systems.ids("SELECT customer_id FROM customers WHERE has_open_financing = 0 "
                       "ORDER BY customer_id LIMIT 20")
    before = dump_sqlite(systems.db)
    seen: list[ActionProgress] = []
    result = execute(systems.config, request("delete", *(("customers", k) for k in keys)),
                     systems.data_dir, secret=no_secret, progress=seen.append,
                     cancel=lambda: len(seen) >= 3)
    assert result.source("customer_db").state == "cancelled"
    assert dump_sqlite(systems.db) == before
    assert seen[-1].source == "customer_db" and seen[-1].total > seen[-1].done > 0


def test_results_go_to_json_and_back(systems: Systems) -> None:
    jose, _ = planted(systems)
    plan, result = previewed_and_done(systems, request("delete", ("customers", jose)))
    assert ActionPlan.from_json(plan.to_json()) == plan
    assert ActionResult.from_json(result.to_json()) == result
    # A result keeps no value from before the change.
    assert "jose.nunez@example.com" in plan.to_json()
    assert "jose.nunez@example.com" not in result.to_json()
    stored = ActionResult.from_json(result.to_json())
    assert verify(systems.config, stored, systems.data_dir, secret=no_secret).ok


# --- any subset of targets ------------------------------------------------------------------


@pytest.fixture
def fresh_copy(demo: DemoSystems, tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_subset_of_targets_changes_only_what_was_planned(
        demo: DemoSystems, fresh_copy: Path, data: st.DataObject) -> None:
    data_dir = Path(tempfile.mkdtemp(dir=fresh_copy))
    db = data_dir / DEMO_DB_NAME
    shutil.copy(demo.path, db)
    config = load_sources(resources_dir() / "sources.example.toml")
    systems = Systems(data_dir, db, config, demo)
    pools = {
        "customers": systems.ids("SELECT customer_id FROM customers"),
        "dealer_leads": systems.ids("SELECT lead_id FROM dealer_leads"),
        "email_subscriptions": systems.ids("SELECT subscription_id FROM email_subscriptions"),
        "third_party_profiles": systems.ids("SELECT profile_id FROM third_party_profiles"),
        "web_visits": systems.ids("SELECT visit_id FROM web_visits"),
    }
    targets = data.draw(st.lists(st.sampled_from(
        [(table, key) for table, keys in pools.items() for key in keys[:60]]),
        min_size=1, max_size=25))
    kind = data.draw(st.sampled_from(["delete", "opt_out", "stop_sharing"]))
    before = dump_sqlite(db)
    plan, result = previewed_and_done(systems, request(kind, *targets))
    rows, cells = allowed_cells(result)
    after = dump_sqlite(db)
    assert diff(before, after) <= cells
    assert without(before, rows) == without(after, rows)
    assert run(systems, plan).source("customer_db").state in ("already_done", "nothing_to_do")
    assert dump_sqlite(db) == after
