"""Benchmark: case search at scale (DESIGN.md: p95 ≤ 50 ms and within 1.5× of the bare
FTS query on the same data), on SQLite and PostgreSQL, and whether the intended case is
found.

Queries, each built from a case sampled from the database (its own name, phone, email,
letter), the way a user types them, through ``Desk.search(SearchQuery(...))`` (one page
of 50, the total, the rows and the marked snippets, as the window shows them):

- full name: "First Last";
- misspelled surname: "First Lsat" (one letter changed, or two swapped; the misspelled
  word is in no document);
- a phone number typed three ways: "(415) 555-0134", "415.555.0134", "+1 415 555 0134";
- an email address;
- a word from a scanned letter: the letter's rarest word that is in 2 to 50 cases (in
  another case too, so not an OCR misreading; in at most a page of cases, so one that
  tells the letter apart), not the writer's name;
- a word + filters: a word of the case's first message found in 0.2–5% of the cases,
  with the case's status, channel and a 31-day received range;
- a common word (page of 50 of thousands of hits).

Beside each, the bare query on the same data with the same match expression
(caseapp.search.query's own translation of the text): SQLite ``SELECT rowid FROM
search_fts WHERE search_fts MATCH ? ORDER BY bm25(search_fts) LIMIT 50`` on a plain
sqlite3 connection; PostgreSQL the tsquery on ``search_documents.tsv`` ordered by
``ts_rank``, LIMIT 50, on a plain psycopg connection. For "word + filters" the bare query
joins ``cases`` with the same filters (on SQLite as ``CROSS JOIN``, the match first: its
planner would otherwise run the match once per filtered case). And "the same page by
hand": what the service answers, in plain SQL (the capped count, then the ranked page of
50 with the case list's columns and the stored sections), to show how much of the
service's time is Python. The three take turns, probe by probe.

"Found" counts the probes whose case is on the page of 50 the search returned.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Breakdown,
    Figure,
    Section,
    fmt_ms,
    fmt_ratio,
    log,
    open_cases,
    p50,
    p95,
    ratio,
)
from caseapp.records.normalize import fold
from caseapp.search.query import parse_query
from caseapp.services import Desk
from caseapp.services.search import COUNT_LIMIT, SearchQuery

KINDS = ("full name", "misspelled surname", "phone (415) 555-0134", "phone 415.555.0134",
         "phone +1 415 555 0134", "email", "word from a scanned letter", "word + filters",
         "common word, page of 50")
COMMON = ("information", "please", "request", "privacy", "personal", "delete", "thank")
TARGET_MS = 50.0
TARGET_RATIO = 1.5
TARGET_FOUND = 0.95
PAGE = 50
PROBES = 2
"""Bumped when the probes chosen change: cached ones of an older version are chosen again."""


@dataclass(frozen=True)
class Probe:
    kind: str
    text: str
    case_id: int  # 0: no particular case (common word)
    ref: str = ""
    status: str = ""
    channel: str = ""
    received_from: str = ""
    received_to: str = ""
    note: str = ""  # e.g. how many cases hold the word

    def query(self) -> SearchQuery:
        return SearchQuery(
            text=self.text, status=self.status, channel=self.channel, limit=PAGE,
            received_from=date.fromisoformat(self.received_from) if self.received_from
            else None,
            received_to=date.fromisoformat(self.received_to) if self.received_to else None)


# --- choosing the probes -----------------------------------------------------------------

def _df(connection: Any, word: str) -> int:
    row = connection.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?",
                             (f'"{word}"',)).fetchone()
    return int(row[0])


def _misspell(rng: random.Random, word: str) -> list[str]:
    """Misspellings of ``word``: one letter changed, or two neighbours swapped."""
    forms = []
    letters = "aeioulnrst"
    for _ in range(12):
        chars = list(word)
        at = rng.randrange(1, len(chars))  # keep the first letter, as people do
        if rng.random() < 0.5 and at < len(chars) - 1 and chars[at] != chars[at + 1]:
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        else:
            chars[at] = rng.choice([c for c in letters if c != chars[at].lower()])
        form = "".join(chars)
        if form.lower() != word.lower():
            forms.append(form)
    return forms


def choose_probes(path: Path, per_kind: int, seed: int = 17) -> list[Probe]:
    """Probes from the SQLite database at ``path`` (the PostgreSQL one holds the same)."""
    connection = open_cases(path)
    rng = random.Random(seed)
    (count,) = connection.execute("SELECT max(id) FROM cases").fetchone()
    probes: dict[str, list[Probe]] = {kind: [] for kind in KINDS}
    tries = 0
    while any(len(v) < per_kind for k, v in probes.items() if k != KINDS[-1]):
        tries += 1
        if tries > per_kind * 400:
            break
        case_id = rng.randint(1, count)
        row = connection.execute(
            "SELECT c.ref, c.status, c.channel, c.received_on, p.name, p.email, p.phone "
            "FROM cases c JOIN parties p ON p.case_id = c.id AND p.role = 'requester' "
            "WHERE c.id = ?", (case_id,)).fetchone()
        if row is None:
            continue
        ref, status, channel, received, name, email, phone = row
        base = {"case_id": case_id, "ref": ref}
        first, _, last = name.partition(" ")

        def want(kind: str) -> bool:
            return len(probes[kind]) < per_kind

        if want("full name") and last:
            probes["full name"].append(Probe("full name", name, **base))
        if want("misspelled surname") and len(last) >= 5 and " " not in last:
            for form in _misspell(rng, last):
                if _df(connection, fold(form)) == 0:
                    probes["misspelled surname"].append(Probe(
                        "misspelled surname", f"{first} {form}", **base,
                        note=f"{last} → {form}"))
                    break
        digits = re.sub(r"\D", "", phone or "")[-10:]
        if len(digits) == 10:
            a, b, c = digits[:3], digits[3:6], digits[6:]
            for kind, typed in (("phone (415) 555-0134", f"({a}) {b}-{c}"),
                                ("phone 415.555.0134", f"{a}.{b}.{c}"),
                                ("phone +1 415 555 0134", f"+1 {a} {b} {c}")):
                if want(kind):
                    probes[kind].append(Probe(kind, typed, **base, note=f"stored {phone}"))
        if want("email") and email:
            probes["email"].append(Probe("email", email, **base))
        if want("word from a scanned letter") and channel == "postal":
            letter = connection.execute(
                "SELECT text FROM documents WHERE case_id = ? AND kind = 'scan'",
                (case_id,)).fetchone()
            if letter:
                own = set(fold(name).split())
                words = {w for w in fold(letter[0]).split()
                         if w.isalpha() and len(w) >= 5 and w not in own}
                scored = sorted((_df(connection, w), w) for w in words)
                # In other cases too (not an OCR misreading), but in no more than a page
                # of them: a word that tells the letter apart, as one remembers it.
                scored = [(df, w) for df, w in scored if 2 <= df <= PAGE]
                if scored:
                    df, word = scored[0]
                    probes["word from a scanned letter"].append(Probe(
                        "word from a scanned letter", word, **base,
                        note=f"in {df} cases"))
        if want("word + filters"):
            body = connection.execute(
                "SELECT body_text FROM messages WHERE case_id = ? ORDER BY id LIMIT 1",
                (case_id,)).fetchone()
            if body:
                words = sorted({w for w in fold(body[0]).split() if w.isalpha() and len(w) >= 4})
                rng.shuffle(words)
                for word in words[:12]:
                    df = _df(connection, word)
                    if 0.002 * count <= df <= 0.05 * count:
                        day = date.fromisoformat(str(received)[:10])
                        probes["word + filters"].append(Probe(
                            "word + filters", word, **base, status=status, channel=channel,
                            received_from=(day - timedelta(days=15)).isoformat(),
                            received_to=(day + timedelta(days=15)).isoformat(),
                            note=f"in {df} cases; {status}, {channel}"))
                        break
    for number in range(per_kind):
        word = COMMON[number % len(COMMON)]
        probes[KINDS[-1]].append(Probe(KINDS[-1], word, 0,
                                       note=f"in {_df(connection, word)} cases"))
    connection.close()
    return [probe for kind in KINDS for probe in probes[kind]]


def cached_probes(path: Path, per_kind: int) -> list[Probe]:
    cache = path.parent / f"probes-v{PROBES}-{per_kind}.json"
    try:
        return [Probe(**item) for item in json.loads(cache.read_text())]
    except (OSError, ValueError, TypeError):
        pass
    probes = choose_probes(path, per_kind)
    cache.write_text(json.dumps([asdict(p) for p in probes], ensure_ascii=False, indent=0))
    return probes


# --- the bare queries ----------------------------------------------------------------------

def _filters_sql(probe: Probe, mark: str) -> tuple[str, list[Any]]:
    if not probe.status:
        return "", []
    return (f" AND c.status = {mark} AND c.channel = {mark} AND c.received_on >= {mark} "
            f"AND c.received_on < {mark}",
            [probe.status, probe.channel, probe.received_from,
             (date.fromisoformat(probe.received_to) + timedelta(days=1)).isoformat()])


def sqlite_bare(path: Path) -> tuple[Callable[[Probe], list[int]], Callable[[], None]]:
    connection = open_cases(path, check_same_thread=False)

    def bare(probe: Probe) -> list[int]:
        match = parse_query(probe.text).to_fts5()
        where, values = _filters_sql(probe, "?")
        if where:
            # CROSS JOIN: the match first, then each match's case (SQLite's planner would
            # otherwise walk the filtered cases and match once per case).
            sql = ("SELECT f.rowid FROM search_fts f CROSS JOIN cases c ON c.id = f.rowid WHERE "
                   f"search_fts MATCH ?{where} ORDER BY bm25(search_fts) LIMIT {PAGE}")
        else:
            sql = ("SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
                   f"ORDER BY bm25(search_fts) LIMIT {PAGE}")
        return [r[0] for r in connection.execute(sql, [match, *values])]

    return bare, connection.close


def _psycopg(url: str) -> Any:
    """A plain psycopg connection (autocommit) to the server of ``url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                           dbname=parsed.database, autocommit=True)


