"""The lookup engine on real customer systems: the demo SQLite systems (3,000 customers)
and the dealer CRM on the real PostgreSQL. Exact and fuzzy matching, parent links both
ways, the desk-side index (stale, new rows, refresh, cancel) and unreachable systems."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseapp.records.demo_systems import PlantedRows
from caseapp.records.index import IndexCancelled, SourceIndex, index_path
from caseapp.records.lookup import FoundRecord, LookupCancelled, LookupReport, RecordSystems
from caseapp.records.matching import fast_phone
from caseapp.records.normalize import normalize_phone
from caseapp.records.sources import load_sources
from caseapp.records.subject import PartyIdentifiers, Subject, subject_from_parties
from tests.dealer_crm import planted_vin
from tests.records_fixtures import NOW, DemoCopy
from tests.test_records_connect import crm_sources, crm_url  # noqa: F401

JOSE = PartyIdentifiers(name="José Núñez", email="jose.nunez@example.com",
                        phone="(916) 555-0143",
                        postal_address="1420 Capitol Avenue\nSacramento, CA 95814",
                        postal_code="95814")


def only(**fields: str) -> Subject:
    return subject_from_parties(PartyIdentifiers(**fields))


def keys(report: LookupReport, table: str, source: str = "customer_db") -> set[str]:
    return {r.key for r in report.records if r.table == table and r.source == source}


def record(report: LookupReport, table: str, key: int | str) -> FoundRecord:
    return next(r for r in report.records if r.table == table and r.key == str(key))


@pytest.fixture
def systems(demo: DemoCopy) -> Iterator[RecordSystems]:
    found = demo.systems()
    yield found
    found.close()


@pytest.fixture
def indexed(systems: RecordSystems) -> RecordSystems:
    (report,) = systems.reindex("customer_db", now=NOW, full=True)
    assert not isinstance(report, Exception)
    return systems


def planted(demo: DemoCopy, first_name: str) -> PlantedRows:
    return next(p for p in demo.built.planted if p.person.first_name == first_name)


@pytest.mark.parametrize("use_index", [False, True])
def test_planted_person_found_exactly_with_links_and_near_duplicate(
        demo: DemoCopy, systems: RecordSystems, use_index: bool) -> None:
    if use_index:
        systems.reindex(now=NOW, full=True)
    jose = planted(demo, "José")
    report = systems.lookup(subject_from_parties(JOSE), now=NOW)
    assert report.complete
    states = {o.source: o.state for o in report.outcomes}
    assert states == {"customer_db": "found", "call_recordings": "manual"}
    main = record(report, "customers", jose.customer_id)
    assert main.score == 100
    assert {r.text() for r in main.reasons} >= {"exact email", "E.164 phone"}
    assert main.via == ""
    assert set(main.snapshot) >= {"customer_id", "email", "phone", "first_name"}
    assert "birth_year" not in main.snapshot  # identifier columns only
    # The near-duplicate ("Jose Nunez", phone 916.555.0143, abbreviated street).
    assert jose.duplicate_id is not None
    assert {str(jose.customer_id), str(jose.duplicate_id)} <= keys(report, "customers")
    # Rows hanging off the customer, found through the parent links.
    for table in ("email_subscriptions", "saved_configurations", "web_visits",
                  "affiliate_shares", "warranty_records", "address_history"):
        linked = [r for r in report.records if r.table == table
                  and r.snapshot.get("customer_id") == jose.customer_id]
        assert linked, table
        assert any(r.via == "parent link from customers" for r in linked), table
    # The lead a dealer copied under its own column names (no customer id).
    assert any(r.table == "dealer_leads" for r in report.records)
    warnings = " ".join(w for o in report.outcomes for w in o.warnings)
    assert ("not indexed" in warnings) is not use_index


@pytest.mark.parametrize("typed", ["916-555-0143", "+1 (916) 555 0143", "9165550143",
                                   "1.916.555.0143", "+19165550143"])
def test_a_phone_typed_any_way_finds_the_record(demo: DemoCopy, indexed: RecordSystems,
                                               typed: str) -> None:
    report = indexed.lookup(only(phone=typed), now=NOW)
    jose = planted(demo, "José")
    assert {str(jose.customer_id), str(jose.duplicate_id)} <= keys(report, "customers")
    assert "E.164 phone" in record(report, "customers", jose.customer_id).why()


@pytest.mark.parametrize("typed", [" JOSE.NUNEZ@EXAMPLE.COM", "mailto:jose.nunez@example.com",
                                   "jose.nunez+privacy@example.com"])
def test_an_email_written_another_way_finds_the_record(demo: DemoCopy, indexed: RecordSystems,
                                                       typed: str) -> None:
    report = indexed.lookup(only(email=typed), now=NOW)
    hit = record(report, "customers", planted(demo, "José").customer_id)
    assert hit.reasons[0].kind == "email"
    assert hit.reasons[0].how == ("untagged" if "+" in typed else "exact")


def test_fuzzy_nickname_typo_and_accents_without_email_or_phone(
        demo: DemoCopy, indexed: RecordSystems) -> None:
    robert = planted(demo, "Robert")
    # The profile says Robert Miller; the duplicate says Bob. Typed here: Bob, no accents.
    report = indexed.lookup(only(name="Bob Miller", postal_address="4410 Duval St.",
                                 postal_code="78751"), now=NOW)
    assert {str(robert.customer_id), str(robert.duplicate_id)} <= keys(report, "customers")
    main = record(report, "customers", robert.customer_id)
    assert "name (nickname)" in main.why() and main.score >= 90
    # A slip of the keyboard and no accents.
    report = indexed.lookup(only(name="Jose Nunes", postal_address="1420 Capitol Ave",
                                 postal_code="95814"), now=NOW)
    jose = planted(demo, "José")
    assert {str(jose.customer_id), str(jose.duplicate_id)} <= keys(report, "customers")
    assert "fuzzy name" in record(report, "customers", jose.customer_id).why()
    # A name alone is never enough.
    report = indexed.lookup(only(name="José Núñez"), now=NOW)
    assert not report.records


def test_an_old_address_finds_the_customer_through_the_address_history(
        demo: DemoCopy, indexed: RecordSystems) -> None:
    jose = planted(demo, "José")
    report = indexed.lookup(only(name="Jose Nunez", postal_address="88 Alhambra Boulevard\n"
                                 "Sacramento CA 95816"), now=NOW)
    history = [r for r in report.records if r.table == "address_history"]
    assert history and history[0].snapshot["customer_id"] == jose.customer_id
    main = record(report, "customers", jose.customer_id)
    assert main.via == "linked from address_history"
    # ... and from the customer, the rest of the person's rows.
    assert any(r.table == "web_visits" and r.snapshot["customer_id"] == jose.customer_id
               for r in report.records)


def test_a_child_is_found_through_the_parents_email_and_the_parent_is_not(
        demo: DemoCopy, indexed: RecordSystems) -> None:
    emily = planted(demo, "Emily")
    parent = PartyIdentifiers(name="Emily Carter", email="emily.carter@example.net",
                              postal_address="2715 NE Alberta Street\nPortland, OR 97211")
    child = PartyIdentifiers(name="Tyler Carter")
    report = indexed.lookup(subject_from_parties(child, parent, is_child=True), now=NOW)
    found = keys(report, "customers")
    assert str(emily.child_id) in found
    assert str(emily.customer_id) not in found  # the parent's own profile is not the child's
    hit = record(report, "customers", emily.child_id)
    assert hit.via == "parent email" and "parent's email" in hit.why()
    # The Kids Club subscription hangs off the child's profile.
    assert any(r.table == "email_subscriptions" and r.snapshot["customer_id"] == emily.child_id
               for r in report.records)
    # The parent writing without the child's name still finds the sign-up.
    report = indexed.lookup(subject_from_parties(PartyIdentifiers(), parent, is_child=True),
                            now=NOW)
    assert str(emily.child_id) in keys(report, "customers")


def test_a_stale_index_never_reports_a_changed_or_deleted_row(
        demo: DemoCopy, indexed: RecordSystems) -> None:
    jose = planted(demo, "José")
    with sqlite3.connect(demo.path) as connection:
        connection.execute("UPDATE customers SET email = 'someone.else@example.org', "
                           "phone = '(212) 555-0111' WHERE customer_id = ?",
                           (jose.customer_id,))
        connection.execute("DELETE FROM customers WHERE customer_id = ?",
                           (jose.duplicate_id,))
        connection.execute("UPDATE dealer_leads SET contact_email = 'other@example.org', "
                           "contact_phone = NULL WHERE contact_email = ?",
                           ("jose.nunez@example.com",))
    report = indexed.lookup(only(email="jose.nunez@example.com", phone="916 555 0143"),
                            now=NOW)
    assert str(jose.duplicate_id) not in keys(report, "customers")  # deleted
    assert not keys(report, "dealer_leads")  # changed: the index's candidate re-checked
    # The profile no longer carries the email or phone: found only because a subscription
    # that still does belongs to it, and said so.
    main = record(report, "customers", jose.customer_id)
    assert main.via == "linked from email_subscriptions"
    assert not {r.kind for r in main.reasons} & {"email", "phone"}


def test_a_row_added_since_the_index_is_found_by_the_direct_query(
        demo: DemoCopy, indexed: RecordSystems) -> None:
    with sqlite3.connect(demo.path) as connection:
        (new_id,) = connection.execute("SELECT MAX(customer_id) + 1 FROM customers").fetchone()
        connection.execute(
            "INSERT INTO customers (customer_id, customer_no, first_name, last_name, email, "
            "phone, street, city, state, postal_code, created_at, updated_at) VALUES "
            "(?, 'CU-NEW', 'Ana', 'Ruiz', 'Ana.Ruiz@Example.com', '415-555-0199', "
            "'9 Pine Street', 'San Francisco', 'CA', '94108', '2026-03-04', '2026-03-04')",
            (new_id,))
    for subject in (only(email="ana.ruiz@example.com"), only(phone="(415) 555-0199"),
                    only(name="Ana Ruiz", postal_address="9 Pine St", postal_code="94108")):
        report = indexed.lookup(subject, now=NOW)
        assert str(new_id) in keys(report, "customers"), subject
        assert not any("not indexed" in w for o in report.outcomes for w in o.warnings)
    # A refresh adds it to the index: found from there (by the index, not only directly).
    (refresh,) = indexed.reindex("customer_db", now=NOW)
    assert not isinstance(refresh, Exception) and not refresh.full
    assert refresh.tables["customers"] == 1
    index = SourceIndex.open(index_path(indexed.index_dir, demo.config.source("customer_db")))
    assert index is not None
    try:
        candidates = index.candidates({"e:ana.ruiz@example.com"}, set())
        assert candidates.keys == {"customers": {new_id}}
    finally:
        index.close()


def test_an_old_index_is_reported(demo: DemoCopy) -> None:
    from datetime import timedelta

    systems = demo.systems(stale_after_hours=12)
    try:
        systems.reindex(now=NOW - timedelta(hours=30), full=True)
        report = systems.lookup(only(email="jose.nunez@example.com"), now=NOW)
        (outcome,) = [o for o in report.outcomes if o.source == "customer_db"]
        assert any("30 hours old" in w for w in outcome.warnings)
        assert outcome.state == "found"
    finally:
        systems.close()


def test_index_build_reports_progress_and_a_cancelled_build_keeps_the_old_index(
        demo: DemoCopy, systems: RecordSystems) -> None:
    seen: list[tuple[str, int, int]] = []
    (first,) = systems.reindex("customer_db", now=NOW, full=True,
                               progress=lambda label, done, total: seen.append(
                                   (label, done, total)))
    assert not isinstance(first, Exception)
    assert seen[-1][1] == seen[-1][2] == sum(first.tables.values())
    assert first.tables["customers"] == demo.built.rows["customers"]
    before = first.path.stat().st_mtime_ns
    with pytest.raises(IndexCancelled):
        systems.reindex("customer_db", now=NOW, full=True, cancel=lambda: True)
    assert first.path.stat().st_mtime_ns == before
    assert not list(first.path.parent.glob(".*building"))
    with pytest.raises(LookupCancelled):
        systems.lookup(only(email="jose.nunez@example.com"), now=NOW, cancel=lambda: True)


def test_one_unreachable_system_is_named_and_the_others_are_searched(
        demo: DemoCopy) -> None:
    extra = ('\n[sources.warehouse]\nlabel = "Data warehouse"\n'
             'url = "sqlite:///{data_dir}/no-such-warehouse.sqlite3"\n'
             '[sources.warehouse.tables.people]\ncategory = "customer_profile"\n'
             'key = "id"\nidentifiers = { email = "email" }\n'
             'deletion = { mode = "delete_rows" }\n'
             '\n[sources.renamed]\nlabel = "Renamed copy"\n'
             'url = "sqlite:///{data_dir}/demo_customers.sqlite3"\n'
             '[sources.renamed.tables.people]\ntable = "customers"\n'
             'category = "customer_profile"\nkey = "customer_id"\n'
             'identifiers = { email = "e_mail" }\ndeletion = { mode = "delete_rows" }\n')
    systems = demo.systems(extra)
    try:
        report = systems.lookup(subject_from_parties(JOSE), now=NOW)
        states = {o.source: (o.state, o.detail) for o in report.outcomes}
        assert states["customer_db"][0] == "found"
        assert states["warehouse"][0] == "unreachable"
        assert states["warehouse"][1].startswith("Data warehouse: the database file")
        assert states["renamed"] == ("schema_mismatch", "table customers has no column(s) "
                                     "e_mail")
        assert not report.complete
        results = systems.reindex(now=NOW, full=True)
        assert [getattr(r, "state", "indexed") for r in results] == [
            "indexed", "unreachable", "schema_mismatch"]
    finally:
        systems.close()


def test_phone_fast_path_agrees_with_phonenumbers_on_the_demo_data(
        demo: DemoCopy) -> None:
    with sqlite3.connect(demo.path) as connection:
        phones = [p for (p,) in connection.execute(
            "SELECT phone FROM customers WHERE phone IS NOT NULL UNION "
            "SELECT contact_phone FROM dealer_leads WHERE contact_phone IS NOT NULL")]
    assert len(phones) > 1000
    assert all(fast_phone(p) == normalize_phone(p) for p in phones)


@given(st.text(alphabet="0123456789 ()-.+x", max_size=20))
def test_phone_fast_path_agrees_with_phonenumbers(text: str) -> None:
    assert fast_phone(text) == normalize_phone(text)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=60), email=st.text(max_size=60), phone=st.text(max_size=30),
       address=st.text(max_size=80), postal_code=st.text(max_size=12),
       child=st.booleans(), parent_email=st.text(max_size=40))
def test_lookup_never_raises_on_any_party_data(
        indexed: RecordSystems, name: str, email: str, phone: str, address: str,
        postal_code: str, child: bool, parent_email: str) -> None:
    subject = subject_from_parties(
        PartyIdentifiers(name, email, phone, address, postal_code),
        PartyIdentifiers(email=parent_email) if child else None, is_child=child,
        text=f"{name} {address}")
    report = indexed.lookup(subject, now=NOW)
    assert report.complete
    assert all(0 <= r.score <= 100 for r in report.records)


def test_fuzzy_matching_accuracy_against_demo_truth(demo: DemoCopy,
                                                    indexed: RecordSystems) -> None:
    """Precision and recall of fuzzy name + address matching (no email, no phone) over
    the customer profiles, against the generator's record of who is whom."""
    with sqlite3.connect(demo.path) as connection:
        truth: dict[int, int] = dict(connection.execute(
            "SELECT customer_id, person_no FROM demo_truth WHERE trait != 'moved'"))
        people: dict[int, list[int]] = {}
        for customer, person in truth.items():
            people.setdefault(person, []).append(customer)
        rows = {row[0]: row[1:] for row in connection.execute(
            "SELECT customer_id, first_name, last_name, street, city, state, postal_code "
            "FROM customers")}
    rng = random.Random(4)
    with_duplicates = [p for p, members in people.items() if len(members) > 1]
    sample = rng.sample(with_duplicates, min(60, len(with_duplicates)))
    sample += rng.sample(sorted(set(people) - set(with_duplicates)), 60)
    true_positive = false_positive = expected_total = 0
    for person in sample:
        first_id = min(people[person])
        first, last, street, city, state, postal_code = rows[first_id]
        subject = only(name=f"{first} {last}", postal_address=f"{street}\n{city}, {state}",
                       postal_code=str(postal_code or ""))
        report = indexed.lookup(subject, now=NOW)
        found = {int(r.key) for r in report.records if r.table == "customers" and not r.via}
        expected = set(people[person])
        true_positive += len(found & expected)
        false_positive += len(found - expected)
        expected_total += len(expected)
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / expected_total
    print(f"fuzzy matching on {len(sample)} people: precision {precision:.3f}, "
          f"recall {recall:.3f}")
    assert precision >= 0.95
    assert recall >= 0.90


