"""Identifiers in one canonical form, so "(916) 555-0143" finds "+1 916 555 0143".

Every function takes whatever a customer system or a letter holds (any text, a number,
None) and never raises: a value that is not what it claims to be gives None (or "" for
names and addresses). Each is idempotent: normalizing a normalized value changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache

import phonenumbers

from caseapp.geography import US_STATES

DEFAULT_REGION = "US"

# Letters that carry no accent to strip but are still "the same letter" to a clerk.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "ı": "i", "ħ": "h", "ŧ": "t", "ß": "ss"})
# Apostrophes join (O'Brien → obrien); any other non-letter separates words.
_APOSTROPHES = re.compile(r"['’`´ʼ]")
_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is str.isalnum() and "_"
# "Apt #4" and "Suite #200": the word already says what "#" would.
_UNIT_HASH = re.compile(r"(?i)\b(apt|apartment|unit|suite|ste|no)\b\.?\s*#")

# USPS-style abbreviations (Publication 28), so "Street" and "St." compare equal.
_STREET_WORDS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "avn": "ave",
    "boulevard": "blvd", "boul": "blvd", "road": "rd", "drive": "dr", "drv": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "parkway": "pkwy", "pky": "pkwy",
    "highway": "hwy", "circle": "cir", "terrace": "ter", "square": "sq", "trail": "trl",
    "expressway": "expy", "freeway": "fwy", "crossing": "xing", "mount": "mt",
    "heights": "hts", "point": "pt", "ridge": "rdg", "center": "ctr", "centre": "ctr",
    "suite": "ste", "apartment": "apt", "unit": "unit", "floor": "fl", "building": "bldg",
    "number": "no", "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}

_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

_STATE_CODES = frozenset(US_STATES)


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:  # a value whose str() fails is no identifier
        return ""


# --- names and addresses ------------------------------------------------------------------


_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")


def _fold_once(text: str) -> str:
    if text.isascii():  # most text: the same result, without a pass per character
        text = _NOT_ASCII_ALNUM.sub(" ", _APOSTROPHES.sub("", text.lower()))
        return text.strip()
    text = strip_marks(unicodedata.normalize("NFKD", text.casefold()))
    text = _APOSTROPHES.sub("", text.casefold().translate(_LETTERS))
    return _NOT_ALNUM.sub(" ", text).strip()


def strip_marks(text: str) -> str:
    """``text`` without its combining marks (accents, once decomposed by NFKD)."""
    # One look-up per distinct character, then a pass in C: long non-English mail is
    # folded by the thousand during an import.
    marks = {ord(ch): None for ch in set(text) if unicodedata.combining(ch)}
    return text.translate(marks) if marks else text


def fold(value: object) -> str:
    """Accents removed, case-folded, punctuation to spaces, whitespace collapsed.

    "  Núñez-O'Brien " → "nunez obrien". Repeated to a fixed point, because folding can
    uncover more to fold (compatibility letters decompose into cased ones).
    """
    text = _text(value)
    if text.isascii():  # lower-case letters, digits and single spaces: folded for good
        return _fold_once(text)
    for _ in range(4):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def fold_name(value: object) -> str:
    """A person's name (first, last or full) folded for comparison."""
    return fold(value)


def fold_street(value: object) -> str:
    """A street address folded, with USPS abbreviations: "12 N. Main Street" → "12 n main st".

    "#4" becomes "apt 4", so "Apt. 4" and "# 4" meet.
    """
    text = _UNIT_HASH.sub(r"\1 ", _text(value)).replace("#", " apt ")
    words = fold(text).split()
    return " ".join(_STREET_WORDS.get(word, word) for word in words)


def fold_city(value: object) -> str:
    """A city folded; "St." and "Saint" are kept as written (a city's name is its name)."""
    return fold(value)


# Folded names ("district of columbia") → code, with the usual "US Virgin Islands" too.
_STATE_BY_NAME = {**{fold(name): code for code, name in US_STATES.items()},
                  "us virgin islands": "VI"}


def normalize_state(value: object) -> str | None:
    """A US state as its two-letter code ("California", "ca" → "CA"), else None."""
    text = fold(value)
    if not text:
        return None
    if len(text) == 2 and text.upper() in _STATE_CODES:
        return text.upper()
    return _STATE_BY_NAME.get(text)


# --- email --------------------------------------------------------------------------------


def normalize_email(value: object) -> str | None:
    """Trimmed and lower-cased; "mailto:" and <angle brackets> dropped. Plus-tags kept."""
    text = _text(value).strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    text = text.lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(ch.isspace() for ch in text):
        return None
    if domain.startswith(".") or domain.endswith(".") or "@" in local:
        return None
    return text


def untagged_email(value: object) -> str | None:
    """The address without its plus-tag: "ana+cars@example.com" → "ana@example.com"."""
    email = normalize_email(value)
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    base = local.split("+", 1)[0]
    return f"{base}@{domain}" if base else email


def email_forms(value: object) -> tuple[str, ...]:
    """The forms to search for: the address as given, then untagged if it differs."""
    email = normalize_email(value)
    if email is None:
        return ()
    untagged = untagged_email(email)
    if untagged is None or untagged == email:
        return (email,)
    return (email, untagged)


# --- phone --------------------------------------------------------------------------------


def normalize_phone(value: object, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ("+19165550143") for anything that is a whole phone number, else None.

    A number without its area code ("555-0143") is not one: it could be anyone's.
    """
    text = _text(value).strip()
    if not text or len(text) > 64:
        return None
    return _e164(text, region)


@lru_cache(maxsize=4096)
def _e164(text: str, region: str) -> str | None:
    # Remembered: the same numbers come again and again (a search marks each phone of
    # every hit's text; an import reads the signature of every mail), and parsing one
    # costs about 0.1 ms.
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    except Exception:  # the library's own failures on odd input: not a number
        return None
    national = phonenumbers.national_significant_number(number)
    if not (phonenumbers.is_valid_number(number)
            or (phonenumbers.is_possible_number(number) and len(national) >= 10)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- postal code, VIN, IP -----------------------------------------------------------------


def normalize_zip(value: object) -> str | None:
    """A US ZIP code as 5 digits: "95814-1234" → "95814"; "6103" (a lost leading zero,
    as spreadsheets do) → "06103". None for anything else."""
    text = _text(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    found = re.fullmatch(r"(\d{3,5})(?:[-\s]?(\d{4}))?", text)
    if not found:
        return None
    digits = found.group(1)
    if len(digits) < 5 and found.group(2):
        return None  # "123-4567" is no ZIP+4
    return digits.zfill(5)


def vin_check_digit(vin: str) -> str | None:
    """The check digit (position 9) a 17-character VIN should carry, or None."""
    if len(vin) != 17 or any(ch not in _VIN_VALUES for ch in vin):
        return None
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: object, *, check_digit: bool = True) -> str | None:
    """A VIN upper-cased without spaces or dashes; None unless 17 legal characters (no I,
    O or Q) and, with ``check_digit``, the North American check digit agrees."""
    text = re.sub(r"[\s-]", "", _text(value)).upper()
    if len(text) != 17 or any(ch not in _VIN_VALUES for ch in text):
        return None
    if check_digit and vin_check_digit(text) != text[8]:
        return None
    return text


def normalize_ip(value: object) -> str | None:
    """An IP address in its canonical form; IPv4-mapped IPv6 as the IPv4 it maps."""
    text = _text(value).strip().strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)