def postgres_bare(url: str) -> tuple[Callable[[Probe], list[int]], Callable[[], None]]:
    connection = _psycopg(url)

    def bare(probe: Probe) -> list[int]:
        tsquery = parse_query(probe.text).to_tsquery()
        where, values = _filters_sql(probe, "%s")
        join = " JOIN cases c ON c.id = d.case_id" if where else ""
        sql = (f"SELECT d.case_id FROM search_documents d{join}, to_tsquery('simple', %s) q "
               f"WHERE d.tsv @@ q{where} ORDER BY ts_rank(d.tsv, q) DESC LIMIT {PAGE}")
        return [r[0] for r in connection.execute(sql, [tsquery, *values])]

    return bare, connection.close


# The same page by hand: what the service answers (the total, up to the count limit; the
# page of 50 ranked, with the list's columns and the stored sections), in plain SQL,
# rows fetched and nothing else done with them. The service's cost beyond this is Python:
# statements built, rows turned into the list's rows, snippets marked.
_PAGE_COLUMNS = ("c.id, c.ref, c.status, c.channel, p.name, c.jurisdiction, c.received_on, "
                 "c.due_on, c.priority, c.is_child, u.username, c.intake_review, "
                 "c.claimed_by, c.claimed_at, c.claim_expires_at, d.sections")
