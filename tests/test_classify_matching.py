"""The intake classifier's general matching: verb near object, negation, typos, Spanish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseapp.errors import ConfigError
from caseapp.intake.classify import (
    classify,
    default_rules,
    find_child_name,
    load_rules,
    repair_typos,
)
from caseapp.resources import resources_dir
from caseapp.vocabulary import REQUEST_TYPES


def types(text: str, subject: str = "") -> tuple[str, ...]:
    return classify(subject, text).request_types


# ---------------------------------------------------------------- verb near object ----

@pytest.mark.parametrize("text", [
    "Could you erase the personal data you keep about me?",
    "Please close my online account.",
    "I want my customer profile removed.",  # object first, passive
    "Get rid of all the info you have on me.",
    "Kindly purge my details from your systems.",
    "Take my information off your database, thanks.",
])
def test_deletion_verb_near_data_object(text: str) -> None:
    assert types(text) == ("delete",)


def test_verb_object_distance_is_bounded() -> None:
    rule = next(r for r in default_rules().near if r.name == "deletion verb near data")
    within = "please delete " + "very " * (rule.window - 1) + "old data"  # window words
    beyond = "please delete " + "very " * (rule.window + 2) + "old data"
    assert "delete" in types(within)
    assert "delete" not in types(beyond)


def test_verb_and_object_must_share_a_sentence() -> None:
    assert "delete" not in types("The dealer said to delete. Account numbers are on the back.")


def test_car_talk_is_not_a_request() -> None:
    for text in ("How do I cancel the data plan for the wifi hotspot?",
                 "The technician had to remove the bumper to reach the sensor.",
                 "Can I change my service appointment to Friday?",
                 "Please update me on the status of the recall repair."):
        assert types(text) == ("other",), text


def test_access_and_correct_paraphrases() -> None:
    assert types("What kind of data do you store about me?") == ("access",)
    assert types("Send me everything you have on me.") == ("access",)
    assert types("My phone number on file is out of date.") == ("correct",)
    assert types("Could you fix the spelling of my last name?") == ("correct",)


def test_marketing_sale_limit_and_appeal_paraphrases() -> None:
    assert types("I no longer want promotional emails.") == ("opt_out_marketing",)
    assert types("Please stop selling my information to data brokers.") == (
        "opt_out_sale_share",)
    assert types("Opt me out of targeted advertising.") == ("opt_out_sale_share",)
    assert types("Please restrict the use of my precise location.") == ("limit_sensitive",)
    assert types("I disagree with your decision and ask you to reconsider.") == ("appeal",)


# ---------------------------------------------------------------- negation ----

def test_negated_deletion_keeps_the_other_request() -> None:
    p = classify("", "Do not delete my account, just stop the emails.")
    assert p.request_types == ("opt_out_marketing",)
    assert any("negated" in r for r in p.reasons)


def test_negation_stays_in_its_clause() -> None:
    assert types("I'm not sure who to ask. Please delete my account.") == ("delete",)
    assert types("I have not been a customer for years, please delete my profile.") == (
        "delete",)


def test_reported_refusal_is_no_new_request() -> None:
    assert types("You rejected my request to delete my data. I want to appeal.") == ("appeal",)


def test_rules_that_need_a_negation() -> None:
    assert types("I don't want you to use my location for anything.") == ("limit_sensitive",)
    assert types("Please don't share my driving data with insurers.") == ("opt_out_sale_share",)
    # The writer saying what they do not do is no request.
    assert types("I don't use the GPS much. How do I update the maps?") == ("other",)
    assert types("I did not share my data with anyone.") == ("other",)


def test_no_longer_is_not_a_negation() -> None:
    assert types("I no longer want your newsletter.") == ("opt_out_marketing",)


# ---------------------------------------------------------------- Spanish ----

@pytest.mark.parametrize(("text", "expected"), [
    ("Necesito que cierren mi cuenta y que eliminen mis datos.", ("delete",)),
    ("Quiero una copia de mi información y luego que la borren.", ("access", "delete")),
    ("No borren mi cuenta, solo dejen de mandarme publicidad.", ("opt_out_marketing",)),
    ("Ya no me envíen catálogos.", ("opt_out_marketing",)),
    ("No quiero que guarden mi ubicación.", ("limit_sensitive",)),
    ("No estoy de acuerdo con su decisión, revisen mi caso.", ("appeal",)),
    ("¿Puedo cambiar mi cita para el cambio de aceite?", ("other",)),
])
def test_spanish(text: str, expected: tuple[str, ...]) -> None:
    p = classify("", text)
    assert p.request_types == expected
    assert p.language == "es"


def test_spanish_relative_is_an_agent_but_a_parent_is_not() -> None:
    assert classify("", "Ayudo a mi papá: quiere que dejen de vender sus datos.").via_agent
    p = classify("", "Mi hija tiene 9 años. Borren su cuenta, por favor.")
    assert p.is_child and not p.via_agent and p.child_age == 9


# ---------------------------------------------------------------- typos ----

def test_typos_are_read_as_the_listed_word() -> None:
    fixed, fixes = repair_typos(default_rules(), "pls delte my acount and infomation")
    assert fixed == "pls delete my account and information"
    assert ("delte", "delete") in fixes
    p = classify("", "pls delte my acount")
    assert p.request_types == ("delete",)
    assert "‘delte’ read as ‘delete’" in p.reasons


def test_typo_repair_leaves_known_and_short_words_alone() -> None:
    text = "remote start and a record of the data"
    assert repair_typos(default_rules(), text) == (text, [])


# ---------------------------------------------------------------- places ----

def test_city_after_a_preposition_names_the_state() -> None:
    assert classify("", "I live near Sacramento. Delete my data.").jurisdiction == "CA"
    assert classify("", "Vivo en San Antonio. Borren mis datos.").jurisdiction == "TX"
    assert classify("", "Austin Reed here, delete my account.").jurisdiction is None


# ---------------------------------------------------------------- rules file ----

def test_near_rule_errors_name_the_key(tmp_path: Path) -> None:
    source = (resources_dir() / "intake" / "classify.toml").read_text(encoding="utf-8")
    bad = tmp_path / "classify.toml"
    bad.write_text(source.replace('objects = ["data_objects"]', 'objects = ["no_such_list"]', 1),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"near\[0\]\.objects.*no_such_list"):
        load_rules(bad)
    bad.write_text(re.sub(r'^when = "negated"$', 'when = "sometimes"', source, count=1,
                          flags=re.M), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"near\[\d+\]\.when"):
        load_rules(bad)
    bad.write_text(source.replace("en = ['delet(e|ed|es|ing|ion)'", "en = ['delet(e'", 1),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"words\.delete_verbs"):
        load_rules(bad)
    bad.write_text(source.replace('targets = ["delete"', 'targets = ["Delete!"', 1),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"typos\.targets"):
        load_rules(bad)


def test_a_fresh_load_classifies_like_the_cached_rules() -> None:
    text = "Pls delte my acount. No quiero recibir más publicidad. Zip 94110."
    assert classify("", text, rules=load_rules()) == classify("", text)


# ---------------------------------------------------------------- properties ----

FRAGMENTS = [
    "delete", "my", "account", "data", "not", "don't", "do not", "no", "never", "I", "you",
    "stop", "emails", "sell", "share", "location", "borren", "mi", "cuenta", "datos", "que",
    "quiero", "dejen de", "publicidad", "appeal", "decision", "reconsider", "what", "have",
    "my son", "is 12", "mi hija", "de 14 años", ".", ",", "and", "but", "\n", "delte",
    "acount", "infomation", "in Houston", "en Los Ángeles", "on behalf of", "my mother",
    "signed authorization", "1HGCM82633A004352", "(310) 555-0123", "94110", "-", "’", "ñ",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=80), st.text(max_size=200))
def test_deterministic_and_in_vocabulary(parts: list[str], noise: str) -> None:
    text = " ".join(parts) + noise
    first = classify("subject", text)
    assert classify("subject", text) == first
    assert first.request_types and set(first.request_types) <= set(REQUEST_TYPES)
    assert first.is_privacy_request == (first.request_types != ("other",))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_typo_repair_never_raises_and_is_idempotent_on_its_output_words(text: str) -> None:
    rules = default_rules()
    fixed, fixes = repair_typos(rules, text)
    assert all(word != target for word, target in fixes)
    again, _ = repair_typos(rules, fixed)
    assert again == fixed


@pytest.mark.parametrize(("text", "name"), [
    ("My son Tyler is 9 and made an account.", "Tyler"),
    ("my daughter, Emma Ruiz, created an account", "Emma Ruiz"),
    ("My 10-year-old son Jake signed up", "Jake"),
    ("a child named Leo used your site", "Leo"),
    ("Mi hijo Mateo tiene 10 años", "Mateo"),
    ("My son is 9 years old", None),
    ("our son, who is 8, signed up", None),
])
def test_the_childs_name_is_found_next_to_son_or_daughter(text: str, name: str | None) -> None:
    assert find_child_name(text) == name


def test_a_child_case_proposes_the_childs_name() -> None:
    proposal = classify("My daughter's account",
                        "My daughter Lily is 11. Please delete her account.\nAnna Berg")
    assert proposal.is_child and proposal.child_name == "Lily"
    assert classify("", "Please delete my account. My son Tom helped me.").child_name is None
