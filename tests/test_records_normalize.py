"""Identifiers in one form: what customers write and what systems hold must meet."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseapp.records.normalize import (
    email_forms,
    fold,
    fold_city,
    fold_name,
    fold_street,
    normalize_email,
    normalize_ip,
    normalize_phone,
    normalize_state,
    normalize_vin,
    normalize_zip,
    untagged_email,
    vin_check_digit,
)

NORMALIZERS: list[Callable[[object], object]] = [
    fold, fold_name, fold_street, fold_city, normalize_state, normalize_email, untagged_email,
    normalize_phone, normalize_zip, normalize_vin, normalize_ip,
]

anything = st.one_of(st.text(), st.none(), st.integers(), st.floats(), st.binary())


@pytest.mark.parametrize("normalize", NORMALIZERS, ids=lambda f: f.__name__)
@given(value=anything)
def test_never_raises_and_is_idempotent(normalize: Callable[[object], object],
                                        value: object) -> None:
    once = normalize(value)
    assert once is None or isinstance(once, str)
    if once is not None:
        assert normalize(once) == once


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_folded_text_is_lower_case_words_without_accents(value: str) -> None:
    folded = fold(value)
    assert folded == folded.strip() and "  " not in folded
    assert folded == folded.casefold()
    assert all(ch.isalnum() or ch == " " for ch in folded)


def _fold_by_hand(text: str) -> str:
    """fold() as first written, a pass per character: the quick one must agree."""
    import re
    import unicodedata

    from caseapp.records.normalize import _LETTERS

    for _ in range(4):
        folded = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
        folded = re.sub(r"['’`´ʼ]", "", folded.casefold().translate(_LETTERS))
        folded = "".join(ch if ch.isalnum() else " " for ch in folded)
        folded = re.sub(r"\s+", " ", folded).strip()
        if folded == text:
            break
        text = folded
    return text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
       | st.text(alphabet="aeinouAÉÍÑÓÚñüçß_ '’-\u0301\u0308\u00a0\u2163ﬁ①", max_size=60))
def test_fold_agrees_with_folding_a_character_at_a_time(value: str) -> None:
    assert fold(value) == _fold_by_hand(value)


@given(st.text(alphabet="0123456789 ()-.+", max_size=20))
def test_phones_in_any_format_are_e164_or_none(value: str) -> None:
    phone = normalize_phone(value)
    assert phone is None or (phone.startswith("+") and phone[1:].isdigit())


def test_names_fold_accents_case_and_punctuation() -> None:
    assert fold_name("Núñez") == "nunez"
    assert fold_name("  JOSÉ   Núñez ") == "jose nunez"
    assert fold_name("O'Brien") == fold_name("OBrien") == "obrien"
    assert fold_name("Smith-Jones") == "smith jones"
    assert fold_name("Zoë Ågren") == "zoe agren"
    assert fold_name("Søren Łukasz Straße") == "soren lukasz strasse"
    assert fold_name(None) == ""


def test_streets_meet_across_abbreviations() -> None:
    assert fold_street("1420 Capitol Avenue") == fold_street("1420 capitol ave.") == \
        "1420 capitol ave"
    assert fold_street("2715 NE Alberta Street") == "2715 ne alberta st"
    assert fold_street("12 North Main Street, Apt #4") == fold_street("12 N Main St Apt 4")
    assert fold_street("12 N Main St # 4") == "12 n main st apt 4"
    assert fold_street("500 Ocean Boulevard Suite 200") == "500 ocean blvd ste 200"


def test_states() -> None:
    assert normalize_state("California") == normalize_state(" ca ") == "CA"
    assert normalize_state("New York") == "NY"
    assert normalize_state("Narnia") is None and normalize_state("") is None


@pytest.mark.parametrize("written", ["(916) 555-0143", "916.555.0143", "+1 916 555 0143",
                                     "916-555-0143", "9165550143", "1-916-555-0143",
                                     "tel: +1 (916) 555 0143"])
def test_us_phones_in_every_format(written: str) -> None:
    assert normalize_phone(written) == "+19165550143"


def test_not_phones() -> None:
    assert normalize_phone("555-0143") is None  # no area code: could be anyone
    assert normalize_phone("call me") is None
    assert normalize_phone("") is None and normalize_phone(None) is None
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_emails() -> None:
    assert normalize_email("  Jose.Nunez@Example.COM ") == "jose.nunez@example.com"
    assert normalize_email("<ana@example.net>") == "ana@example.net"
    assert normalize_email("mailto:ana@example.net") == "ana@example.net"
    assert normalize_email("ana+cars@example.net") == "ana+cars@example.net"
    assert untagged_email("Ana+Cars@example.net") == "ana@example.net"
    assert email_forms("Ana+Cars@example.net") == ("ana+cars@example.net", "ana@example.net")
    assert email_forms("ana@example.net") == ("ana@example.net",)
    for bad in ("ana", "ana@", "@example.com", "ana@example", "a b@example.com", None):
        assert normalize_email(bad) is None, bad
        assert email_forms(bad) == ()


def test_zip_codes() -> None:
    assert normalize_zip("95814") == normalize_zip("95814-1234") == "95814"
    assert normalize_zip("958141234") == "95814"
    assert normalize_zip("6103") == "06103"  # a spreadsheet ate the leading zero
    assert normalize_zip(6103) == "06103"
    assert normalize_zip("SW1A 1AA") is None and normalize_zip("12") is None


def test_vins() -> None:
    vin = "1M8GDM9AXKP042788"  # the textbook example of a valid check digit
    assert vin_check_digit(vin) == "X"
    assert normalize_vin(" 1m8gdm9a-xkp042788 ") == vin
    assert normalize_vin("1M8GDM9A1KP042788") is None  # wrong check digit
    assert normalize_vin("1M8GDM9A1KP042788", check_digit=False) == "1M8GDM9A1KP042788"
    assert normalize_vin("1M8GDM9AXKP04278O") is None  # O is never in a VIN
    assert normalize_vin("1M8GDM9AXKP0427") is None


def test_ip_addresses() -> None:
    assert normalize_ip(" 192.0.2.1 ") == "192.0.2.1"
    assert normalize_ip("2001:DB8:0:0::143") == "2001:db8::143"
    assert normalize_ip("::ffff:198.51.100.7") == "198.51.100.7"
    assert normalize_ip("[2001:db8::1]") == "2001:db8::1"
    assert normalize_ip("999.1.1.1") is None