_PAGE_JOINS = ("{join} cases c ON c.id = h.case_id "
               "LEFT JOIN parties p ON p.case_id = c.id AND p.role = 'requester' "
               "LEFT JOIN users u ON u.id = c.assignee_id "
               "LEFT JOIN search_documents d ON d.case_id = c.id")


def sqlite_bare_page(path: Path) -> tuple[Callable[[Probe], list[int]], Callable[[], None]]:
    connection = open_cases(path, check_same_thread=False)

    def bare_page(probe: Probe) -> list[int]:
        match = parse_query(probe.text).to_fts5()
        where, values = _filters_sql(probe, "?")
        connection.execute("SELECT count(*) FROM (SELECT rowid FROM search_fts WHERE "
                           f"search_fts MATCH ? LIMIT {COUNT_LIMIT + 1})", [match]).fetchone()
        rows = connection.execute(
            f"SELECT {_PAGE_COLUMNS} FROM (SELECT rowid AS case_id, bm25(search_fts) AS rank "
            f"FROM search_fts WHERE search_fts MATCH ?) h {_PAGE_JOINS.format(join='CROSS JOIN')} "
            f"WHERE 1 = 1{where} "
            f"ORDER BY h.rank, c.priority, c.due_on, c.id LIMIT {PAGE}",
            [match, *values]).fetchall()
        return [row[0] for row in rows]

    return bare_page, connection.close


def postgres_bare_page(url: str) -> tuple[Callable[[Probe], list[int]], Callable[[], None]]:
    connection = _psycopg(url)

    def bare_page(probe: Probe) -> list[int]:
        tsquery = parse_query(probe.text).to_tsquery()
        where, values = _filters_sql(probe, "%s")
        connection.execute("SELECT count(*) FROM (SELECT case_id FROM search_documents WHERE "
                           f"tsv @@ to_tsquery('simple', %s) LIMIT {COUNT_LIMIT + 1}) m",
                           [tsquery]).fetchone()
        rows = connection.execute(
            f"SELECT {_PAGE_COLUMNS} FROM (SELECT s.case_id, -ts_rank(s.tsv, q) AS rank "
            "FROM search_documents s, to_tsquery('simple', %s) q WHERE s.tsv @@ q) h "
            f"{_PAGE_JOINS.format(join='JOIN')} WHERE 1 = 1{where} "
            "ORDER BY h.rank, c.priority, c.due_on, c.id "
            f"LIMIT {PAGE}", [tsquery, *values]).fetchall()
        return [row[0] for row in rows]

    return bare_page, connection.close


