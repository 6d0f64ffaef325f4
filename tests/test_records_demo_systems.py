"""The demo customer systems: deterministic, realistic, fictitious, and holding the
planted people where a search will look; the example sources file describes them."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from caseapp.records.connect import check_sources
from caseapp.records.demo_systems import (
    COLUMNS,
    DEMO_DB_NAME,
    DEMO_PEOPLE,
    DemoSystems,
    build_demo_systems,
)
from caseapp.records.normalize import (
    fold_name,
    fold_street,
    normalize_email,
    normalize_ip,
    normalize_phone,
    normalize_vin,
    normalize_zip,
)
from caseapp.records.sources import load_sources
from caseapp.resources import resources_dir

CUSTOMERS = 3000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSystems:
    folder = tmp_path_factory.mktemp("demo-systems")
    return build_demo_systems(folder / DEMO_DB_NAME, customers=CUSTOMERS, seed=7)


@pytest.fixture
def db(demo: DemoSystems) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{demo.path}?mode=ro", uri=True)
    yield connection
    connection.close()


def digest(path: Path) -> str:
    connection = sqlite3.connect(path)
    h = hashlib.sha256()
    for table in COLUMNS:
        for row in connection.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(row).encode())
    connection.close()
    return h.hexdigest()


def test_same_seed_same_rows_other_seed_other_rows(demo: DemoSystems, tmp_path: Path) -> None:
    again = build_demo_systems(tmp_path / "again.sqlite3", customers=CUSTOMERS, seed=7)
    assert digest(again.path) == digest(demo.path)
    assert again.rows == demo.rows and again.traits == demo.traits
    other = build_demo_systems(tmp_path / "other.sqlite3", customers=CUSTOMERS, seed=8)
    assert digest(other.path) != digest(demo.path)
    assert not list(tmp_path.glob(".*building"))  # built aside, renamed into place


def test_counts_reported_are_the_rows_written(demo: DemoSystems,
                                              db: sqlite3.Connection) -> None:
    for table, count in demo.rows.items():
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count, table
    assert demo.rows["customers"] == CUSTOMERS
    # Every kind of record is there in realistic numbers.
    assert demo.rows["email_subscriptions"] > CUSTOMERS // 2
    assert demo.rows["web_visits"] > CUSTOMERS
    for table in ("saved_configurations", "dealer_leads", "affiliate_shares",
                  "warranty_records", "third_party_profiles", "address_history"):
        assert demo.rows[table] > CUSTOMERS // 100, table


def truth(db: sqlite3.Connection, trait: str) -> list[int]:
    return [row[0] for row in db.execute(
        "SELECT customer_id FROM demo_truth WHERE trait = ?", (trait,))]


def test_near_duplicates_are_the_same_person_written_differently(
        demo: DemoSystems, db: sqlite3.Connection) -> None:
    duplicates = truth(db, "near_duplicate")
    assert len(duplicates) == demo.traits["near_duplicate"]
    assert CUSTOMERS * 0.01 <= len(duplicates) <= CUSTOMERS * 0.04
    pairs = db.execute(
        "SELECT a.first_name, a.last_name, a.street, a.phone, b.first_name, b.last_name, "
        "b.street, b.phone FROM demo_truth ta JOIN demo_truth tb "
        "ON ta.person_no = tb.person_no AND tb.trait = 'near_duplicate' "
        "AND ta.trait IN ('person', 'planted') "
        "JOIN customers a ON a.customer_id = ta.customer_id "
        "JOIN customers b ON b.customer_id = tb.customer_id").fetchall()
    assert len(pairs) == len(duplicates)
    differently_written = 0
    for first, last, street, phone, dup_first, dup_last, dup_street, dup_phone in pairs:
        # Close enough for a fuzzy match, never identical in every way.
        assert fuzz.ratio(fold_name(last), fold_name(dup_last)) >= 70, (last, dup_last)
        assert fold_street(street) == fold_street(dup_street)
        assert (first, last) != (dup_first, dup_last) or street != dup_street
        if phone and dup_phone and phone != dup_phone:
            assert normalize_phone(phone) == normalize_phone(dup_phone)
            differently_written += 1
    assert differently_written >= len(pairs) // 3


def test_children_under_13_carry_a_parents_email(demo: DemoSystems,
                                                 db: sqlite3.Connection) -> None:
    children = db.execute(
        "SELECT c.birth_year, c.parent_email, c.last_name, p.last_name FROM customers c "
        "JOIN customers p ON p.email = c.parent_email AND p.is_child = 0 "
        "WHERE c.is_child = 1 GROUP BY c.customer_id").fetchall()
    assert len(children) == demo.traits["child"] == len(truth(db, "child"))
    assert CUSTOMERS * 0.002 <= len(children) <= CUSTOMERS * 0.01
    for birth_year, _, last, parent_last in children:
        assert 2026 - birth_year < 13 and last == parent_last
    kids_club = db.execute("SELECT count(*) FROM email_subscriptions s JOIN customers c "
                           "USING (customer_id) WHERE c.is_child = 1 AND "
                           "s.list_name = 'Kids Club'").fetchone()[0]
    assert kids_club == len(children)


def test_families_share_one_email(demo: DemoSystems, db: sqlite3.Connection) -> None:
    shared = db.execute(
        "SELECT lower(email), count(DISTINCT first_name) FROM customers WHERE email IS NOT "
        "NULL GROUP BY lower(email) HAVING count(DISTINCT first_name) > 1").fetchall()
    assert len(shared) >= demo.traits["shared_email"] >= CUSTOMERS * 0.005


def test_moved_people_keep_their_old_address(demo: DemoSystems,
                                             db: sqlite3.Connection) -> None:
    moved = db.execute("SELECT count(DISTINCT customer_id) FROM address_history").fetchone()
    assert moved[0] == demo.traits["moved"] >= CUSTOMERS * 0.02


def test_phones_come_in_every_format_and_all_are_555_numbers(db: sqlite3.Connection) -> None:
    formats = {
        "(916) 555-0143": r"\(\d{3}\) 555-\d{4}", "916.555.0143": r"\d{3}\.555\.\d{4}",
        "+1 916 555 0143": r"\+1 \d{3} 555 \d{4}", "916-555-0143": r"\d{3}-555-\d{4}",
        "9165550143": r"\d{3}555\d{4}", "1-916-555-0143": r"1-\d{3}-555-\d{4}",
    }
    seen: Counter[str] = Counter()
    phones = [row[0] for row in db.execute(
        "SELECT phone FROM customers WHERE phone IS NOT NULL UNION ALL "
        "SELECT contact_phone FROM dealer_leads WHERE contact_phone IS NOT NULL")]
    for phone in phones:
        kind = next((name for name, pattern in formats.items()
                     if re.fullmatch(pattern, phone)), None)
        assert kind, phone
        seen[kind] += 1
        normalized = normalize_phone(phone)
        assert normalized is not None and normalized[5:8] == "555", phone
    assert all(seen[name] >= 20 for name in formats), seen


def test_only_fictitious_contact_data(db: sqlite3.Connection) -> None:
    emails = [row[0] for row in db.execute(
        "SELECT email FROM customers WHERE email IS NOT NULL UNION ALL "
        "SELECT parent_email FROM customers WHERE parent_email IS NOT NULL UNION ALL "
        "SELECT email FROM email_subscriptions UNION ALL "
        "SELECT contact_email FROM dealer_leads WHERE contact_email IS NOT NULL UNION ALL "
        "SELECT email FROM third_party_profiles")]
    domains = Counter(normalize_email(e).rsplit("@", 1)[1] for e in emails)  # type: ignore[union-attr]
    assert set(domains) == {"example.com", "example.net"}
    for (ip,) in db.execute("SELECT DISTINCT ip_address FROM web_visits"):
        normalized = normalize_ip(ip)
        assert normalized is not None
        assert normalized.startswith(("192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:"))
    for (vin,) in db.execute("SELECT vin FROM warranty_records UNION ALL SELECT vin FROM "
                             "saved_configurations WHERE vin IS NOT NULL"):
        assert normalize_vin(vin) == vin  # well-formed, check digit right
        assert vin.startswith("9ZD")
    zips = [row[0] for row in db.execute("SELECT postal_code FROM customers")]
    assert all(normalize_zip(z) for z in zips)
    assert any("-" in z for z in zips) and any(len(z) == 4 for z in zips)  # ZIP+4, lost 0


def test_dealer_leads_copy_contacts_under_their_own_columns(db: sqlite3.Connection) -> None:
    shouted = db.execute("SELECT count(*) FROM dealer_leads WHERE full_name = upper(full_name)"
                         ).fetchone()[0]
    assert shouted > 0
    found = db.execute(
        "SELECT count(*) FROM dealer_leads l JOIN customers c "
        "ON lower(l.contact_email) = lower(c.email)").fetchone()[0]
    assert found > 0


def test_planted_people_are_where_a_search_looks(demo: DemoSystems,
                                                 db: sqlite3.Connection) -> None:
    jose, emily, robert = demo.planted
    assert jose.person == DEMO_PEOPLE[0]
    by_email = db.execute("SELECT customer_id, first_name, last_name FROM customers WHERE "
                          "lower(email) = 'jose.nunez@example.com' ORDER BY customer_id"
                          ).fetchall()
    assert by_email == [(jose.customer_id, "José", "Núñez"),
                        (jose.duplicate_id, "Jose", "Nunez")]
    phones = [row[0] for row in db.execute(
        "SELECT phone FROM customers WHERE customer_id IN (?, ?)",
        (jose.customer_id, jose.duplicate_id))]
    assert phones[0] != phones[1]
    assert {normalize_phone(p) for p in phones} == {"+19165550143"}
    assert db.execute("SELECT postal_code FROM address_history WHERE customer_id = ?",
                      (jose.customer_id,)).fetchone() == ("95816",)
    assert db.execute("SELECT count(*) FROM dealer_leads WHERE contact_email = ? AND "
                      "contact_zip = '95816'", (jose.person.email,)).fetchone() == (1,)
    assert db.execute("SELECT customer_id FROM warranty_records WHERE vin = ?",
                      (jose.vin,)).fetchone() == (jose.customer_id,)
    assert db.execute("SELECT count(*) FROM web_visits WHERE ip_address = ?",
                      ("2001:db8:4a1::143",)).fetchone()[0] >= 1
    # Emily's child signed up with her email as the parent's.
    child = db.execute("SELECT first_name, is_child, 2026 - birth_year FROM customers "
                       "WHERE parent_email = ?", (emily.person.email,)).fetchall()
    assert child == [("Tyler", 1, 11)] and emily.child_id is not None
    # Robert's duplicate goes by his nickname.
    assert db.execute("SELECT first_name FROM customers WHERE customer_id = ?",
                      (robert.duplicate_id,)).fetchone() == ("Bob",)
    for table in ("email_subscriptions", "saved_configurations", "affiliate_shares"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE customer_id = ?",
                          (jose.customer_id,)).fetchone()[0] >= 1, table


def test_the_example_sources_file_matches_the_demo_database(demo: DemoSystems) -> None:
    config = load_sources(resources_dir() / "sources.example.toml")
    statuses = check_sources(config, demo.path.parent, secret=lambda _name: None)
    assert [(s.name, s.state) for s in statuses] == [("customer_db", "ok"),
                                                      ("call_recordings", "manual")]


def test_too_few_customers_for_the_planted_people(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        build_demo_systems(tmp_path / "x.sqlite3", customers=5)
