"""The intake classifier: corpus floors, focused rules, and robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseapp.errors import ConfigError
from caseapp.intake.classify import (
    JURISDICTIONS,
    classify,
    default_rules,
    is_valid_vin,
    load_rules,
    vin_check_digit,
    zip_state,
)
from caseapp.intake.classify_eval import load_corpus, score
from caseapp.resources import resources_dir
from caseapp.vocabulary import LANGUAGES, REQUEST_TYPES

CORPUS = Path(__file__).resolve().parent / "intake_corpus"

# Floors 0.05 below what bench/classification.py measured on the training corpus (the
# rules are tuned on it, so these guard against regressions, nothing more). The held-out
# sets (holdout/, holdout2/) get no figure floors on purpose: a test on their numbers
# would invite tuning rules to them. bench/RESULTS.md reports them.
FLOORS = {
    "request_types": (0.95, 0.95),
    "is_privacy_request": (0.95, 0.95),
    "is_child": (0.95, 0.95),
    "via_agent": (0.95, 0.95),
    "child_age": (0.95, 0.95),
    "jurisdiction": (0.95, 0.95),
    "language": (0.95, 0.95),
    "emails": (0.95, 0.95),
    "phones": (0.95, 0.95),
    "postal_codes": (0.95, 0.95),
    "vins": (0.95, 0.95),
    "names": (0.95, 0.95),
    "postal_address": (0.95, 0.95),
}


def test_corpus_is_large_and_varied() -> None:
    messages = load_corpus(CORPUS)
    assert len(messages) >= 60
    types = {t for m in messages for t in m.expect["request_types"]}
    assert types == set(REQUEST_TYPES)
    assert sum(m.expect["language"] == "es" for m in messages) >= 15
    assert sum(m.expect["is_child"] for m in messages) >= 4


def test_corpus_meets_floors() -> None:
    scores, _ = score(load_corpus(CORPUS))
    for name, (precision, recall) in FLOORS.items():
        s = scores[name]
        assert s.precision >= precision and s.recall >= recall, (name, s.misses)


@pytest.mark.parametrize(("folder", "size", "spanish"), [("holdout", 12, 2),
                                                         ("holdout2", 40, 10)])
def test_holdout_sets_are_well_formed(folder: str, size: int, spanish: int) -> None:
    messages = load_corpus(CORPUS / folder)
    assert len(messages) >= size
    assert sum(m.expect["language"] == "es" for m in messages) >= spanish
    assert len({m.id for m in messages}) == len(messages)
    for m in messages:
        assert set(m.expect["request_types"]) <= set(REQUEST_TYPES)
        assert all(is_valid_vin(v) for v in m.expect["vins"])
        assert m.expect["jurisdiction"] in (None, *JURISDICTIONS)
    scores, _ = score(messages)  # runs; the figures are reported, not tested
    assert set(scores) >= set(FLOORS)


def test_negation_keeps_the_real_request() -> None:
    p = classify("Account", "I do not want you to delete my account, just update my address.")
    assert p.request_types == ("correct",)
    assert any("negated" in r for r in p.reasons)
    es = classify("Cuenta", "No quiero que borren mi cuenta, solo actualicen mi dirección.")
    assert es.request_types == ("correct",)
    assert es.language == "es"


def test_negation_does_not_reach_across_clauses() -> None:
    p = classify("", "I am not happy with you. Delete my data.")
    assert p.request_types == ("delete",)


def test_phrases_that_contain_a_negation_still_count() -> None:
    assert classify("", "Do not sell my personal information.").request_types == (
        "opt_out_sale_share",)
    assert classify("", "No quiero recibir más publicidad.").request_types == (
        "opt_out_marketing",)


def test_warranty_question_is_not_a_privacy_request() -> None:
    p = classify("Warranty", "Is my transmission covered by the warranty? The dealer said no.")
    assert p.request_types == ("other",) and not p.is_privacy_request
    assert any("warranty" in r for r in p.reasons)


def test_reasons_name_the_phrase() -> None:
    p = classify("", "Please delete my data.")
    assert "‘delete my data’ → delete" in p.reasons


@pytest.mark.parametrize(("zip_code", "state"), [
    ("94110", "CA"), ("90001", "CA"), ("96199", "CA"), ("22201", "VA"), ("20147", "VA"),
    ("80203", "CO"), ("06902", "CT"), ("84101", "UT"), ("75024", "TX"), ("73301", "TX"),
    ("97205", "OR"), ("10001", None), ("33101", None), ("20001", None), ("94110-1234", "CA"),
])
def test_zip_to_state(zip_code: str, state: str | None) -> None:
    assert zip_state(default_rules(), zip_code) == state


def test_zip_alone_gives_jurisdiction_but_not_mileage_or_money() -> None:
    assert classify("", "delete my info. zip 94110").jurisdiction == "CA"
    p = classify("", "Delete my data. The car has 94110 miles and cost $90210.")
    assert p.postal_codes == () and p.jurisdiction is None


def test_law_named_wins() -> None:
    assert classify("", "Under the GDPR, erase my data.").jurisdiction == "EU"
    assert classify("", "VCDPA request: delete my data").jurisdiction == "VA"
    assert classify("", "Per CCPA please delete my data").jurisdiction == "CA"
    assert classify("", "I live in West Virginia, delete my data").jurisdiction is None


def test_vin_check_digit() -> None:
    assert vin_check_digit("1HGCM82633A004352") == "3"
    assert is_valid_vin("1HGCM82633A004352")
    assert not is_valid_vin("1HGCM82633A004353")  # wrong check digit
    assert not is_valid_vin("1HGCM82633A00435")  # 16 characters
    assert not is_valid_vin("1HGCM8263IA004352")  # I is not allowed
    p = classify("", "VIN 1hgcm82633a004352 and order 1HGCM82633A004353")
    assert p.vins == ("1HGCM82633A004352",)


def test_phones_are_e164() -> None:
    p = classify("", "Call (310) 555-0123 or 415.555.0199, or +1 212 555 0147.")
    assert p.phones == ("+13105550123", "+14155550199", "+12125550147")


def test_spanish_child_and_signature() -> None:
    p = classify("Mi hijo", "Mi hijo de 10 años se registró. Eliminen sus datos.\n"
                 "Atentamente,\nAna Beltrán")
    assert p.language == "es" and p.is_child and p.child_age == 10
    assert p.request_types == ("delete",)
    assert p.names == ("Ana Beltrán",)


def test_teenager_is_not_a_child_case() -> None:
    p = classify("", "My son is 16. Please stop sending him emails.")
    assert not p.is_child and p.child_age == 16


def test_parent_on_behalf_of_child_is_not_an_agent() -> None:
    p = classify("", "I write on behalf of my daughter, who is 8. Delete her data.")
    assert p.is_child and not p.via_agent


def test_agent() -> None:
    p = classify("", "As authorized agent for our client, please delete her personal data.")
    assert p.via_agent and p.request_types == ("delete",)


def test_postal_address_block() -> None:
    p = classify("", "Please update my address:\n4410 Elm Street\nDenver, CO 80203\nThanks")
    assert p.postal_address == "4410 Elm Street\nDenver, CO 80203"
    assert p.postal_codes == ("80203",) and p.jurisdiction == "CO"


def test_rules_errors_name_file_and_key(tmp_path: Path) -> None:
    source = (resources_dir() / "intake" / "classify.toml").read_text(encoding="utf-8")
    bad = tmp_path / "classify.toml"
    bad.write_text(source.replace('"\\\\bunsubscribe\\\\b"', '"(unclosed"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"classify\.toml.*request_types\.opt_out_marketing"):
        load_rules(bad)
    bad.write_text(source.replace("[request_types.appeal]", "[request_types.appeals]"),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown code.*appeals"):
        load_rules(bad)
    bad.write_text(source.replace("CO = [[800, 816]]", "CO = [[800]]"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"jurisdiction\.zip_prefixes\.CO"):
        load_rules(bad)
    bad.write_text("not toml [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"classify\.toml"):
        load_rules(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_rules(tmp_path / "missing.toml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.text(max_size=2000), st.text(max_size=80),
       st.text(max_size=80))
def test_never_raises_and_stays_in_vocabulary(subject: str, text: str, name: str,
                                             email: str) -> None:
    p = classify(subject, text, name, email)
    assert p.request_types and set(p.request_types) <= set(REQUEST_TYPES)
    assert ("other" in p.request_types) == (p.request_types == ("other",))
    assert p.is_privacy_request == (p.request_types != ("other",))
    assert p.language in LANGUAGES
    assert p.jurisdiction is None or p.jurisdiction in JURISDICTIONS
    assert all(phone.startswith("+") for phone in p.phones)
    assert all(is_valid_vin(vin) for vin in p.vins)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    "delete my data", "no", "not", "\n", "CA 94110", "mi hijo de 9 años", "unsubscribe",
    "on behalf of", "Sincerely,\n", "Jane Doe", "(310) 555-0123", "1HGCM82633A004352",
    "-\n", ",", "GDPR", "warranty", "ñ", "0" * 40,
]), max_size=60))
def test_never_raises_on_glued_fragments(parts: list[str]) -> None:
    p = classify("", " ".join(parts))
    assert set(p.request_types) <= set(REQUEST_TYPES)


@given(st.text(max_size=200) | st.text(alphabet="aeñóüÉ \n-’\u0301\u0327ﬁ", max_size=80))
def test_folding_strips_the_marks_a_character_at_a_time_would(text: str) -> None:
    import re
    import unicodedata

    from caseapp.intake.classify import fold

    joined = re.sub(r"(\w)-[ \t]*\r?\n[ \t]*(\w)", r"\1\2", text)
    decomposed = unicodedata.normalize("NFKD", joined)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if not joined.isascii():
        stripped = stripped.replace("’", "'").replace("‘", "'")
    assert fold(text) == re.sub(r"\s+", " ", stripped).strip().lower()


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_folding_plain_text_skips_nothing_the_accent_pass_would_change(text: str) -> None:
    import re
    import unicodedata

    from caseapp.intake.classify import fold

    joined = re.sub(r"(\w)-[ \t]*\r?\n[ \t]*(\w)", r"\1\2", text)
    decomposed = unicodedata.normalize("NFKD", joined)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    assert fold(text) == re.sub(r"\s+", " ", stripped).strip().lower()
