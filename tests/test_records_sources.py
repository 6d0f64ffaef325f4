"""The sources file staff and lawyers edit: the shipped example loads, and every kind of
mistake is refused with the file, the line and the reason (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseapp.errors import ConfigError
from caseapp.records.sources import (
    Deidentify,
    DeleteRows,
    Suppress,
    load_sources,
    parse_sources,
)
from caseapp.records.tomllines import scan
from caseapp.resources import resources_dir
from caseapp.vocabulary import RECORD_CATEGORIES

EXAMPLE_FILE = resources_dir() / "sources.example.toml"
EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str = EXAMPLE) -> str:
    assert text.count(old) == 1, f"the example no longer holds {old!r} exactly once"
    return text.replace(old, new)


def refused(tmp_path: Path, text: str) -> str:
    file = tmp_path / "sources.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_sources(file)
    message = caught.value.message
    assert message.startswith(f"{file}, line ") or message.startswith(f"{file}:"), message
    return message


def line_of(text: str, snippet: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if snippet in line]
    assert len(lines) == 1, (snippet, lines)
    return lines[0]


def at_line(tmp_path: Path, text: str, snippet: str) -> str:
    """The refusal, checked to name the line holding ``snippet``."""
    message = refused(tmp_path, text)
    assert f"sources.toml, line {line_of(text, snippet)}: " in message, message
    return message


# --- the shipped example --------------------------------------------------------------------


def test_the_example_loads_with_every_feature() -> None:
    config = load_sources(EXAMPLE_FILE)
    assert [s.name for s in config.sources] == ["customer_db", "call_recordings"]
    db = config.source("customer_db")
    assert db.kind == "database" and db.secret_name == "source:customer_db"
    assert db.url_for(Path("/home/ana/data")) == \
        "sqlite:////home/ana/data/demo_customers.sqlite3"
    customers = db.table("customers")
    assert customers.identifiers["email"] == ("email",)
    assert isinstance(customers.deletion, Deidentify)
    assert customers.deletion.set_token["first_name"] == "DELETED"
    assert customers.retention[0].where == {"has_open_financing": 1}
    assert customers.retention[0].applies_to({"has_open_financing": 1})
    assert not customers.retention[0].applies_to({"has_open_financing": 0})
    # Child tables hang off customers; the parent's key is the default parent_column.
    children = {t.name for t in db.children("customers")}
    assert {"saved_configurations", "web_visits", "address_history", "warranty_records",
            "affiliate_shares", "email_subscriptions"} <= children
    assert db.table("saved_configurations").parent.parent_column == "customer_id"  # type: ignore[union-attr]
    leads = db.table("dealer_leads")
    assert leads.parent is None and leads.identifiers["email"] == ("contact_email",)
    assert leads.recipient_column == "dealer_name"
    assert isinstance(leads.deletion, DeleteRows)
    assert isinstance(db.table("third_party_profiles").deletion, Suppress)
    warranty = db.table("warranty_records")
    assert warranty.deletion is None and warranty.kept_whole is not None
    assert "49 CFR" in warranty.kept_whole.legal_basis
    assert [r.name for r in config.recipients_for(db, leads)] == ["Independent dealers"]
    assert {r.kind for r in config.recipients.values()} == {"affiliate", "dealer",
                                                            "service_provider"}
    manual = config.source("call_recordings")
    assert manual.kind == "manual" and manual.manual is not None
    assert manual.manual.owner == "Call center lead"
    assert manual.categories == ("customer_communications",)
    assert set(db.categories) <= set(RECORD_CATEGORIES)
    # Line numbers are kept for later messages (e.g. "this table is missing").
    assert customers.line == line_of(EXAMPLE, "[sources.customer_db.tables.customers]")


def test_columns_used_lists_every_column_the_file_names() -> None:
    customers = load_sources(EXAMPLE_FILE).source("customer_db").table("customers")
    assert {"customer_id", "customer_no", "email", "birth_year", "has_open_financing"} <= set(
        customers.columns_used())


# --- refused files: one test per kind of mistake -------------------------------------------


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = edited('label = "Customer profiles"', 'label = "Customer profiles')
    message = at_line(tmp_path, text, 'label = "Customer profiles')
    assert "not valid TOML" in message


def test_unknown_key(tmp_path: Path) -> None:
    text = edited('label = "Customer profiles"', 'label = "Customer profiles"\ncolour = "red"')
    message = at_line(tmp_path, text, 'colour = "red"')
    assert "unknown key 'colour'" in message and "identifiers" in message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    message = at_line(tmp_path, EXAMPLE + "\n[settings]\nx = 1\n", "[settings]")
    assert "unknown key 'settings'" in message


def test_missing_column_mapping(tmp_path: Path) -> None:
    text = edited('identifiers = { full_name = "full_name", email = "contact_email", '
                  'phone = "contact_phone", postal_code = "contact_zip" }',
                  'identifiers = { full_name = "full_name", email = "" }')
    message = at_line(tmp_path, text, 'email = "" }')
    assert "identifier 'email': a column name is missing" in message


def test_a_table_with_no_identifier_and_no_parent(tmp_path: Path) -> None:
    text = edited('identifiers = { email = "email", full_name = "full_name", '
                  'postal_code = "postal_code" }\n', "")
    message = at_line(tmp_path, text, "[sources.customer_db.tables.third_party_profiles]")
    assert "no column is mapped to an identifier" in message


def test_unknown_identifier_kind(tmp_path: Path) -> None:
    text = edited('identifiers = { ip_address = "ip_address" }',
                  'identifiers = { ip = "ip_address" }')
    message = at_line(tmp_path, text, 'identifiers = { ip = "ip_address" }')
    assert "unknown identifier 'ip'" in message and "ip_address" in message


def test_unknown_category(tmp_path: Path) -> None:
    text = edited('category = "web_visits"', 'category = "web_visit"')
    message = at_line(tmp_path, text, 'category = "web_visit"')
    assert "unknown category 'web_visit'" in message and "web_visits" in message


def test_missing_category(tmp_path: Path) -> None:
    text = edited('category = "web_visits"\n', "")
    message = at_line(tmp_path, text, "[sources.customer_db.tables.web_visits]")
    assert "category is missing" in message


def test_password_in_the_url_is_refused_without_being_repeated(tmp_path: Path) -> None:
    text = edited('url = "sqlite:///{data_dir}/demo_customers.sqlite3"',
                  'url = "postgresql+psycopg://reader:Tr0ub4dor@db.example.com/crm"')
    message = at_line(tmp_path, text, "Tr0ub4dor")
    assert "holds a password" in message and "source:customer_db" in message
    assert "Tr0ub4dor" not in message


def test_password_as_a_url_parameter_is_refused_too(tmp_path: Path) -> None:
    text = edited('url = "sqlite:///{data_dir}/demo_customers.sqlite3"',
                  'url = "postgresql+psycopg://reader@db.example.com/crm?password=x1"')
    assert "holds a password" in at_line(tmp_path, text, "password=x1")


def test_unknown_url_placeholder(tmp_path: Path) -> None:
    text = edited("{data_dir}/demo_customers", "{home}/demo_customers")
    assert "unknown placeholder {home}" in at_line(tmp_path, text, "{home}")


def test_raw_sql_condition_is_refused(tmp_path: Path) -> None:
    text = edited("where = { has_open_financing = 1 }",
                  "where = \"has_open_financing = 1 OR 1=1\"")
    message = at_line(tmp_path, text, "OR 1=1")
    assert "column = value pairs" in message and "SQL text is never read" in message


def test_a_sql_key_is_refused_as_sql(tmp_path: Path) -> None:
    text = edited("where = { has_open_financing = 1 }",
                  "sql = \"SELECT customer_id FROM loans\"")
    message = at_line(tmp_path, text, "SELECT customer_id")
    assert "SQL text is never read" in message


def test_sql_in_a_column_name_is_refused(tmp_path: Path) -> None:
    text = edited('identifiers = { vin = "vin" }\ndeletion = { mode = "delete_rows" }',
                  'identifiers = { vin = "vin; DROP TABLE customers" }\n'
                  'deletion = { mode = "delete_rows" }')
    message = at_line(tmp_path, text, "DROP TABLE")
    assert "is not a plain column name" in message


def test_sql_in_a_table_name_is_refused(tmp_path: Path) -> None:
    text = edited('label = "Previous addresses"',
                  'label = "Previous addresses"\ntable = "address_history WHERE 1=1"')
    assert "not a plain table name" in at_line(tmp_path, text, "WHERE 1=1")


def test_duplicate_source_name(tmp_path: Path) -> None:
    text = EXAMPLE + '\n[sources.customer_db]\nlabel = "Again"\n'
    message = refused(tmp_path, text)
    second = len(EXAMPLE.splitlines()) + 2
    first = line_of(EXAMPLE, "[sources.customer_db]")
    assert f"line {second}: the source 'customer_db' is declared twice (first at line " \
           f"{first})" in message


def test_two_sources_with_the_same_label(tmp_path: Path) -> None:
    text = edited('label = "Call-center recordings"', 'label = "customer database"')
    message = at_line(tmp_path, text, 'label = "customer database"')
    assert "two sources are both called 'customer database'" in message


def test_a_child_table_whose_parent_is_missing(tmp_path: Path) -> None:
    text = edited('label = "Saved vehicle configurations"\ncategory = "vehicle_configurations"'
                  '\nkey = "config_id"\nparent = { table = "customers"',
                  'label = "Saved vehicle configurations"\ncategory = "vehicle_configurations"'
                  '\nkey = "config_id"\nparent = { table = "clients"')
    message = at_line(tmp_path, text, 'table = "clients"')
    assert "the parent table 'clients' is not a table of this source" in message


def test_parent_links_in_a_circle(tmp_path: Path) -> None:
    text = edited('identifiers = { customer_id = "customer_no",',
                  'parent = { table = "address_history", column = "customer_id" }\n'
                  'identifiers = { customer_id = "customer_no",')
    message = at_line(tmp_path, text, 'parent = { table = "address_history"')
    assert "go round in a circle (customers → address_history → customers)" in message


def test_unknown_recipient(tmp_path: Path) -> None:
    text = edited('recipients = ["email_service"]', 'recipients = ["mailer"]')
    message = at_line(tmp_path, text, 'recipients = ["mailer"]')
    assert "unknown recipient 'mailer'" in message and "email_service" in message


def test_recipient_without_a_way_to_reach_it(tmp_path: Path) -> None:
    text = edited('email = "privacy@insurance.example.com"\n', "")
    message = at_line(tmp_path, text, "[recipients.brand_insurance]")
    assert "give an email or a postal_address" in message


def test_recipient_kind(tmp_path: Path) -> None:
    text = edited('kind = "service_provider"', 'kind = "vendor"')
    assert "kind must be one of affiliate" in at_line(tmp_path, text, 'kind = "vendor"')


def test_deletion_is_required_unless_the_table_is_kept(tmp_path: Path) -> None:
    text = edited('identifiers = { vin = "vin" }\ndeletion = { mode = "delete_rows" }',
                  'identifiers = { vin = "vin" }')
    message = at_line(tmp_path, text, "[sources.customer_db.tables.saved_configurations]")
    assert "deletion is missing" in message


def test_unknown_deletion_mode(tmp_path: Path) -> None:
    text = edited('deletion = { mode = "suppress", column = "suppressed", value = 1 }',
                  'deletion = { mode = "erase" }')
    assert "deletion mode must be one of" in at_line(tmp_path, text, 'mode = "erase"')


def test_deidentification_must_cover_every_identifier(tmp_path: Path) -> None:
    text = edited('set_null = ["customer_no", "email", "phone",',
                  'set_null = ["customer_no", "phone",')
    message = at_line(tmp_path, text, 'set_null = ["customer_no", "phone",')
    assert "leaves identifying column(s) email as they are" in message


def test_retention_needs_a_legal_basis(tmp_path: Path) -> None:
    text = edited('legal_basis = "Gramm-Leach-Bliley', 'basis = "Gramm-Leach-Bliley')
    assert "unknown key 'basis'" in at_line(tmp_path, text, 'basis = "Gramm')


def test_manual_source_needs_an_owner(tmp_path: Path) -> None:
    text = edited('owner = "Call center lead"\n', "")
    message = at_line(tmp_path, text, "[sources.call_recordings]")
    assert "[sources.call_recordings] owner is missing" in message


def test_no_sources_at_all(tmp_path: Path) -> None:
    message = refused(tmp_path, "# nothing yet\n")
    assert "no source is defined" in message


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_sources(tmp_path / "none.toml")


def test_parse_sources_from_text_names_the_file_given() -> None:
    with pytest.raises(ConfigError, match=r"^settings page, line 2: .*a url is needed"):
        parse_sources("[sources.x]\nurl = 1\n", Path("settings page"))


# --- finding lines --------------------------------------------------------------------------


def test_lines_of_headers_keys_and_quoted_or_dotted_names() -> None:
    text = (
        '[a]\n'
        'x = 1\n'
        'note = """\n'
        '[not.a.header]\n'
        'y = 2\n'
        '"""\n'
        '[a."b.c" . d]  # comment\n'
        'e.f = { g = 1 }\n'
        "'q k' = 3\n"
        '[[arr]]\n'
        'z = 1\n'
        '[[arr]]\n'
        'z = 2\n'
    )
    lines = scan(text)
    assert lines.line_of(("a",)) == 1
    assert lines.line_of(("a", "x")) == 2
    assert lines.line_of(("not", "a", "header")) is None
    assert lines.line_of(("a", "y")) == 1  # inside the string: falls back to [a]
    assert lines.line_of(("a", "b.c", "d")) == 7
    assert lines.line_of(("a", "b.c", "d", "e", "f", "g")) == 8
    assert lines.line_of(("a", "b.c", "d", "q k")) == 9
    assert lines.line_of(("arr", "z")) == 11
    assert lines.duplicate_headers() == []
