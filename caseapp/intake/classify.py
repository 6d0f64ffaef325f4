"""Proposing what an incoming message asks for, and what it tells about the requester.

:func:`classify` reads a subject and body (mail, OCR text of a letter, phone notes) and
returns a :class:`Proposal`: request types, whether it is a privacy request at all, a
child as data subject, an authorized agent, the jurisdiction, the language and the
identifiers found. Staff confirm or change it; every guess carries a reason.

The vocabulary is data (``resources/intake/classify.toml``), checked when loaded: phrase
patterns, named word lists (synonyms, in English and Spanish) and "near" rules that pair
a verb with an object a few words apart in either order ("delete ... my account", "mi
cuenta ... borren"). This module holds only general mechanics: normalization, cheap typo
repair toward listed words, clause-aware negation, the near matching and identifier
parsing.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers

from caseapp.errors import ConfigError
from caseapp.records.normalize import strip_marks
from caseapp.records.normalize import vin_check_digit as vin_check_digit  # re-exported
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
    child_name: str | None = None
    """The child's name, when a parent writes it ("my son Tyler")."""


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
    # Added with the near rules; defaults keep hand-built Rules working.
    near: tuple[NearRule, ...] = ()
    sentence_breaks: re.Pattern[str] = re.compile(r"[.;!?]")
    negation_exceptions: tuple[re.Pattern[str], ...] = ()
    own_actions: tuple[re.Pattern[str], ...] = ()
    agent_for_relative: tuple[re.Pattern[str], ...] = ()
    typos: Typos | None = None


@dataclass(frozen=True)
class NearRule:
    """A verb and an object at most ``window`` words apart in one sentence.

    ``when``: "affirmed" (a negation before it cancels it), "negated" (counts only after
    a negation: "I don't want you to use my location") or "any".
    """

    request_type: str
    name: str
    verbs: re.Pattern[str]
    objects: re.Pattern[str]
    window: int
    either_order: bool
    when: str


@dataclass(frozen=True)
class Typos:
    """Misspellings one edit away from a listed word, mapped back to that word."""

    min_length: int
    substitution_min_length: int
    known: frozenset[str]
    variants: Mapping[str, str]
    wildcards: Mapping[str, str] = field(default_factory=dict)


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


NEAR_WHEN = ("affirmed", "negated", "any")


def _words(reader: _Reader) -> dict[str, str]:
    """The named word lists, each joined to one alternation (checked to compile)."""
    if "words" not in reader.data:
        return {}
    words: dict[str, str] = {}
    for name, value in reader.table("words").items():
        key = f"words.{name}"
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(LANGUAGES))
            if unknown:
                raise reader.fail(key, f"has unknown language(s): {', '.join(unknown)}")
            entries = [e for lang in value for e in reader.strings(f"{key}.{lang}")]
        else:
            entries = list(reader.strings(key))
        if not entries:
            raise reader.fail(key, "is empty")
        # Longest first, so "personal information" wins over "personal".
        alternation = "|".join(f"(?:{e})" for e in sorted(entries, key=len, reverse=True))
        try:
            re.compile(alternation)
        except re.error as exc:
            bad = next((e for e in entries if not _compiles(e)), alternation)
            raise reader.fail(key, f"is not a valid pattern ({exc}): {bad!r}") from exc
        words[name] = alternation
    return words


def _compiles(source: str) -> bool:
    try:
        re.compile(source)
    except re.error:
        return False
    return True