# --- measuring -----------------------------------------------------------------------------

def breakdown() -> Breakdown:
    """The parts of a service search, timed."""
    return Breakdown((("SQL", "caseapp.services.search", "_run"),
                      ("fuzzy", "caseapp.search.fuzzy", "widen"),
                      ("fuzzy", "caseapp.search.fuzzy", "name_words"),
                      ("rows", "caseapp.services.search", "case_rows_by_id"),
                      ("rows", "caseapp.services.search", "case_rows_from"),
                      ("snippets", "caseapp.services.search", "make_snippet")))


@dataclass
class KindResult:
    kind: str
    service_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)  # the same page by hand
    found: int = 0
    bare_found: int = 0
    targeted: int = 0  # probes with an intended case
    totals: list[int] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    example: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def found_share(self) -> float | None:
        return self.found / self.targeted if self.targeted else None

    @property
    def p95_ratio(self) -> float:
        return ratio(p95(self.service_ms), p95(self.bare_ms))

    @property
    def page_ratio(self) -> float:
        return ratio(p95(self.service_ms), p95(self.page_ms))

    @property
    def missed(self) -> list[str]:
        share = self.found_share
        return [what for what, ok in (
            ("50 ms", p95(self.service_ms) <= TARGET_MS),
            ("1.5×", self.p95_ratio <= TARGET_RATIO),
            ("found", share is None or share >= TARGET_FOUND)) if not ok]


Bare = Callable[[Probe], list[int]]


def measure(desk: Desk, probes: list[Probe], bare: Bare, bare_page: Bare,
            warmup: int = 10) -> dict[str, KindResult]:
    results = {kind: KindResult(kind) for kind in KINDS}
    with breakdown() as parts:
        _measure(desk, probes, bare, bare_page, warmup, results, parts)
    return results


def _measure(desk: Desk, probes: list[Probe], bare: Bare, bare_page: Bare, warmup: int,
             results: dict[str, KindResult], parts: Breakdown) -> None:
    # Warm-up: the desk's first search (ensure_index), connections, the page cache.
    for kind in KINDS:
        for probe in [p for p in probes if p.kind == kind][:warmup]:
            desk.search(probe.query())
            bare(probe)
            bare_page(probe)
    parts.take()
    for number, probe in enumerate(probes):
        result = results[probe.kind]
        result.example = result.example or probe.text
        query = probe.query()
        order = ((0, 1, 2), (1, 2, 0), (2, 0, 1))[number % 3]
        for which in order:
            started = time.perf_counter()
            if which == 0:
                found = desk.search(query)
                result.service_ms.append((time.perf_counter() - started) * 1000)
                for part, ms in parts.take().items():
                    result.parts.setdefault(part, []).append(ms)
                result.totals.append(found.total)
                if probe.case_id:
                    result.found += probe.ref in {hit.ref for hit in found.hits}
            elif which == 1:
                ids = bare(probe)
                result.bare_ms.append((time.perf_counter() - started) * 1000)
                if probe.case_id:
                    result.bare_found += probe.case_id in ids
            else:
                bare_page(probe)
                result.page_ms.append((time.perf_counter() - started) * 1000)
        if probe.case_id:
            result.targeted += 1
        if probe.note and len(result.notes) < 3:
            result.notes.append(probe.note)


