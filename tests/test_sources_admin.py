"""The sources file as staff look after it: read, checked with the line of a mistake,
saved atomically (the old file kept), systems tried, passwords in the keyring only —
through the service and through ``caseapp sources``."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from caseapp.cli import main
from caseapp.config import Paths
from caseapp.demo import demo_sources_text
from caseapp.errors import InvalidInput
from caseapp.resources import resources_dir
from caseapp.secrets import SERVICE, SecretStoreUnavailable
from caseapp.services.sources_admin import (
    SourcesTextError,
    check_systems,
    forget_source_password,
    read_sources_file,
    save_sources_text,
    store_source_password,
    validate_sources_text,
)
from tests.keyring_fixtures import MemoryKeyring
from tests.ports import free_port
from tests.records_fixtures import DemoCopy

BAD_CATEGORY = 'category = "customer_profiles"'


def dealer_crm(port: int) -> str:
    """A PostgreSQL system with a login user; nothing listens on ``port``."""
    return f"""
[sources.dealer_crm]
label = "Dealer CRM"
url = "postgresql+psycopg://crm_reader@127.0.0.1:{port}/dealer_crm"

[sources.dealer_crm.tables.contacts]
table = "crm.contacts"
category = "customer_profile"
key = "contact_no"
identifiers = {{ email = "mail" }}
deletion = {{ mode = "delete_rows" }}
"""


def with_bad_category(text: str) -> tuple[str, int]:
    """The text with an unknown category in its first table, and that line's number."""
    at = text.index('category = "customer_profile"')
    bad = text[:at] + BAD_CATEGORY + text[at + len('category = "customer_profile"'):]
    return bad, text[:at].count("\n") + 1


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("CASEAPP_HOME", str(tmp_path / "home"))
    paths = Paths.for_user()
    paths.config_dir.mkdir(parents=True)
    return paths


@pytest.fixture
def user_file(home: Paths, demo: DemoCopy) -> Path:
    """The user's sources file: the demo systems and an unreachable dealer CRM."""
    home.sources_file.write_text(demo_sources_text(demo.data_dir) + dealer_crm(free_port()),
                                 encoding="utf-8")
    return home.sources_file


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- reading and checking the text -------------------------------------------------------