def _near_rules(reader: _Reader, words: dict[str, str]) -> tuple[NearRule, ...]:
    if "near" not in reader.data:
        return ()
    raw = reader.get("near")
    if not isinstance(raw, list):
        raise reader.fail("near", "must be a list of [[near]] tables")
    rules = []
    for index, item in enumerate(raw):
        key = f"near[{index}]"
        if not isinstance(item, dict):
            raise reader.fail(key, "must be a table")
        sub = _Reader(reader.file, item)

        def named(part: str, sub: _Reader = sub, key: str = key) -> re.Pattern[str]:
            names = sub.strings(part)
            missing = [n for n in names if n not in words]
            if not names or missing:
                raise reader.fail(f"{key}.{part}",
                                  f"must name lists in [words] (unknown: {missing or 'none'})")
            body = "|".join(words[n] for n in names)
            return re.compile(rf"(?<![a-z0-9'])(?:{body})(?![a-z0-9])")

        request_type = sub.get("type")
        if request_type not in PRIVACY_TYPES:
            raise reader.fail(f"{key}.type", f"must be one of {', '.join(PRIVACY_TYPES)}")
        when = item.get("when", "affirmed")
        if when not in NEAR_WHEN:
            raise reader.fail(f"{key}.when", f"must be one of {', '.join(NEAR_WHEN)}")
        order = item.get("order", "either")
        if order not in ("either", "verb_first"):
            raise reader.fail(f"{key}.order", "must be 'either' or 'verb_first'")
        window = sub.integer("window")
        rules.append(NearRule(
            request_type=request_type, name=str(item.get("name", key)),
            verbs=named("verbs"), objects=named("objects"), window=window,
            either_order=order == "either", when=when))
    return tuple(rules)


def _typos(reader: _Reader, language_words: dict[str, frozenset[str]]) -> Typos | None:
    if "typos" not in reader.data:
        return None
    min_length = reader.integer("typos.min_length")
    sub_min = reader.integer("typos.substitution_min_length")
    targets = {t for t in reader.strings("typos.targets")}
    bad = sorted(t for t in targets if not re.fullmatch(r"[a-z]+", t))
    if bad:
        raise reader.fail("typos.targets", f"must be folded lower-case words: {bad}")
    known = frozenset(targets | set(reader.strings("typos.keep"))
                      | {w for ws in language_words.values() for w in ws})
    variants: dict[str, set[str]] = {}
    wildcards: dict[str, set[str]] = {}
    for word in targets:
        if len(word) < min_length:
            continue
        for i in range(len(word)):  # one letter left out
            variants.setdefault(word[:i] + word[i + 1:], set()).add(word)
        for i in range(len(word) - 1):  # two neighbours swapped
            if word[i] != word[i + 1]:
                swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
                variants.setdefault(swapped, set()).add(word)
        if len(word) >= sub_min:  # one letter wrong
            for i in range(len(word)):
                wildcards.setdefault(word[:i] + "?" + word[i + 1:], set()).add(word)
    return Typos(
        min_length=min_length, substitution_min_length=sub_min, known=known,
        variants={k: next(iter(v)) for k, v in variants.items()
                  if len(v) == 1 and k not in known},
        wildcards={k: next(iter(v)) for k, v in wildcards.items() if len(v) == 1},
    )


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

    words = _words(r)
    sentence_source = r.strings("matching.sentence_breaks") if "matching" in data else (
        "[.;!?]",)
    try:
        sentence_breaks = re.compile("|".join(f"(?:{b})" for b in sentence_source))
    except re.error as exc:
        raise r.fail("matching.sentence_breaks", f"is not a valid pattern ({exc})") from exc
    exceptions = (r.patterns("negation.exceptions")
                  if "exceptions" in r.table("negation") else ())
    own_actions = (r.patterns("negation.own_actions")
                   if "own_actions" in r.table("negation") else ())
    for_relative = (r.patterns("agent.for_relative")
                    if "for_relative" in r.table("agent") else ())

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
        near=_near_rules(r, words),
        sentence_breaks=sentence_breaks,
        negation_exceptions=exceptions,
        own_actions=own_actions,
        agent_for_relative=for_relative,
        typos=_typos(r, language_words),
    )


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules()


# ---------------------------------------------------------------- text helpers ----

def fold(text: str) -> str:
    """Lower case, accents removed, hyphenated line breaks joined, whitespace collapsed."""
    text = re.sub(r"(\w)-[ \t]*\r?\n[ \t]*(\w)", r"\1\2", text)
    if text.isascii():  # nothing to decompose (most mail): a pass per character saved
        stripped = text
    else:
        stripped = strip_marks(unicodedata.normalize("NFKD", text))
        stripped = stripped.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", stripped).strip().lower()


