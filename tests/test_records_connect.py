"""Reaching customer systems: a second, differently-shaped system on the real PostgreSQL
server, passwords from the keyring only, and one broken system never hiding the others."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, func, select, table, text

from caseapp.records.connect import (
    SourceUnavailable,
    check_sources,
    connection_url,
    open_engine,
)
from caseapp.records.demo_systems import DEMO_DB_NAME, build_demo_systems
from caseapp.records.normalize import normalize_phone, normalize_state, normalize_zip
from caseapp.records.sources import Source, Table, load_sources
from caseapp.resources import resources_dir
from tests import pg_server
from tests.dealer_crm import build_dealer_crm, planted_vin
from tests.keyring_fixtures import MemoryKeyring
from tests.ports import free_port

HERE = Path(__file__).parent
CRM_TOML = (HERE / "dealer_crm_sources.toml").read_text(encoding="utf-8")
CRM_URL_IN_FILE = "postgresql+psycopg://crm_reader@127.0.0.1:5432/dealer_crm"


@pytest.fixture
def crm_url(postgres_server: pg_server.PostgresServer) -> str:
    """A new database on the test server holding the dealer CRM."""
    name = f"crm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    build_dealer_crm(url)
    return url


def crm_sources(tmp_path: Path, url: str, extra: str = "") -> Path:
    file = tmp_path / "sources.toml"
    assert CRM_URL_IN_FILE in CRM_TOML
    file.write_text(CRM_TOML.replace(CRM_URL_IN_FILE, url) + extra, encoding="utf-8")
    return file


def rows_for(source: Source, data_dir: Path, entry: Table, kind: str,
             value: str) -> list[dict[str, object]]:
    """What the lookup will do, in its simplest form: the mapped column = the value."""
    schema, _, name = entry.db_table.rpartition(".")
    target = table(name, *(column(c) for c in entry.columns_used()), schema=schema or None)
    conditions = [func.lower(target.c[c]) == value.lower() for c in entry.columns_for(kind)]
    engine = open_engine(source, data_dir)
    try:
        with engine.connect() as connection:
            found = connection.execute(select(target).where(*conditions))
            return [dict(row._mapping) for row in found]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_dealer_crm_on_postgresql_loads_and_maps(crm_url: str, tmp_path: Path,
                                                 memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("caseapp", "source:dealer_crm", "from-the-keyring")
    config = load_sources(crm_sources(tmp_path, crm_url))
    source = config.source("dealer_crm")
    assert connection_url(source, tmp_path).password == "from-the-keyring"
    assert [(s.name, s.state, s.problems) for s in check_sources(config, tmp_path)] == [
        ("dealer_crm", "ok", ())]
    contacts = source.table("contacts")
    found = rows_for(source, tmp_path, contacts, "email", "jose.nunez@example.com")
    assert len(found) == 1
    jose = found[0]
    # Written the dealer's way, the same person as in the demo customer database.
    assert normalize_phone(jose["mobile"]) == "+19165550143"
    assert normalize_state(jose["region"]) == "CA"
    assert normalize_zip(jose["postcode"]) == "95814"
    vehicles = source.children("contacts")
    assert [t.name for t in vehicles] == ["vehicles"]
    link = vehicles[0].parent
    assert link is not None and link.parent_column == "contact_no"
    cars = rows_for(source, tmp_path, vehicles[0], "vin", planted_vin())
    assert [car[link.column] for car in cars] == [jose[link.parent_column]]
    assert contacts.retention[0].applies_to({"marketing_ok": 0})
    assert [r.name for r in config.recipients_for(source)] == [
        "Capitol Motor Group (independent dealer)"]


@pytest.mark.postgres
def test_a_broken_system_is_reported_by_name_and_the_others_still_answer(
        crm_url: str, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    down = crm_url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/crm"
    extra = (
        f'\n[sources.old_crm]\nlabel = "Old dealer CRM"\nurl = "{down}"\n'
        '[sources.old_crm.tables.contacts]\ncategory = "customer_profile"\nkey = "id"\n'
        'identifiers = { email = "mail" }\ndeletion = { mode = "delete_rows" }\n'
        '\n[sources.renamed]\nlabel = "CRM after a schema change"\n'
        f'url = "{crm_url}"\n'
        '[sources.renamed.tables.contacts]\ntable = "crm.contacts"\n'
        'category = "customer_profile"\nkey = "contact_no"\n'
        'identifiers = { email = "email_address", phone = "mobile" }\n'
        'deletion = { mode = "delete_rows" }\n'
        '[sources.renamed.tables.gone]\ntable = "crm.leads"\ncategory = "dealer_leads"\n'
        'key = "id"\nidentifiers = { email = "mail" }\ndeletion = { mode = "delete_rows" }\n'
    )
    config = load_sources(crm_sources(tmp_path, crm_url, extra))
    statuses = {s.name: s for s in check_sources(config, tmp_path)}
    assert statuses["dealer_crm"].searchable
    old = statuses["old_crm"]
    assert old.state == "unreachable" and not old.searchable
    assert old.problems[0].startswith("Old dealer CRM: cannot be reached (")
    renamed = statuses["renamed"]
    assert renamed.state == "schema_mismatch"
    assert renamed.problems == ("table crm.contacts has no column(s) email_address",
                                "table crm.leads is missing")


def test_sqlite_source_missing_file_and_keyring_trouble_stay_with_their_source(
        tmp_path: Path, plaintext_keyring: object) -> None:
    build_demo_systems(tmp_path / DEMO_DB_NAME, customers=200)
    text_ = (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")
    text_ += ('\n[sources.warehouse]\nlabel = "Data warehouse"\n'
              'url = "postgresql+psycopg://reader@127.0.0.1:1/dw"\n'
              '[sources.warehouse.tables.people]\ncategory = "customer_profile"\n'
              'key = "id"\nidentifiers = { email = "email" }\n'
              'deletion = { mode = "delete_rows" }\n')
    file = tmp_path / "sources.toml"
    file.write_text(text_, encoding="utf-8")
    config = load_sources(file)
    statuses = {s.name: s for s in check_sources(config, tmp_path)}
    # The warehouse needs a password from the keyring, which is a refused plaintext one.
    assert statuses["warehouse"].state == "unreachable"
    assert "No secure keyring" in statuses["warehouse"].problems[0]
    assert statuses["customer_db"].state == "ok"  # no user in the URL: no keyring asked
    assert statuses["call_recordings"].state == "manual"
    with pytest.raises(SourceUnavailable, match="does not exist"):
        open_engine(config.source("customer_db"), tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()  # SQLite made no empty file


def test_no_secret_stored_connects_without_one(tmp_path: Path,
                                               memory_keyring: MemoryKeyring) -> None:
    file = crm_sources(tmp_path, "postgresql+psycopg://crm_reader@db.example.com/crm")
    source = load_sources(file).source("dealer_crm")
    assert connection_url(source, tmp_path).password is None
    memory_keyring.set_password("caseapp", "source:dealer_crm", "pw")
    assert connection_url(source, tmp_path).password == "pw"
    assert "pw" not in str(connection_url(source, tmp_path))  # masked when shown
