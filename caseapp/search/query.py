"""Any text typed into the search box, as a query both backends run without error.

Nothing the user types is search syntax for the database: every term becomes a quoted
FTS5 string or a quoted tsquery lexeme made of folded words only, so "Dr.", "O'Brien",
"a+b", a lone "-", "NEAR(", "AND OR NOT" or a NUL are just text.

- Words are folded like the documents' (caseapp.search.text); a chunk of several words
  ("a+b", "PR-2026-00042", "O'Brien-Smith") is a phrase: its words next to each other.
- "double quotes" make a phrase of several chunks (an unclosed quote runs to the end).
- An email address is the phrase of its parts; a phone number in any spelling is its
  E.164 digits.
- All terms must match. The last term matches as a prefix while it is being typed (the
  text does not end in a space) or when it ends in "*".
- A text with no words at all (only punctuation, spaces, emoji) has no text condition;
  a word too long to be indexed matches nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from caseapp.records.normalize import fold as fold_text
from caseapp.search.text import EMAIL, MAX_WORD, PHONE, phone_digits

MAX_QUERY = 1000
"""Characters of the typed text looked at."""
MAX_TERMS = 16
MAX_PHRASE = 16

_TOKEN = re.compile(
    rf'"(?P<phrase>[^"]*)(?P<closed>"?)|(?P<email>{EMAIL.pattern})|(?P<phone>{PHONE.pattern})'
    r'|(?P<chunk>[^\s"]+)')


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    prefix: bool = False  # the last word may be the start of a longer one
    alternatives: tuple[str, ...] = ()  # a one-word term: other words it may match
    # (the names closest to a misspelled word, caseapp.search.fuzzy)

    @property
    def choices(self) -> tuple[tuple[str, ...], ...]:
        """The word sequences that satisfy this term."""
        return (self.words, *((word,) for word in self.alternatives))


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()
    matches_nothing: bool = False

    @property
    def is_empty(self) -> bool:
        """No text condition: list by the filters alone."""
        return not self.terms and not self.matches_nothing

    def to_fts5(self) -> str:
        """The FTS5 MATCH expression: quoted strings joined by AND."""
        parts = []
        for term in self.terms:
            quoted = ['"' + " ".join(words).replace('"', '""') + '"'
                      + (" *" if term.prefix else "") for words in term.choices]
            parts.append(quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")")
        return " AND ".join(parts)

    def to_tsquery(self) -> str:
        """The text for PostgreSQL's to_tsquery('simple', ...): quoted lexemes, <-> for
        phrases, :* for a prefix, & between terms."""
        parts = []
        for term in self.terms:
            phrases = []
            for words in term.choices:
                lexemes = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
                           for word in words]
                if term.prefix:
                    lexemes[-1] += ":*"
                phrase = " <-> ".join(lexemes)
                phrases.append(f"({phrase})" if len(lexemes) > 1 else phrase)
            parts.append(phrases[0] if len(phrases) == 1 else "(" + " | ".join(phrases) + ")")
        return " & ".join(parts)

    @property
    def words(self) -> frozenset[str]:
        """Every word searched whole (for marking snippets)."""
        return frozenset(word for term in self.terms for words in term.choices
                         for index, word in enumerate(words)
                         if not (term.prefix and index == len(words) - 1))

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(words[-1] for term in self.terms if term.prefix
                         for words in term.choices)


def _printable(text: str) -> str:
    """Control and format characters (NUL, bidi overrides...) as spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")
                   else ch for ch in text)


def parse_query(text: str) -> ParsedQuery:
    """``text`` as typed (anything at all) → the terms to search for. Never raises."""
    text = _printable(str(text)[:MAX_QUERY])
    terms: list[Term] = []
    too_long = False
    last_open = False  # whether the last term may still be being typed
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        raw = match.group(0)
        if match.group("phrase") is not None:
            raw_words = match.group("phrase").split()
            words = [w for chunk in raw_words for w in _fold(chunk)]
            last_open = not match.group("closed")
        elif match.group("email") is not None:
            words = _fold(raw)  # as-you-type: "…@example.co" is on its way to ".com"
            last_open = True
        elif match.group("phone") is not None:
            digits = phone_digits(raw)
            words = [digits] if digits else _fold(raw)
            last_open = digits is None
        else:
            words = _fold(raw)
            last_open = True
        if any(len(w) > MAX_WORD for w in words):
            too_long = True
        words = [w for w in words if len(w) <= MAX_WORD][:MAX_PHRASE]
        if words:
            explicit = kind == "chunk" and raw.endswith("*")
            terms.append(Term(tuple(words), prefix=explicit))
        else:
            last_open = False  # "nunez -": nunez is complete
    if terms and last_open and not text[-1:].isspace():
        last = terms[-1]
        terms[-1] = Term(last.words, prefix=True)
    if too_long:
        return ParsedQuery(matches_nothing=True)
    unique: list[Term] = []
    for term in terms:
        if term not in unique:
            unique.append(term)
    return ParsedQuery(tuple(unique[:MAX_TERMS]))


def _fold(text: str) -> list[str]:
    """The folded words of a chunk, long ones too (the caller decides about them)."""
    return fold_text(text).split()