def _negation(rules: Rules, folded: str, start: int) -> re.Match[str] | None:
    """The negation cue in the same clause just before ``start``, if there is one.

    Only the clause the phrase sits in counts ("I'm not happy. Delete my data" is not
    negated), and phrases listed as exceptions ("no longer") are not negations.
    """
    before = folded[max(0, start - rules.negation_window):start]
    if not before:
        return None
    clause = rules.clause_breaks.split(before)[-1]
    for exception in rules.negation_exceptions:
        clause = exception.sub(lambda m: " " * len(m.group(0)), clause)
    return next((m for cue in rules.negation_cues for m in [cue.search(clause)] if m), None)


def _own_action(rules: Rules, folded: str, start: int) -> bool:
    """Whether the clause before ``start`` tells what the writer does not do."""
    before = folded[max(0, start - rules.negation_window):start]
    clause = rules.clause_breaks.split(before)[-1] if before else ""
    return any(p.search(clause) for p in rules.own_actions)


def _negated(rules: Rules, folded: str, start: int) -> bool:
    return _negation(rules, folded, start) is not None


_WORD = re.compile(r"[a-z]+")


def repair_typos(rules: Rules, folded: str) -> tuple[str, list[tuple[str, str]]]:
    """Folded text with words one edit away from a listed word read as that word.

    Only unknown words are touched (not a listed word, not a common word of either
    language, not one the rules say to keep), only toward words of at least
    ``typos.min_length`` letters: a letter left out or two swapped ("delte",
    "acount"), or one letter wrong in long words ("informasion").
    """
    typos = rules.typos
    if typos is None:
        return folded, []
    fixes: list[tuple[str, str]] = []
    # No misspelling is longer than the longest one listed: a 100,000-letter "word" (a
    # pasted blob) is not tried letter by letter (each try copies it: quadratic).
    longest = max(map(len, (*typos.variants, *typos.wildcards)), default=0)

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < typos.min_length - 1 or len(word) > longest or word in typos.known:
            return word
        target = typos.variants.get(word)
        if target is None and len(word) >= typos.substitution_min_length:
            found = {typos.wildcards.get(word[:i] + "?" + word[i + 1:])
                     for i in range(len(word))} - {None}
            target = found.pop() if len(found) == 1 else None
        if target is None:
            return word
        fixes.append((word, target))
        return target

    return _WORD.sub(fix, folded), fixes


@dataclass(frozen=True)
class NearHit:
    start: int
    end: int
    verb_start: int
    text: str


def near_matches(rules: Rules, rule: NearRule, text: str) -> Iterable[tuple[NearHit, bool]]:
    """Verb/object pairs of ``rule`` in ``text`` (folded), each with "is it negated"."""
    verbs = [(m.start(), m.end()) for m in rule.verbs.finditer(text)]
    if not verbs:
        return
    objects = [(m.start(), m.end()) for m in rule.objects.finditer(text)]
    if not objects:
        return
    word_starts = [m.start() for m in _TOKEN.finditer(text)]
    breaks = [m.start() for m in rule_breaks(rules, text)]

    def words_between(end: int, start: int) -> int:
        return bisect_left(word_starts, start) - bisect_left(word_starts, end)

    def same_sentence(a: int, b: int) -> bool:
        return bisect_left(breaks, a) == bisect_right(breaks, b - 1)

    for v_start, v_end in verbs:
        for o_start, o_end in objects:
            if o_start >= v_end:
                first_end, second_start = v_end, o_start
            elif rule.either_order and o_end <= v_start:
                first_end, second_start = o_end, v_start
            else:
                continue
            if words_between(first_end, second_start) > rule.window:
                continue
            start, end = min(v_start, o_start), max(v_end, o_end)
            if not same_sentence(start, end):
                continue
            negated = _negated(rules, text, v_start) or (
                start != v_start and _negated(rules, text, start))
            yield NearHit(start, end, v_start, text[start:end]), negated


_TOKEN = re.compile(r"[a-z0-9']+")


def rule_breaks(rules: Rules, text: str) -> Iterable[re.Match[str]]:
    return rules.sentence_breaks.finditer(text)


# ---------------------------------------------------------------- identifiers ----