def test_a_missing_file_reads_as_the_example_to_start_from(tmp_path: Path) -> None:
    view = read_sources_file(tmp_path / "sources.toml")
    assert not view.exists
    assert view.text == (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")
    names = [s.name for s in validate_sources_text(view.text, view.path)]
    assert names == ["customer_db", "call_recordings"]


def test_good_text_lists_each_system_without_a_password(tmp_path: Path,
                                                        memory_keyring: MemoryKeyring) -> None:
    example = (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")
    memory_keyring.set_password(SERVICE, "source:dealer_crm", "Tr0ub4dor&3")
    systems = validate_sources_text(example + dealer_crm(5432), tmp_path / "sources.toml")
    by_name = {s.name: s for s in systems}
    assert list(by_name) == ["customer_db", "call_recordings", "dealer_crm"]
    customer_db, manual, crm = by_name.values()
    assert (customer_db.kind, customer_db.tables, customer_db.password) == (
        "database", 9, "not_needed")
    assert customer_db.where == "sqlite:///{data_dir}/demo_customers.sqlite3"
    assert (manual.kind, manual.tables, manual.needs_password) == ("manual", 0, False)
    assert manual.where.startswith("by hand: Call center lead")
    assert crm.needs_password and crm.password_stored
    assert crm.where == "postgresql+psycopg://crm_reader@127.0.0.1:5432/dealer_crm"
    assert crm.line == example.count("\n") + 2
    assert "Tr0ub4dor" not in repr(systems)


def test_a_keyring_that_cannot_be_asked_is_said_not_hidden(
        tmp_path: Path, plaintext_keyring: object) -> None:
    crm = validate_sources_text(dealer_crm(5432), tmp_path / "sources.toml")[0]
    assert crm.password == "unknown" and not crm.password_stored
    assert "No secure keyring" in crm.password_note


def test_bad_text_is_refused_with_its_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    text, line = with_bad_category(demo_sources_text(tmp_path))
    with pytest.raises(SourcesTextError) as refused:
        validate_sources_text(text, path)
    assert refused.value.line == line
    assert "customer_profiles" in refused.value.reason
    assert refused.value.message.startswith(f"{path}, line {line}: ")

    with pytest.raises(SourcesTextError) as broken:  # not even TOML
        validate_sources_text("[sources.crm\nlabel = 1\n", path)
    assert broken.value.line == 1 and "not valid TOML" in broken.value.reason


def test_a_password_in_a_url_is_refused_and_not_repeated(tmp_path: Path) -> None:
    text = dealer_crm(5432).replace("crm_reader@", "crm_reader:Tr0ub4dor@")
    with pytest.raises(SourcesTextError) as refused:
        validate_sources_text(text, tmp_path / "sources.toml")
    assert refused.value.line == 4
    assert "holds a password" in refused.value.reason
    assert "source:dealer_crm" in refused.value.reason
    assert "Tr0ub4dor" not in refused.value.message


# --- saving ------------------------------------------------------------------------------


def test_invalid_text_is_never_written_and_the_old_file_stays(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    good = demo_sources_text(tmp_path)
    path.write_text(good, encoding="utf-8")
    bad, line = with_bad_category(good)
    with pytest.raises(SourcesTextError, match=f"line {line}"):
        save_sources_text(bad, path)
    assert path.read_text(encoding="utf-8") == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sources.toml"]  # no .bak, no temp


def test_saving_replaces_the_file_and_keeps_the_previous_one(tmp_path: Path,
                                                              memory_keyring: object) -> None:
    path = tmp_path / "sources.toml"
    old = demo_sources_text(tmp_path)
    path.write_text(old, encoding="utf-8")
    path.chmod(0o640)
    new = old + dealer_crm(5432)
    saved = save_sources_text(new, path)
    assert path.read_text(encoding="utf-8") == new
    assert saved.backup == tmp_path / "sources.toml.bak"
    assert saved.backup.read_text(encoding="utf-8") == old
    assert [s.name for s in saved.systems] == ["customer_db", "call_recordings", "dealer_crm"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file's permissions are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sources.toml", "sources.toml.bak"]

    newer = new.replace('label = "Dealer CRM"', 'label = "Dealer CRM (West)"')
    save_sources_text(newer, path)
    assert (tmp_path / "sources.toml.bak").read_text(encoding="utf-8") == new


def test_the_first_save_creates_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "sources.toml"
    saved = save_sources_text(demo_sources_text(tmp_path), path)
    assert saved.backup is None and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "config" / "sources.toml.bak").exists()


# --- trying the systems ------------------------------------------------------------------


def test_check_names_the_unreachable_system_and_tries_the_others(
        user_file: Path, demo: DemoCopy, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(SERVICE, "source:dealer_crm", "Tr0ub4dor&3")
    seen: list[tuple[int, int, str]] = []
    checks = check_systems(user_file, demo.data_dir,
                           progress=lambda *step: seen.append(step))
    by_name = {c.name: c for c in checks}
    assert by_name["customer_db"].state == "ok" and by_name["customer_db"].reachable
    assert by_name["call_recordings"].state == "manual"
    assert by_name["call_recordings"].reachable is None
    crm = by_name["dealer_crm"]
    assert crm.state == "unreachable" and crm.reachable is False and not crm.searchable
    assert crm.verdict().startswith("NOT reachable: cannot be reached (")
    assert "Tr0ub4dor" not in crm.verdict()
    assert seen == [(0, 3, "Customer database"), (1, 3, "Call-center recordings"),
                    (2, 3, "Dealer CRM"), (3, 3, "")]


def test_check_reports_a_table_the_database_lacks(tmp_path: Path, demo: DemoCopy) -> None:
    path = tmp_path / "sources.toml"
    header = "[sources.customer_db.tables.customers]\n"
    path.write_text(demo_sources_text(demo.data_dir).replace(
        header, header + 'table = "clients"\n'), encoding="utf-8")
    customer_db = check_systems(path, demo.data_dir, secret=lambda _name: None)[0]
    assert customer_db.state == "schema_mismatch" and customer_db.reachable
    assert customer_db.verdict() == "reachable, but table clients is missing"


# --- passwords ---------------------------------------------------------------------------


def test_a_password_is_stored_in_the_keyring_and_forgotten(
        user_file: Path, memory_keyring: MemoryKeyring) -> None:
    system = store_source_password("dealer_crm", "Tr0ub4dor&3", user_file)
    assert system.password_stored
    assert memory_keyring.items == {(SERVICE, "source:dealer_crm"): "Tr0ub4dor&3"}
    assert "Tr0ub4dor" not in user_file.read_text(encoding="utf-8")
    assert forget_source_password("dealer_crm", user_file) is True
    assert memory_keyring.items == {}
    assert forget_source_password("dealer_crm", user_file) is False


def test_passwords_only_for_database_systems_of_the_file(
        user_file: Path, memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(InvalidInput, match=r"no customer system 'crm'.*dealer_crm"):
        store_source_password("crm", "x", user_file)
    with pytest.raises(InvalidInput, match="searched by hand"):
        store_source_password("call_recordings", "x", user_file)
    with pytest.raises(InvalidInput, match="names no user"):
        store_source_password("customer_db", "x", user_file)
    with pytest.raises(InvalidInput, match="No password given"):
        store_source_password("dealer_crm", "", user_file)
    with pytest.raises(InvalidInput, match="no customer system 'crm'"):
        forget_source_password("crm", user_file)
    assert memory_keyring.items == {}
    # A system taken out of the file: its left-over password can still be removed.
    memory_keyring.set_password(SERVICE, "source:old_crm", "left over")
    assert forget_source_password("old_crm", user_file) is True
    assert memory_keyring.items == {}


def test_a_plaintext_keyring_is_refused(user_file: Path, plaintext_keyring: object,
                                        tmp_path: Path) -> None:
    with pytest.raises(SecretStoreUnavailable, match="No secure keyring"):
        store_source_password("dealer_crm", "Tr0ub4dor&3", user_file)
    keyring_file = tmp_path / "keyring_pass.cfg"
    assert not keyring_file.exists() or "Tr0ub4dor" not in keyring_file.read_text()


# --- caseapp sources ---------------------------------------------------------------------


def test_cli_show_lists_the_systems(user_file: Path, memory_keyring: object,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources", "show")
    assert code == 0
    assert out.splitlines()[0] == f"{user_file}: 3 systems"
    assert "dealer_crm" in out and "password: NOT stored" in out
    code, out, _ = run(capsys, "sources", "show", "--json")
    shown = json.loads(out)
    assert [s["name"] for s in shown["systems"]] == ["customer_db", "call_recordings",
                                                     "dealer_crm"]
    assert shown["systems"][2]["needs_password"] is True


def test_cli_show_without_a_file_says_where_it_belongs(
        home: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sources", "show")
    assert code == 2 and out == ""
    assert err == (f"caseapp: No sources file at {home.sources_file}: start from "
                   "resources/sources.example.toml, or run caseapp init --demo.\n")


def test_cli_check_exits_3_naming_the_unreachable_system(
        user_file: Path, memory_keyring: object, capsys: pytest.CaptureFixture[str],
        demo: DemoCopy) -> None:
    code, out, _ = run(capsys, "sources", "check")
    assert code == 3
    assert "customer_db" in out and "reachable" in out
    assert "Cannot be searched now: dealer_crm." in out
    code, out, _ = run(capsys, "sources", "check", "--json")
    assert code == 3
    states = {c["name"]: (c["state"], c["reachable"]) for c in json.loads(out)}
    assert states == {"customer_db": ("ok", True), "call_recordings": ("manual", None),
                      "dealer_crm": ("unreachable", False)}
    # Without the unreachable system every one can be searched: exit 0.
    user_file.write_text(demo_sources_text(demo.data_dir), encoding="utf-8")
    code, out, _ = run(capsys, "sources", "check")
    assert code == 0 and "Every system can be searched." in out


def test_cli_password_from_stdin_then_forgotten(
        user_file: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Tr0ub4dor&3\n"))
    code, out, _ = run(capsys, "sources", "password", "dealer_crm")
    assert code == 0 and "stored in the keyring" in out
    assert memory_keyring.items == {(SERVICE, "source:dealer_crm"): "Tr0ub4dor&3"}
    code, out, _ = run(capsys, "sources", "password", "dealer_crm", "--forget")
    assert code == 0 and "removed" in out
    assert memory_keyring.items == {}


def test_cli_password_at_a_terminal_is_asked_without_echo(
        user_file: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed-unseen"

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    code, _, _ = run(capsys, "sources", "password", "dealer_crm")
    assert code == 0
    assert len(prompts) == 1
    assert prompts[0].startswith("Password for Dealer CRM (postgresql+psycopg://"
                                 "crm_reader@127.0.0.1:")
    assert memory_keyring.items == {(SERVICE, "source:dealer_crm"): "typed-unseen"}


def test_cli_password_never_comes_from_the_command_line(
        user_file: Path, memory_keyring: MemoryKeyring,
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):  # argparse: "unrecognized arguments"
        main(["sources", "password", "dealer_crm", "Tr0ub4dor&3"])
    assert memory_keyring.items == {}


def test_cli_refuses_an_unknown_system_before_asking(
        user_file: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getpass", lambda _prompt: pytest.fail("asked"))
    code, out, err = run(capsys, "sources", "password", "crm")
    assert code == 2 and out == ""
    assert err.startswith("caseapp: There is no customer system 'crm' in ")
    assert "Traceback" not in err


def test_cli_edit_check_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       memory_keyring: object) -> None:
    draft = tmp_path / "draft.toml"
    text, line = with_bad_category(demo_sources_text(tmp_path))
    draft.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "sources", "edit-check", str(draft))
    assert code == 2 and out == ""
    assert err.startswith(f"caseapp: {draft}, line {line}: ")
    assert "customer_profiles" in err and "Traceback" not in err
    draft.write_text(demo_sources_text(tmp_path), encoding="utf-8")
    code, out, _ = run(capsys, "sources", "edit-check", str(draft))
    assert code == 0 and out.startswith(f"{draft}: valid, 2 systems")
    code, _, err = run(capsys, "sources", "edit-check", str(tmp_path / "nothing.toml"))
    assert code == 2 and "no such file" in err
    assert not os.path.exists(tmp_path / "nothing.toml")
