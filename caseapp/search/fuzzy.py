"""A misspelled name still finds its case: names close to a word that found nothing.

When the words of a search find nothing (whatever the filters), each plain word of it
(letters only, four or more) that is no name itself is compared with the distinct words of
the parties' names (``search_names``) by optimal string alignment distance, so one
swapped pair of letters counts as one edit ("Smtih" is one edit from "smith"): up to one
edit for a word of four or five letters, two from six.
The word then matches itself or any of its closest names (at most ``MAX_ALTERNATIVES``).
The last word, while still being typed, is compared with the names' starts of the same
length and stays a prefix.

The distinct names are read once and kept per engine until a name is added (the table's
highest id grows: ids are never reused), so a second misspelled search costs only the
comparison. Counting the rows would catch removals too, but reads the whole table
(12 ms at 100,000 cases); instead the words a search is about to rely on are looked up
(by the index on ``word``), and a vocabulary that still holds a removed name (a purged
case's) is read again before anything is searched or shown.
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
    key: int  # the highest id of search_names when read
    words: tuple[str, ...]


_cache: weakref.WeakKeyDictionary[Engine, Vocabulary] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def name_words(connection: Connection, *, fresh: bool = False) -> tuple[str, ...]:
    """The distinct folded words of every case's party names: every name there is, and
    possibly names removed since they were read (``fresh``: read them again now)."""
    key = int(connection.scalar(select(func.coalesce(func.max(names.c.id), 0))) or 0)
    engine = connection.engine
    with _lock:
        cached = _cache.get(engine)
    if not fresh and cached is not None and cached.key == key:
        return cached.words
    words = tuple(sorted(connection.scalars(select(names.c.word).distinct())))
    with _lock:
        _cache[engine] = Vocabulary(key, words)
    return words


def widen_by_names(connection: Connection, query: ParsedQuery, *, names_too: bool = False
                   ) -> ParsedQuery | None:
    """``widen`` against the names of the cases as they are now: a name removed since the
    vocabulary was read (a purged case's) is never searched or shown."""
    widened, backing = _widen(query, name_words(connection), names_too=names_too)
    if backing:
        present = set(connection.scalars(
            select(names.c.word).where(names.c.word.in_(sorted(set().union(*backing))))
            .distinct()))
        if not all(present.intersection(sources) for sources in backing):
            widened, _ = _widen(query, name_words(connection, fresh=True),
                                names_too=names_too)
    return widened


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
    return _widen(query, vocabulary, names_too=names_too)[0]


def _widen(query: ParsedQuery, vocabulary: tuple[str, ...], *, names_too: bool
           ) -> tuple[ParsedQuery | None, list[frozenset[str]]]:
    """``widen``, and the names it relied on: for each word it left alone for being a
    name, and each alternative it chose, the names behind it (a name's start stands for
    every name that begins so); each holds while any of its names is still there."""
    if not vocabulary:
        return None, []
    known = frozenset(vocabulary)
    whole = list(vocabulary)
    starts: dict[int, dict[str, list[str]]] = {}
    backing: list[frozenset[str]] = []
    terms: list[Term] = []
    widened = False
    for term in query.terms:
        word = term.words[0]
        if len(term.words) != 1 or not word.isalpha():
            terms.append(term)
            continue
        if not names_too and word in known:
            backing.append(frozenset((word,)))
            terms.append(term)
            continue
        if term.prefix:  # the names' starts, a letter or two shorter ones whole
            size = len(word)
            if size not in starts:
                shortest = size - allowed_edits(size)
                starts[size] = _starts(vocabulary, size, shortest)
            alternatives = _closest(word, list(starts[size]))
            backing += [frozenset(starts[size][start]) for start in alternatives]
        else:
            alternatives = _closest(word, whole)
            backing += [frozenset((name,)) for name in alternatives]
        if alternatives:
            widened = True
            terms.append(replace(term, alternatives=alternatives))
        else:
            terms.append(term)
    return (replace(query, terms=tuple(terms)) if widened else None), backing


def _starts(vocabulary: tuple[str, ...], size: int, shortest: int) -> dict[str, list[str]]:
    """The names' first ``size`` letters (of names at least ``shortest`` long), each with
    the names that begin so, in the vocabulary's order."""
    starts: dict[str, list[str]] = {}
    for name in vocabulary:
        if len(name) >= shortest:
            starts.setdefault(name[:size], []).append(name)
    return starts