# Starts only where a run of local-part characters starts: a long run with no "@" (a
# pasted base64 blob) is then scanned once, not once from every character (quadratic).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")
_ZIP = re.compile(  # not part of a reference, amount, decimal, mileage or longer number
    r"(?<![\w$#/.,-])(\d{5})(?:-\d{4})?(?![\w,]|\.\d|-\d{1,3}\b|-\d{5,})"
    r"(?!\s*(?:miles|mi\b|km|dollars|usd))", re.I)
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


# "my son Tyler", "our daughter, Emma Ruiz,", "a child named Leo", "mi hijo Mateo".
_CHILD_NAMED = re.compile(
    r"\b(?:my|our|mi|nuestr[oa])\s+(?:[\w-]+\s+)?(?:son|daughter|child|kid|boy|girl|"
    r"grandson|granddaughter|hij[oa]|niñ[oa]|niet[oa])\s*,?\s+"
    r"(?:(?:named|called|llamad[oa])\s+)?"
    r"([A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+)?)"
    r"|\b(?:named|called|llamad[oa])\s+([A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+"
    r"(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+)?)",
    re.IGNORECASE,
)
_NOT_A_NAME = frozenset({"is", "was", "has", "who", "and", "signed", "created", "used",
                         "es", "tiene", "que", "y", "se", "i", "we"})


def find_child_name(text: str) -> str | None:
    """The child's name when the parent writes it next to "my son/daughter" or "named"."""
    for match in _CHILD_NAMED.finditer(text[:20_000]):
        name = match.group(1) or match.group(2) or ""
        words = name.split()
        # The pattern is case-insensitive for "My son"; a name must still be capitalized.
        while words and (not words[-1][0].isupper() or words[-1].lower() in _NOT_A_NAME):
            words.pop()
        if words and words[0][0].isupper() and words[0].lower() not in _NOT_A_NAME:
            return " ".join(words)
    return None


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
    original = fold(raw)
    folded, fixes = repair_typos(rules, original)
    reasons: list[str] = [f"‘{typo}’ read as ‘{word}’" for typo, word in _unique_pairs(fixes)]

    found_types: list[str] = []
    for request_type, patterns in rules.request_types.items():
        reason = _phrase_hit(rules, folded, request_type, patterns)
        if reason is None or reason.startswith("!"):
            near = _near_hit(rules, folded, request_type)
            reason = near if near is not None else reason
        if reason is None:
            continue
        if reason.startswith("!"):
            reasons.append(reason[1:])
        else:
            found_types.append(request_type)
            reasons.append(reason)

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
    if agent is None and relation is None:  # a parent writing for a child is no agent
        agent = next((m for p in rules.agent_for_relative for m in [p.search(folded)] if m),
                     None)
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

    counts = {lang: sum(1 for w in re.findall(r"[a-z']+", original) if w in words)
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
        child_name=find_child_name(raw) if is_child else None,
    )


def _phrase_hit(rules: Rules, folded: str, request_type: str,
                patterns: tuple[re.Pattern[str], ...]) -> str | None:
    """The reason a phrase pattern gives; "!"-prefixed when it is only there negated."""
    negated_reason = None
    for pattern in patterns:
        for match in pattern.finditer(folded):
            cue = _negation(rules, folded, match.start())
            if cue is None:
                return f"‘{match.group(0).strip()}’ → {request_type}"
            negated_reason = negated_reason or (
                f"!‘{match.group(0).strip()}’ negated (‘{cue.group(0)}’) → not {request_type}")
    return negated_reason


def _near_hit(rules: Rules, folded: str, request_type: str) -> str | None:
    negated_reason = None
    for rule in rules.near:
        if rule.request_type != request_type:
            continue
        for hit, negated in near_matches(rules, rule, folded):
            counts = rule.when == "any" or (rule.when == "negated") == negated
            if counts and rule.when == "negated" and _own_action(rules, folded, hit.verb_start):
                continue
            if counts:
                return f"‘{hit.text}’ ({rule.name}) → {request_type}"
            if rule.when == "affirmed":
                negated_reason = negated_reason or (
                    f"!‘{hit.text}’ negated → not {request_type}")
    return negated_reason


def _unique_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(pairs))


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
