"""The snippet shown with a hit: a short piece of the case's text around the words that
matched, with where those words are (character spans), for the window to highlight.

Built in Python from the document's original text for both backends alike: each word of
the text is folded as the index folded it and compared with the query's words, so what
is marked is exactly what was searched ("Núñez" is marked for "nunez"; "(916) 555-0143"
for "916.555.0143").
"""

from __future__ import annotations

from dataclasses import dataclass

from caseapp.search.document import Section
from caseapp.search.query import ParsedQuery
from caseapp.search.text import MAX_WORD, WORD, find_identifiers, fold_words, phone_forms

LENGTH = 160
"""Characters of a snippet (about two lines of the results list)."""
BEFORE = 40
"""Context kept before the first marked word."""
MAX_MATCHES = 64
"""Matches looked at per section: a common word may occur thousands of times in a long
thread, and the snippet needs only the first good piece."""


@dataclass(frozen=True)
class Snippet:
    text: str
    spans: tuple[tuple[int, int], ...]  # (start, end) of each marked word in ``text``
    source: str = ""  # where it comes from: case, requester, message, note, scan, ...

    def marked(self, before: str = "[", after: str = "]") -> str:
        """The text with each span wrapped (for the command line and tests)."""
        out, at = [], 0
        for start, end in self.spans:
            out += [self.text[at:start], before, self.text[start:end], after]
            at = end
        out.append(self.text[at:])
        return "".join(out)


def _matches(section: str, query: ParsedQuery) -> list[tuple[int, int, str]]:
    """(start, end, which query word) of every word of ``section`` the query matches."""
    words, prefixes = query.words, query.prefixes
    starts = tuple(prefixes)  # str.startswith takes them all at once
    found: list[tuple[int, int, str]] = []
    for match in WORD.finditer(section):
        token = match.group(0)
        if token.isascii() and token.isalnum():  # most words: folding is lower-casing
            token = token.lower()
            folded = [token] if len(token) <= MAX_WORD else []
        else:
            folded = fold_words(token)
        for word in folded:
            if word in words:
                found.append((match.start(), match.end(), word))
                break
            if starts and word.startswith(starts):
                hit = next(p for p in starts if word.startswith(p))
                found.append((match.start(), match.end(), hit))
                break
        if len(found) >= MAX_MATCHES:
            break
    if any(any(ch.isdigit() for ch in needle) for needle in words | prefixes):
        for item in find_identifiers(section):  # a phone number written any way at all
            if item.kind == "phone" and (words | prefixes) & set(phone_forms(item.words[0])):
                found = [f for f in found if not (item.start <= f[0] < item.end)]
                found.append((item.start, item.end, item.words[0]))
    return sorted(found)


def _may_match(section: str, query: ParsedQuery) -> bool:
    """False when ``section`` certainly holds none of the query's words: a plain-ASCII
    text lower-cased and without apostrophes holds every word it folds to as a
    substring. Other texts, and digits (a phone written with separators), are read."""
    if not section.isascii():
        return True
    needles = query.words | query.prefixes
    if any(not needle.isalpha() for needle in needles):
        return True
    simple = section.lower().replace("'", "").replace("`", "")
    return any(needle in simple for needle in needles)


def _window(matches: list[tuple[int, int, str]]) -> int:
    """Where the piece with the most different matched words starts."""
    best, best_count = matches[0][0], 0
    for index, (start, _end, _word) in enumerate(matches):
        count = len({word for s, _e, word in matches[index:] if s < start + LENGTH - BEFORE})
        if count > best_count:
            best, best_count = start, count
    return best


def make_snippet(sections: tuple[Section, ...], query: ParsedQuery) -> Snippet:
    """The best piece of the sections for ``query``; without matches, the case's first
    words (an empty text lists cases by their filters alone)."""
    if not sections:
        return Snippet("", ())
    scored = []
    terms = [{word for words in term.choices for word in words} for term in query.terms]
    for order, section in enumerate(sections):
        matches = _matches(section.text, query) if query.terms and _may_match(
            section.text, query) else []
        matched = {m[2] for m in matches}
        scored.append((-len(matched), order, section, matches))
        if terms and all(term & matched for term in terms):
            break  # every term shows here: the piece to show is in this section
    _count, _order, section, matches = min(scored, key=lambda item: item[:2])
    text = section.text
    if not matches:
        return Snippet(_cut(text, 0)[0], (), section.source)
    anchor = _window(matches)
    start = max(0, anchor - BEFORE)
    if start:
        space = text.find(" ", start, anchor)
        start = space + 1 if space != -1 else start
    piece, end = _cut(text, start)
    lead = "…" if start else ""
    spans = tuple((s - start + len(lead), min(e, end) - start + len(lead))
                  for s, e, _word in matches if start <= s < end)
    return Snippet(lead + piece, spans, section.source)


def _cut(text: str, start: int) -> tuple[str, int]:
    """LENGTH characters from ``start``, ended at a space, "…" when text follows."""
    end = start + LENGTH
    if end >= len(text):
        return text[start:], len(text)
    space = text.rfind(" ", start + LENGTH // 2, end)
    end = space if space != -1 else end
    return text[start:end] + "…", end
