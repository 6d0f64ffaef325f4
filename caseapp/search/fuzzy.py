"""A misspelled name still finds its case: names close to a word that found nothing.

When the words of a search find nothing (whatever the filters), each plain word of it
(letters only, four or more) that is no name itself is compared with the distinct words of
the parties' names (``search_names``) by optimal string alignment distance, so one
swapped pair of letters counts as one edit ("Smtih" is one edit from "smith"): up to one
edit for a word of four or five letters, two from six.
The word then matches itself or any of its closest names (at most ``MAX_ALTERNATIVES``).
The last word, while still being typed, is compared with the names' starts of the same
length and stays a prefix.

The distinct names are read once and kept per engine until the table changes (its row
count or highest id: a removed name lowers the one, an added name raises the other, a
restored backup moves either), so a second misspelled search costs only the comparison.
The two are read by separate subqueries: in one SELECT, SQLite reads the whole table
for them (12 ms at 100,000 cases) instead of its count and index look-ups (0.03 ms).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, replace

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, Engine, func, select

from caseapp.search.index import names
from caseapp.search.query import ParsedQuery, Term

MIN_LENGTH = 4
MAX_ALTERNATIVES = 5


@dataclass(frozen=True)
class Vocabulary:
    key: tuple[int, int]  # (rows, highest id) of search_names when read
    words: tuple[str, ...]


_cache: weakref.WeakKeyDictionary[Engine, Vocabulary] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_KEY = select(select(func.count()).select_from(names).scalar_subquery(),
              select(func.coalesce(func.max(names.c.id), 0)).scalar_subquery())


def name_words(connection: Connection) -> tuple[str, ...]:
    """The distinct folded words of every case's party names."""
    rows, highest = connection.execute(_KEY).one()
    key = (int(rows), int(highest))
    engine = connection.engine
    with _lock:
        cached = _cache.get(engine)
    if cached is not None and cached.key == key:
        return cached.words
    words = tuple(sorted(connection.scalars(select(names.c.word).distinct())))
    with _lock:
        _cache[engine] = Vocabulary(key, words)
    return words


def widen_by_names(connection: Connection, query: ParsedQuery, *, names_too: bool = False
                   ) -> ParsedQuery | None:
    """``widen`` against the names of the cases as they are now."""
    return widen(query, name_words(connection), names_too=names_too)


def allowed_edits(length: int) -> int:
    return 0 if length < MIN_LENGTH else 1 if length < 6 else 2


def _closest(word: str, choices: list[str]) -> tuple[str, ...]:
    edits = allowed_edits(len(word))
    if not edits:
        return ()
    found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=edits,
                            limit=MAX_ALTERNATIVES + 1)
    # Nearest first; ties in the vocabulary's order, which is stable per read.
    ordered = sorted(found, key=lambda item: (item[1], item[2]))
    return tuple(choice for choice, _distance, _index in ordered if choice != word
                 )[:MAX_ALTERNATIVES]


def widen(query: ParsedQuery, vocabulary: tuple[str, ...], *, names_too: bool = False
          ) -> ParsedQuery | None:
    """``query`` with its plain words also matching the closest names, or None when no
    word has a close name (nothing to try). A word that is a name itself is left alone,
    unless ``names_too`` (the duplicate finder looks for the names close to a name)."""
    if not vocabulary:
        return None
    known = frozenset(vocabulary)
    whole = list(vocabulary)
    starts: dict[int, list[str]] = {}
    terms: list[Term] = []
    widened = False
    for term in query.terms:
        word = term.words[0]
        if len(term.words) != 1 or not word.isalpha() or (not names_too and word in known):
            terms.append(term)
            continue
        if term.prefix:  # the names' starts, a letter or two shorter ones whole
            size = len(word)
            if size not in starts:
                shortest = size - allowed_edits(size)
                starts[size] = list(dict.fromkeys(w[:size] for w in vocabulary
                                                  if len(w) >= shortest))
            alternatives = _closest(word, starts[size])
        else:
            alternatives = _closest(word, whole)
        if alternatives:
            widened = True
            terms.append(replace(term, alternatives=alternatives))
        else:
            terms.append(term)
    return replace(query, terms=tuple(terms)) if widened else None