def table(results: dict[str, KindResult]) -> list[str]:
    lines = ["| query | e.g. | p50 | p95 | bare p50 | bare p95 | p95 ratio | same page by hand, "
             "p95 | ratio to it | found (bare) | total hits, median | parts of the slowest "
             "tenth, mean ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for result in results.values():
        if not result.service_ms:
            continue
        share = result.found_share
        found = (f"{result.found}/{result.targeted} ({result.bare_found})"
                 if share is not None else "–")
        totals = sorted(result.totals)
        slow = sorted(range(len(result.service_ms)), key=result.service_ms.__getitem__)
        tail = slow[int(0.9 * len(slow)):]  # the slowest tenth: what makes the p95
        parts = ", ".join(
            f"{part} {sum(times[i] for i in tail if i < len(times)) / len(tail):.1f}"
            for part, times in result.parts.items() if len(times) == len(result.service_ms))
        lines.append(
            f"| {result.kind} | `{result.example}` | {fmt_ms(p50(result.service_ms))} | "
            f"{fmt_ms(p95(result.service_ms))} | {fmt_ms(p50(result.bare_ms))} | "
            f"{fmt_ms(p95(result.bare_ms))} | {fmt_ratio(result.p95_ratio)} | "
            f"{fmt_ms(p95(result.page_ms))} | {fmt_ratio(result.page_ratio)} | {found} | "
            f"{totals[len(totals) // 2]:,} | {parts} |")
    return lines


def figures(results: dict[str, KindResult], backend: str) -> list[Figure]:
    out = []
    for result in results.values():
        if not result.service_ms:
            continue
        share = result.found_share
        value = f"p95 {fmt_ms(p95(result.service_ms))}"
        if share is not None:
            value += f", found {share:.0%}"
        out.append(Figure(f"Search {backend}: {result.kind}", value,
                          f"bare p95 {fmt_ms(p95(result.bare_ms))}; same page by hand "
                          f"{fmt_ms(p95(result.page_ms))} ({fmt_ratio(result.page_ratio)})",
                          fmt_ratio(result.p95_ratio),
                          "p95 ≤ 50 ms, ≤ 1.5× bare" + (", found ≥ 95%"
                                                        if share is not None else ""),
                          not result.missed, ", ".join(result.missed)))
    return out


def run(sqlite_path: Path, postgres_url: str | None, per_kind: int) -> Section:
    """Both backends on the same probes; the section and its summary figures."""
    probes = cached_probes(sqlite_path, per_kind)
    counts = {kind: sum(p.kind == kind for p in probes) for kind in KINDS}
    log(f"search: {len(probes)} probes ({', '.join(f'{k}: {n}' for k, n in counts.items())})")
    section = Section("Case search")
    Opened = tuple[Bare, Callable[[], None]]
    backends: list[tuple[str, str, Callable[[], Opened], Callable[[], Opened]]] = [
        ("SQLite", f"sqlite:///{sqlite_path}", lambda: sqlite_bare(sqlite_path),
         lambda: sqlite_bare_page(sqlite_path))]
    if postgres_url:
        backends.append(("PostgreSQL", postgres_url, lambda: postgres_bare(postgres_url),
                         lambda: postgres_bare_page(postgres_url)))
    for name, url, make_bare, make_page in backends:
        desk = Desk(url, "bench")
        bare, close = make_bare()
        bare_page, close_page = make_page()
        try:
            started = time.perf_counter()
            results = measure(desk, probes, bare, bare_page)
            log(f"search on {name}: {time.perf_counter() - started:.0f} s")
        finally:
            close()
            close_page()
            desk.close()
        section.lines += [f"### {name}", "", *table(results), ""]
        section.figures += figures(results, name)
        for line in table(results)[2:]:
            log(f"  {line}")
    notes = {kind: [] for kind in KINDS}
    for probe in probes:
        if probe.note and len(notes[probe.kind]) < 3:
            notes[probe.kind].append(f"`{probe.text}` ({probe.note})")
    section.lines += [
        f"{per_kind} probes per query kind (cases sampled with a fixed seed; the same probes "
        "on both backends), after 10 warm-up searches per kind; the service and the bare "
        "queries take turns probe by probe. Times are wall-clock in this process, the service's "
        "including its session, the page's rows, the total and the snippets. \"found\": the "
        "intended case is on the page of 50 (in brackets: on the bare query's 50). Ratio: "
        "p95 over bare p95. Targets (DESIGN.md): p95 ≤ 50 ms and ≤ 1.5× bare. \"Same page by "
        "hand\": what the service answers, in plain SQL on a plain connection (the count up "
        "to 1,001 matches, then the page of 50 ranked with the list's columns and the stored "
        "sections, rows fetched): the service's cost beyond it is Python (statements built, "
        "the list's rows made, snippets marked); its ratio is shown, the target is judged "
        "on the bare query alone. The word from "
        "a scanned letter is the letter's rarest word found in 2 to 50 cases (not the "
        "writer's name); the word with filters is in 0.2–5% of the cases. Parts: mean "
        "milliseconds, over the slowest tenth of the kind's searches, spent in the search "
        "service's count and page queries (`_run`, the page's rows included when one "
        "statement reads them), the fuzzy name fallback, the page's rows (`case_rows_from`, "
        "`case_rows_by_id`) and the snippets (`make_snippet`).",
        "",
        "Examples: " + "; ".join(f"{kind}: {', '.join(items)}" for kind, items in
                                  notes.items() if items) + ".",
    ]
    return section
