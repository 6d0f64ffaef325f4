"""The command line as staff and cron use it: real entry point, real database files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from caseapp.cli import main
from caseapp.db import cipher

SHOW_FIELDS = {
    "ref", "channel", "request_types", "status", "received_at", "due_at", "jurisdiction",
    "is_privacy_request", "requester", "subject", "via_agent", "messages", "attachments",
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["--db", url, "--user", "alice", "init"]) == 0
    return url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_phone_case_round_trip_as_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--db", db, "--user", "alice", "cases", "new", "--channel", "phone",
        "--type", "delete", "--type", "access", "--name", "José Núñez", "--email",
        "jose@example.com", "--phone", "(310) 555-0142", "--zip", "90210", "--state", "CA",
        "--received", "2026-01-05", "--json",
    )
    assert code == 0
    created = json.loads(out)
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "show", created["ref"],
                       "--json")
    shown = json.loads(out)
    assert set(shown) >= SHOW_FIELDS
    assert shown["ref"].startswith("PR-") and shown["ref"] == created["ref"]
    assert shown["request_types"] == ["delete", "access"]
    assert shown["jurisdiction"] == "CA"
    assert shown["due_at"] == "2026-02-19"  # 45 calendar days after 2026-01-05
    assert shown["requester"]["name"] == "José Núñez"
    assert shown["requester"]["postal_code"] == "90210"
    assert shown["subject"] == {"name": "José Núñez", "email": "jose@example.com",
                                "is_child": False, "age": None}
    assert shown["is_privacy_request"] is True and shown["via_agent"] is False


def test_parent_complaint_makes_an_urgent_child_case(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "--db", db, "--user", "alice", "cases", "new", "--type", "delete",
        "--name", "Ana Ruiz", "--email", "ana@example.com", "--state", "VA",
        "--subject-name", "Leo Ruiz", "--subject-age", "9", "--json",
    )
    assert code == 0
    case = json.loads(out)
    assert case["subject"]["is_child"] is True
    assert case["priority"] == "urgent"
    assert case["requester"]["relationship"] == "parent"
    assert case["jurisdiction"] == "VA"


def test_workflow_steps_and_user_errors_have_no_traceback(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type",
                    "delete", "--name", "Sam Lee", "--state", "CA", "--json")
    ref = json.loads(out)["ref"]
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "step", ref,
                       "acknowledge")
    assert code == 0 and "Acknowledged" in out
    code, _, err = run(capsys, "--db", db, "--user", "alice", "cases", "step", ref, "close")
    assert code == 2
    assert err.startswith("caseapp: Close: Only from: Response sent")
    assert "Traceback" not in err
    code, _, err = run(capsys, "--db", db, "--user", "alice", "cases", "step", ref, "deny")
    assert code == 2 and "a reason is required" in err
    code, _, err = run(capsys, "--db", db, "--user", "alice", "cases", "show", "PR-2026-99999")
    assert code == 2 and "No case PR-2026-99999" in err


def test_list_filters_overdue(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type", "access", "--name",
        "Old Case", "--state", "CA", "--received", "2020-01-02")
    run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type", "access", "--name",
        "New Case", "--state", "CA")
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "list", "--overdue",
                       "--json")
    listed = json.loads(out)
    assert code == 0
    assert [c["requester_name"] for c in listed["cases"]] == ["Old Case"]
    assert listed["cases"][0]["overdue"] is True
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "list")
    assert "2 case(s)" in out


def test_roles_are_enforced(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "users", "add", "bob")
    assert code == 0 and "bob as agent" in out
    code, _, err = run(capsys, "--db", db, "--user", "bob", "users", "add", "eve",
                       "--role", "admin")
    assert code == 2 and "needs the role admin" in err


def test_unknown_user_is_told_how_to_get_access(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A second person at a shared database is registered on first use as an agent.
    code, _, _ = run(capsys, "--db", db, "--user", "newcomer", "cases", "list")
    assert code == 0
    _, out, _ = run(capsys, "--db", db, "--user", "alice", "users", "list")
    assert "newcomer" in out and "agent" in out


def test_audit_verify_detects_tampering(
    db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type", "delete", "--name",
        "Kim Park", "--state", "CA")
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "audit", "verify")
    assert code == 0 and "intact" in out
    path = tmp_path / "cli.sqlite3"  # encrypted: whoever tampers holds the keyring's key
    with closing(cipher.connect(path, cipher.read_key(path))) as connection:
        connection.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
        connection.commit()
    code, _, err = run(capsys, "--db", db, "--user", "alice", "audit", "verify")
    assert code == 1
    assert "BROKEN at event 2" in err


def test_database_that_cannot_be_reached_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none",
                       "cases", "list")
    assert code == 2
    assert "cannot be reached" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_installed_command_prints_help_and_version() -> None:
    script = Path(sys.executable).parent / "caseapp"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0
    for command in ("gui", "init", "cases", "users", "audit"):
        assert command in result.stdout
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                             timeout=60, check=False)
    assert version.stdout.startswith("caseapp ")


def test_init_demo_fills_an_empty_desk_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    code, out, _ = run(capsys, "--db", url, "--user", "alice", "init", "--demo", "--cases",
                       "40", "--customers", "300")
    assert code == 0 and "40 cases" in out
    code, out, _ = run(capsys, "--db", url, "--user", "alice", "cases", "list", "--view",
                       "all", "--json")
    cases = json.loads(out)["cases"]
    assert len(cases) == 40 + 3  # and one for each person planted in the customer systems
    assert len({c["status"] for c in cases}) >= 4
    assert len({c["channel"] for c in cases}) >= 3
    code, _, err = run(capsys, "--db", url, "--user", "alice", "init", "--demo")
    assert code == 2 and "already holds cases" in err
    code, out, _ = run(capsys, "--db", url, "--user", "alice", "audit", "verify")
    assert code == 0


def test_admin_changes_a_configurable_clock_but_not_a_statutory_one(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "rules", "clocks")
    assert code == 0 and "11 CCR §7021(b)" in out
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "rules", "set", "CA", "respond",
                       "12", "--type", "opt_out_sale_share")
    assert code == 0 and "12 business days (shipped: 15" in out
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type",
                       "opt_out_sale_share", "--name", "Ray Diaz", "--state", "CA",
                       "--received", "2026-01-05", "--json")
    assert json.loads(out)["due_at"] == "2026-01-22"  # 12 business days, skipping MLK day
    code, _, err = run(capsys, "--db", db, "--user", "alice", "rules", "set", "CA", "respond",
                       "60")
    assert code == 2 and "fixed by law" in err
    run(capsys, "--db", db, "--user", "alice", "users", "add", "bob")
    code, _, err = run(capsys, "--db", db, "--user", "bob", "rules", "set", "CA", "respond",
                       "12", "--type", "opt_out_sale_share")
    assert code == 2 and "admin" in err


def test_editing_parties_requests_and_tasks_from_the_command_line(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type",
                    "opt_out_sale_share", "--name", "Ray Diaz", "--email", "ray@example.com",
                    "--received", "2026-01-05", "--json")
    ref = json.loads(out)["ref"]
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "party", ref,
                       "requester", "--state", "CA", "--zip", "94123")
    assert code == 0 and "California" in out
    _, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "show", ref, "--json")
    shown = json.loads(out)
    assert shown["requester"]["email"] == "ray@example.com"  # untouched fields are kept
    assert shown["requester"]["postal_code"] == "94123"
    assert shown["due_at"] == "2026-01-27"  # CA: 15 business days (§7026(f)), MLK day skipped
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "edit", ref,
                       "--jurisdiction", "EU", "--type", "access")
    assert code == 0
    _, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "show", ref, "--json")
    assert json.loads(out)["due_at"] == "2026-02-05"  # GDPR: one month
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "task", ref, "add",
                       "Ask the dealer", "--kind", "downstream_notice", "--due-in", "10")
    assert code == 0 and "[ ] Ask the dealer" in out
    task_id = out.split("task ")[1].split(":")[0]
    code, out, _ = run(capsys, "--db", db, "--user", "alice", "cases", "task", ref, "done",
                       task_id)
    assert code == 0 and "[x] Ask the dealer" in out
    code, _, err = run(capsys, "--db", db, "--user", "alice", "cases", "new", "--type",
                       "access", "--name", "Agent", "--subject-name", "Sam Lee")
    assert code == 2 and "--relationship" in err


def test_init_demo_makes_customer_systems_and_a_sources_file_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from caseapp.config import Paths
    from caseapp.records.connect import check_sources
    from caseapp.records.sources import load_sources

    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    paths = Paths.for_user()
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    code, out, _ = run(capsys, "--db", url, "--user", "alice", "init", "--demo", "--cases",
                       "5", "--customers", "400")
    assert code == 0, out
    database = paths.data_dir / "demo_customers.sqlite3"
    assert f"Demo customer systems: {database} (400 customers," in out
    assert f"Sources file: {paths.sources_file} (written)." in out
    config = load_sources(paths.sources_file)
    assert config.source("customer_db").url == f"sqlite:///{database.as_posix()}"
    assert [s.state for s in check_sources(config, paths.data_dir)] == ["ok", "manual"]
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (400,)
    # The planted people have cases, so the demo desk can look up records that exist.
    code, out, _ = run(capsys, "--db", url, "--user", "alice", "cases", "list", "--view",
                       "all", "--text", "Núñez", "--json")
    assert [c["requester_name"] for c in json.loads(out)["cases"]] == ["José Núñez"]
    # A second desk keeps what is there: an edited sources file is never overwritten.
    paths.sources_file.write_text(paths.sources_file.read_text(encoding="utf-8")
                                  + "# edited\n", encoding="utf-8")
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    code, out, _ = run(capsys, "--db", other, "--user", "alice", "init", "--demo", "--cases",
                       "5")
    assert code == 0
    assert f"kept the existing {database}" in out and "(kept as it was)" in out
    assert paths.sources_file.read_text(encoding="utf-8").endswith("# edited\n")
    code, _, err = run_error(capsys, "--db", other, "init", "--demo", "--customers", "5")
    assert code == 2 and "number of customers from 30 to 1000000" in err


def run_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """For argparse refusals, which exit the program."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err