# --- the dealer CRM on PostgreSQL --------------------------------------------------------


@pytest.mark.postgres
def test_dealer_crm_on_postgresql_exact_fuzzy_and_vehicle_link(
        crm_url: str, tmp_path: Path) -> None:  # noqa: F811
    config = load_sources(crm_sources(tmp_path, crm_url))
    systems = RecordSystems(config, tmp_path, secret=lambda _name: None)
    try:
        def found(subject: Subject) -> LookupReport:
            return systems.lookup(subject, now=NOW)

        # Not indexed yet: searched directly, raw spellings.
        report = found(only(email="Jose.Nunez@example.com"))
        assert keys(report, "contacts", "dealer_crm") == {"D-000001"}
        assert keys(report, "vehicles", "dealer_crm") == {planted_vin()}
        (built,) = systems.reindex(now=NOW, full=True)
        assert not isinstance(built, Exception) and built.tables["contacts"] == 300
        # Indexed: the normalized forms find what the raw column holds another way.
        for subject in (only(email="JOSE.NUNEZ@EXAMPLE.COM"), only(phone="916.555.0143"),
                        only(name="José Núñez", postal_address="1420 Capitol Avenue",
                             postal_code="95814"),
                        subject_from_parties(PartyIdentifiers(name="Jose Nunez"),
                                             text=f"My car's VIN is {planted_vin()}.")):
            report = found(subject)
            assert keys(report, "contacts", "dealer_crm") == {"D-000001"}, subject
            vehicle = record(report, "vehicles", planted_vin())
            assert vehicle.category == "vehicles_owned"
        # A VIN alone finds the vehicle, and through it its owner.
        report = found(subject_from_parties(PartyIdentifiers(), text=planted_vin()))
        owner = record(report, "contacts", "D-000001")
        assert owner.via == "linked from vehicles"
    finally:
        systems.close()
