"""Proposing what an incoming message asks for, and what it tells about the requester.

:func:`classify` reads a subject and body (mail, OCR text of a letter, phone notes) and
returns a :class:`Proposal`: request types, whether it is a privacy request at all, a
child as data subject, an authorized agent, the jurisdiction, the language and the
identifiers found. Staff confirm or change it; every guess carries a reason.

The phrase lists are data (``resources/intake/classify.toml``), checked when loaded;
this module holds only general mechanics (normalization, negation, identifier parsing).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers

from caseapp.errors import ConfigError
from caseapp.resources import resources_dir
from caseapp.vocabulary import LANGUAGES, REQUEST_TYPES

JURISDICTIONS = ("CA", "VA", "CO", "CT", "UT", "TX", "OR", "EU")
PRIVACY_TYPES = tuple(t for t in REQUEST_TYPES if t != "other")
MAX_TEXT = 200_000  # longer input is cut: the request is stated near the top anyway


@dataclass(frozen=True)
class Proposal:
    """What the classifier proposes; staff confirm or change every field."""

    request_types: tuple[str, ...]
    is_privacy_request: bool
    is_child: bool
    child_age: int | None
    via_agent: bool
    jurisdiction: str | None
    language: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    postal_codes: tuple[str, ...]
    vins: tuple[str, ...]
    names: tuple[str, ...]
    postal_address: str | None
    reasons: tuple[str, ...]


# ---------------------------------------------------------------- rules (data) ----

@dataclass(frozen=True)
class Rules:
    request_types: dict[str, tuple[re.Pattern[str], ...]]
    not_privacy: tuple[re.Pattern[str], ...]
    negation_window: int
    negation_cues: tuple[re.Pattern[str], ...]
    clause_breaks: re.Pattern[str]
    child_relation: tuple[re.Pattern[str], ...]
    child_age: tuple[re.Pattern[str], ...]
    child_minor: tuple[re.Pattern[str], ...]
    child_under: int
    agent: tuple[re.Pattern[str], ...]
    laws: dict[str, tuple[re.Pattern[str], ...]]
    places: dict[str, tuple[re.Pattern[str], ...]]
    abbreviations: dict[str, str]
    zip_prefixes: dict[str, tuple[tuple[int, int], ...]]
    language_words: dict[str, frozenset[str]]
    sign_offs: frozenset[str]
    introductions: tuple[re.Pattern[str], ...]


class _Reader:
    """Typed access to a parsed TOML table with messages naming file and key."""

    def __init__(self, file: Path, data: dict[str, Any]) -> None:
        self.file = file
        self.data = data

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: '{key}' {problem}")

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self.fail(key, "is missing")
            node = node[part]
        return node

    def table(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def strings(self, key: str, value: Any = None) -> tuple[str, ...]:
        value = self.get(key) if value is None else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)

    def patterns(self, key: str, value: Any = None) -> tuple[re.Pattern[str], ...]:
        compiled = []
        for index, source in enumerate(self.strings(key, value)):
            try:
                compiled.append(re.compile(source))
            except re.error as exc:
                raise self.fail(
                    f"{key}[{index}]", f"is not a valid pattern ({exc}): {source!r}"
                ) from exc
        return tuple(compiled)

    def integer(self, key: str) -> int:
        value = self.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, "must be a non-negative integer")
        return value

    def per_code(self, key: str, codes: Iterable[str]) -> dict[str, Any]:
        table = self.table(key)
        unknown = sorted(set(table) - set(codes))
        if unknown:
            raise self.fail(key, f"has unknown code(s): {', '.join(unknown)}")
        return table


def _language_lists(reader: _Reader, key: str) -> tuple[re.Pattern[str], ...]:
    table = reader.table(key)
    unknown = sorted(set(table) - set(LANGUAGES))
    if unknown:
        raise reader.fail(key, f"has unknown language(s): {', '.join(unknown)}")
    return tuple(p for lang in table for p in reader.patterns(f"{key}.{lang}"))


def load_rules(file: Path | None = None) -> Rules:
    """Read and check the classifier rules; :class:`ConfigError` names file and key."""
    file = file or resources_dir() / "intake" / "classify.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Classifier rules not found: {file}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from exc
    r = _Reader(file, data)

    types_table = r.per_code("request_types", PRIVACY_TYPES)
    missing = [t for t in PRIVACY_TYPES if t not in types_table]
    if missing:
        raise r.fail("request_types", f"lacks request type(s): {', '.join(missing)}")
    request_types = {t: _language_lists(r, f"request_types.{t}") for t in PRIVACY_TYPES}

    laws = {c: r.patterns(f"jurisdiction.laws.{c}")
            for c in r.per_code("jurisdiction.laws", JURISDICTIONS)}
    places = {c: r.patterns(f"jurisdiction.places.{c}")
              for c in r.per_code("jurisdiction.places", JURISDICTIONS)}
    abbreviations: dict[str, str] = {}
    for code, abbr in r.per_code("jurisdiction.abbreviations", JURISDICTIONS).items():
        if not isinstance(abbr, str) or not re.fullmatch(r"[A-Z]{2}", abbr):
            raise r.fail(f"jurisdiction.abbreviations.{code}", "must be two capital letters")
        abbreviations[code] = abbr
    zip_prefixes: dict[str, tuple[tuple[int, int], ...]] = {}
    for code, ranges in r.per_code("jurisdiction.zip_prefixes", JURISDICTIONS).items():
        key = f"jurisdiction.zip_prefixes.{code}"
        if not isinstance(ranges, list) or not all(
            isinstance(x, list) and len(x) == 2 and all(isinstance(n, int) for n in x)
            and 0 <= x[0] <= x[1] <= 999 for x in ranges
        ):
            raise r.fail(key, "must be a list of [low, high] three-digit prefixes")
        zip_prefixes[code] = tuple((low, high) for low, high in ranges)

    language_table = r.per_code("language", LANGUAGES)
    language_words = {lang: frozenset(r.strings(f"language.{lang}")) for lang in language_table}
    breaks = r.strings("negation.clause_breaks")
    try:
        clause_breaks = re.compile("|".join(f"(?:{b})" for b in breaks))
    except re.error as exc:
        raise r.fail("negation.clause_breaks", f"is not a valid pattern ({exc})") from exc

    return Rules(
        request_types=request_types,
        not_privacy=_language_lists(r, "not_privacy"),
        negation_window=r.integer("negation.window"),
        negation_cues=r.patterns("negation.cues"),
        clause_breaks=clause_breaks,
        child_relation=r.patterns("child.relation"),
        child_age=r.patterns("child.age"),
        child_minor=r.patterns("child.minor"),
        child_under=r.integer("child.under"),
        agent=r.patterns("agent.patterns"),
        laws=laws,
        places=places,
        abbreviations=abbreviations,
        zip_prefixes=zip_prefixes,
        language_words=language_words,
        sign_offs=frozenset(s.lower() for s in r.strings("names.sign_offs")),
        introductions=r.patterns("names.introductions"),
    )


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules()


# ---------------------------------------------------------------- text helpers ----

def fold(text: str) -> str:
    """Lower case, accents removed, hyphenated line breaks joined, whitespace collapsed."""
    text = re.sub(r"(\w)-[ \t]*\r?\n[ \t]*(\w)", r"\1\2", text)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", stripped).strip().lower()


def _negated(rules: Rules, folded: str, start: int) -> bool:
    before = folded[max(0, start - rules.negation_window):start]
    clause = rules.clause_breaks.split(before)[-1] if before else ""
    return any(cue.search(clause) for cue in rules.negation_cues)


# ---------------------------------------------------------------- identifiers ----

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")
_ZIP = re.compile(  # not part of a reference, amount, decimal, mileage or longer number
    r"(?<![\w$#/.,-])(\d{5})(?:-\d{4})?(?![\w,]|\.\d|-\d{1,3}\b|-\d{5,})"
    r"(?!\s*(?:miles|mi\b|km|dollars|usd))", re.I)
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) a 17-character VIN must carry (49 CFR 565.15)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin.upper(), _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def is_valid_vin(vin: str) -> bool:
    vin = vin.upper()
    if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin):
        return False
    return vin[8] == vin_check_digit(vin)


def find_vins(text: str) -> list[str]:
    return [m.group(0) for m in _VIN.finditer(text.upper()) if is_valid_vin(m.group(0))]


def find_phones(text: str) -> list[str]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "US"):
        found.append(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return found


def zip_state(rules: Rules, zip_code: str) -> str | None:
    """The jurisdiction a US ZIP code lies in, by its three-digit prefix (or None)."""
    if not re.fullmatch(r"\d{5}(-\d{4})?", zip_code):
        return None
    prefix = int(zip_code[:3])
    for code, ranges in rules.zip_prefixes.items():
        if any(low <= prefix <= high for low, high in ranges):
            return code
    return None


_LINE_CITY = re.compile(
    r"^(?P<city>[A-Za-zÀ-ÿ .'-]+),?\s+(?P<state>[A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)\.?,?\s+"
    r"(?P<zip>\d{5}(?:-\d{4})?)\s*$")
_STREET = re.compile(
    r"^\s*(\d+[A-Za-z]?\s+\S.*|p\.?\s?o\.?\s+box\s+\d+.*|(apt|suite|unit|#)\s*\S+.*)$", re.I)
_INLINE_ADDRESS = re.compile(
    r"\b(\d{1,6}\s+[A-Z][\w.' ]{2,40}?),\s*"
    r"((?:[A-Za-z.#]+\s?\d*[A-Za-z]?,\s*)?[A-Z][A-Za-z .'-]{1,30}),"
    r"\s*([A-Z]{2})\.?\s+(\d{5}(?:-\d{4})?)\b")


def find_postal_address(text: str) -> str | None:
    """Best effort: street line(s) above a ``City, ST 12345`` line, or one inline address."""
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if len(line) > 80 or not _LINE_CITY.match(line):
            continue
        block = [line]
        back = index - 1
        while back >= 0 and len(block) < 4 and lines[back] and _STREET.match(lines[back]):
            block.insert(0, lines[back])
            back -= 1
        if len(block) > 1:
            return "\n".join(block)
    inline = _INLINE_ADDRESS.search(text)
    if inline:
        street, city, state, zip_code = inline.groups()
        return f"{street.strip()}\n{city.strip()}, {state} {zip_code}"
    return None


_NAME_WORD = r"[A-ZÀ-Ý][a-zà-ÿ'’.]*(?:-[A-ZÀ-Ý]?[a-zà-ÿ'’.]+)*"
_NAME_LINE = re.compile(rf"^{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|de|del|la|y)){{1,4}}$")


def _clean_name(name: str) -> str | None:
    name = re.sub(r"\s+", " ", name.strip().strip("\"'")).strip(" ,.")
    if not name or "@" in name or len(name) > 60 or not _NAME_LINE.match(name):
        return None
    return name


_INTRODUCED = re.compile(
    r"(?:my name is|me llamo|mi nombre es|soy)\s+"
    r"([A-ZÀ-Ý][\wÀ-ÿ'’-]+(?:\s+[A-ZÀ-Ý][\wÀ-ÿ'’-]+){1,3})", re.I)


def find_names(rules: Rules, text: str, sender_name: str) -> list[str]:
    names: list[str] = []
    if sender_name:
        cleaned = _clean_name(sender_name)
        if cleaned:
            names.append(cleaned)
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if fold(line).strip(" ,.!-") in rules.sign_offs:
            for following in lines[index + 1:index + 3]:
                if not following:
                    continue
                cleaned = _clean_name(following)
                if cleaned:
                    names.append(cleaned)
                break
    for pattern in rules.introductions:
        for match in pattern.finditer(fold(text)):
            # Map back to the original capitalization: search the same words in the text.
            tail = _INTRODUCED.search(text[max(0, match.start() - 10):])
            if tail:
                words = tail.group(1).split()
                kept = []
                for word in words:
                    if not word[0].isupper():
                        break
                    kept.append(word)
                cleaned = _clean_name(" ".join(kept))
                if cleaned:
                    names.append(cleaned)
    return _unique(names, key=str.casefold)


def _unique(items: Iterable[str], key: Any = None) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        k = key(item) if key else item
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


# ---------------------------------------------------------------- classify ----

def classify(subject: str, text: str, sender_name: str = "", sender_email: str = "",
             rules: Rules | None = None) -> Proposal:
    """Propose request types, flags, jurisdiction, language and identifiers for a message."""
    rules = rules or default_rules()
    raw = f"{subject or ''}\n{(text or '')[:MAX_TEXT]}"
    folded = fold(raw)
    reasons: list[str] = []

    found_types: list[str] = []
    for request_type, patterns in rules.request_types.items():
        for pattern in patterns:
            hit = next((m for m in pattern.finditer(folded)
                        if not _negated(rules, folded, m.start())), None)
            if hit is not None:
                found_types.append(request_type)
                reasons.append(f"‘{hit.group(0).strip()}’ → {request_type}")
                break
            negated = next(pattern.finditer(folded), None)
            if negated is not None:
                reasons.append(f"‘{negated.group(0).strip()}’ negated → not {request_type}")

    is_child = False
    child_age: int | None = None
    relation = next((m for p in rules.child_relation for m in [p.search(folded)] if m), None)
    if relation is not None:
        window = folded[max(0, relation.start() - 80):relation.end() + 120]
        for pattern in rules.child_age:
            age_match = pattern.search(window)
            if age_match:
                child_age = int(age_match.group(1))
                break
        minor = next((m for p in rules.child_minor for m in [p.search(folded)] if m), None)
        if child_age is not None and child_age < rules.child_under:
            is_child = True
            reasons.append(f"‘{relation.group(0)}’, age {child_age} → child under "
                           f"{rules.child_under}")
        elif child_age is None and minor is not None:
            is_child = True
            reasons.append(f"‘{relation.group(0)}’ + ‘{minor.group(0)}’ → child")
        if child_age is not None and child_age >= rules.child_under:
            reasons.append(f"age {child_age} → not a child under {rules.child_under}")

    agent = next((m for p in rules.agent for m in [p.search(folded)] if m), None)
    via_agent = agent is not None
    if agent is not None:
        reasons.append(f"‘{agent.group(0).strip()}’ → authorized agent")

    types = tuple(t for t in PRIVACY_TYPES if t in found_types)
    is_privacy = bool(types)
    if not is_privacy:
        car = next((m for p in rules.not_privacy for m in [p.search(folded)] if m), None)
        if car is not None:
            reasons.append(f"‘{car.group(0)}’ and no privacy request → not a privacy request")
        else:
            reasons.append("no privacy request recognized")
        types = ("other",)

    # Identifiers.
    emails = _unique([e.lower() for e in ([sender_email] if sender_email else [])
                      + _EMAIL.findall(raw) if _EMAIL.fullmatch(e)])
    phones = _unique(find_phones(raw))
    vins = _unique(find_vins(raw))
    body_without_vins_phones = raw
    postal_codes = _unique(m.group(0) for m in _ZIP.finditer(body_without_vins_phones)
                           if not any(m.group(1) in p for p in phones))
    names = find_names(rules, text or "", sender_name or "")
    postal_address = find_postal_address(text or "")

    jurisdiction = _jurisdiction(rules, raw, folded, postal_codes, reasons)

    counts = {lang: sum(1 for w in re.findall(r"[a-z']+", folded) if w in words)
              for lang, words in rules.language_words.items()}
    language = "es" if counts.get("es", 0) > counts.get("en", 0) else "en"

    return Proposal(
        request_types=types,
        is_privacy_request=is_privacy,
        is_child=is_child,
        child_age=child_age,
        via_agent=via_agent,
        jurisdiction=jurisdiction,
        language=language,
        emails=tuple(emails),
        phones=tuple(phones),
        postal_codes=tuple(postal_codes),
        vins=tuple(vins),
        names=tuple(names),
        postal_address=postal_address,
        reasons=tuple(reasons),
    )


def _jurisdiction(rules: Rules, raw: str, folded: str, zips: list[str],
                  reasons: list[str]) -> str | None:
    for kind, table in (("law", rules.laws), ("place", rules.places)):
        for code, patterns in table.items():
            for pattern in patterns:
                match = pattern.search(folded)
                if match:
                    reasons.append(f"{kind} ‘{match.group(0)}’ → {code}")
                    return code
    for code, abbr in rules.abbreviations.items():
        match = re.search(rf"(?<![A-Za-z]){abbr}\.?,?\s+\d{{5}}(?!\d)|"
                          rf"^[A-Z][A-Za-z .'-]+,\s*{abbr}\.?[ \t]*$", raw, re.M)
        if match:
            reasons.append(f"address ‘{match.group(0)}’ → {code}")
            return code
    for zip_code in zips:
        state = zip_state(rules, zip_code)
        if state:
            reasons.append(f"ZIP {zip_code} → {state}")
            return state
    return None
