"""A deletion killed midway (SIGKILL, in a process of its own) and run again ends exactly
where a clean run ends, and every row that was not a target is untouched: on the SQLite
demo systems (two systems, the kill landing in the second) and on the dealer CRM on the
real PostgreSQL server (children deleted before their parents, which the foreign key
demands). Also the dealer CRM's own shape: opt-out, retention, correction."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caseapp.records.action_model import ActionRequest, ActionResult, Target
from caseapp.records.actions import execute, preview, verify
from caseapp.records.demo_systems import DEMO_DB_NAME, DemoSystems, build_demo_systems
from caseapp.records.sources import SourcesConfig, load_sources
from caseapp.resources import resources_dir
from tests import pg_server
from tests.dealer_crm import build_dealer_crm
from tests.records_dump import (
    Dump,
    allowed_cells,
    diff,
    dump_crm,
    dump_sqlite,
    planned_cells,
    without,
)

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).parent
EXAMPLE = (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")
CRM_TOML = (HERE / "dealer_crm_sources.toml").read_text(encoding="utf-8")
CRM_URL_IN_FILE = "postgresql+psycopg://crm_reader@127.0.0.1:5432/dealer_crm"
ARCHIVE = "archive.sqlite3"


def no_secret(_name: str) -> str | None:
    return None


def run_until_killed(tmp_path: Path, sources: Path, data_dir: Path, action: ActionRequest,
                     kill_when: Callable[[str, int], bool]) -> list[str]:
    """Run the action in a child process and SIGKILL it once ``kill_when(source, done)``."""
    job = tmp_path / f"job-{uuid.uuid4().hex[:8]}.json"
    job.write_text(json.dumps({"sources": str(sources), "data_dir": str(data_dir),
                               "request": action.to_json(), "chunk": 40, "pause": 0.01}),
                   encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "tests.action_runner", str(job)],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("RESULT"):
                break
            source, _table, done, _total = line.split()
            if kill_when(source, int(done)):
                process.send_signal(signal.SIGKILL)
                break
    finally:
        if process.poll() is None:
            process.wait(timeout=60)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL, ("not killed midway", lines[-3:])
    return lines


def check_untouched(before: Dump, after: Dump, result: ActionResult) -> None:
    """Only the rows the result names changed, only in the columns it set."""
    rows, cells = allowed_cells(result)
    changed = diff(before, after)
    assert changed <= cells
    assert {(t, k) for t, k, _ in changed} == rows
    assert without(before, rows) == without(after, rows)


# --- SQLite: two demo systems ---------------------------------------------------------------


@pytest.fixture(scope="module")
def big_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSystems:
    return build_demo_systems(tmp_path_factory.mktemp("big") / DEMO_DB_NAME, customers=3000)


def two_system_sources(tmp_path: Path) -> Path:
    section = EXAMPLE[EXAMPLE.index("[sources.customer_db]"):
                      EXAMPLE.index("# --- a system searched by hand")]
    second = (section.replace("sources.customer_db", "sources.archive_db")
              .replace('label = "Customer database"', 'label = "Customer archive"')
              .replace(DEMO_DB_NAME, ARCHIVE))
    file = tmp_path / "sources.toml"
    file.write_text(EXAMPLE + "\n" + second, encoding="utf-8")
    return file


def copy_systems(demo: DemoSystems, data_dir: Path) -> None:
    data_dir.mkdir()
    shutil.copy(demo.path, data_dir / DEMO_DB_NAME)
    shutil.copy(demo.path, data_dir / ARCHIVE)


def big_deletion(config: SourcesConfig, demo: DemoSystems) -> ActionRequest:
    targets: list[Target] = []
    for source in ("customer_db", "archive_db"):
        targets += [Target(source, "customers", str(n)) for n in range(1, 3001, 3)]
        targets += [Target(source, "dealer_leads", str(n)) for n in range(1, 1500, 4)]
        targets += [Target(source, "third_party_profiles", str(n)) for n in range(1, 400, 2)]
    return ActionRequest(kind="delete", targets=tuple(targets), case_ref="PR-2026-00077",
                         token="approved-action-77")


def test_a_deletion_killed_midway_and_run_again_ends_as_a_clean_run_sqlite(
        big_demo: DemoSystems, tmp_path: Path) -> None:
    sources = two_system_sources(tmp_path)
    config = load_sources(sources)
    action = big_deletion(config, big_demo)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    copy_systems(big_demo, clean)
    copy_systems(big_demo, crashed)
    before = {name: dump_sqlite(crashed / name) for name in (DEMO_DB_NAME, ARCHIVE)}

    clean_result = execute(config, action, clean, secret=no_secret)
    assert [s.state for s in clean_result.sources] == ["done", "done"]
    assert clean_result.source("archive_db").rows_changed > 2000  # thousands of rows

    run_until_killed(tmp_path, sources, crashed, action,
                     lambda source, done: source == "archive_db" and done >= 400)
    # The first system had committed whole; the second rolled back whole.
    assert dump_sqlite(crashed / DEMO_DB_NAME) == dump_sqlite(clean / DEMO_DB_NAME)
    assert dump_sqlite(crashed / ARCHIVE) == before[ARCHIVE]

    again = execute(config, action, crashed, secret=no_secret)
    assert [s.state for s in again.sources] == ["already_done", "done"]
    assert verify(config, again, crashed, secret=no_secret).ok
    assert verify(config, clean_result, crashed, secret=no_secret).ok
    for name in (DEMO_DB_NAME, ARCHIVE):
        after = dump_sqlite(crashed / name)
        assert after == dump_sqlite(clean / name)
        check_untouched(before[name], after, clean_result)
    # A third run changes nothing.
    third = execute(config, action, crashed, secret=no_secret)
    assert [s.state for s in third.sources] == ["already_done", "already_done"]
    assert dump_sqlite(crashed / ARCHIVE) == dump_sqlite(clean / ARCHIVE)


# --- PostgreSQL: the dealer CRM -------------------------------------------------------------


def new_crm(server: pg_server.PostgresServer, contacts: int) -> str:
    name = f"crm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.url.rsplit("/", 1)[0] + f"/{name}"
    build_dealer_crm(url, contacts_count=contacts)
    return url


def crm_sources(tmp_path: Path, url: str) -> Path:
    file = tmp_path / f"crm-{uuid.uuid4().hex[:8]}.toml"
    file.write_text(CRM_TOML.replace(CRM_URL_IN_FILE, url), encoding="utf-8")
    return file


def crm_sql(url: str, statement: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def contacts(*numbers: int) -> tuple[Target, ...]:
    return tuple(Target("dealer_crm", "contacts", f"D-{n:06d}") for n in numbers)


@pytest.mark.postgres
def test_a_deletion_killed_midway_and_run_again_ends_as_a_clean_run_postgresql(
        postgres_server: pg_server.PostgresServer, tmp_path: Path) -> None:
    clean_url, crashed_url = (new_crm(postgres_server, 3000) for _ in range(2))
    for url in (clean_url, crashed_url):  # some targets refused marketing: kept
        crm_sql(url, "UPDATE crm.contacts SET marketing_ok = 0 WHERE contact_no IN "
                "('D-000010', 'D-000020', 'D-000031')")
    action = ActionRequest(kind="delete", targets=contacts(*range(2, 3001, 2)),
                           case_ref="PR-2026-00078", token="approved-action-78")
    clean_sources, crashed_sources = crm_sources(tmp_path, clean_url), \
        crm_sources(tmp_path, crashed_url)
    before = dump_crm(crashed_url)

    clean_config = load_sources(clean_sources)
    clean_result = execute(clean_config, action, tmp_path, secret=no_secret)
    outcome = clean_result.source("dealer_crm")
    assert outcome.state == "done" and outcome.rows_changed > 1800
    tables = {t.table: t for t in outcome.tables}
    assert [k.key for k in tables["contacts"].kept] == ["D-000010", "D-000020"]
    assert tables["vehicles"].changed and tables["vehicles"].followed

    run_until_killed(tmp_path, crashed_sources, tmp_path, action,
                     lambda _source, done: done >= 400)
    assert dump_crm(crashed_url) == before  # the server rolled the transaction back

    config = load_sources(crashed_sources)
    again = execute(config, action, tmp_path, secret=no_secret)
    assert again.source("dealer_crm").state == "done"
    after = dump_crm(crashed_url)
    assert after == dump_crm(clean_url)
    check_untouched(before, after, clean_result)
    assert verify(config, again, tmp_path, secret=no_secret).ok
    twice = execute(config, action, tmp_path, secret=no_secret)
    assert twice.source("dealer_crm").state == "already_done"
    assert dump_crm(crashed_url) == after


@pytest.mark.postgres
def test_dealer_crm_opt_out_then_delete_keeps_the_refusal_and_correct_normalizes(
        postgres_server: pg_server.PostgresServer, tmp_path: Path) -> None:
    url = new_crm(postgres_server, 50)
    config = load_sources(crm_sources(tmp_path, url))
    planted = contacts(1)

    def step(kind: str, **corrections: str) -> None:
        action = ActionRequest(kind=kind, targets=planted,  # type: ignore[arg-type]
                               corrections=corrections, case_ref="PR-1", token=kind)
        before = dump_crm(url)
        plan = preview(config, action, tmp_path, secret=no_secret)
        result = execute(config, plan, tmp_path, secret=no_secret)
        assert result.complete, result
        assert diff(before, dump_crm(url)) == planned_cells(plan)
        assert verify(config, result, tmp_path, secret=no_secret).ok

    step("correct", email="JOSE.NUNEZ@example.org", phone="(916) 555-0100")
    row = dump_crm(url)["crm.contacts"][1]["D-000001"]
    assert "jose.nunez@example.org" in row and "+19165550100" in row
    step("opt_out")
    assert dump_crm(url)["crm.contacts"][1]["D-000001"][-1] == 0
    delete = ActionRequest(kind="delete", targets=planted, case_ref="PR-1", token="d")
    plan = preview(config, delete, tmp_path, secret=no_secret)
    kept = plan.source("dealer_crm").tables[0].kept
    assert [k.exception for k in kept] == ["no_marketing"]
    assert "CAN-SPAM" in kept[0].legal_basis
