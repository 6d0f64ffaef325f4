"""Benchmark: mail import into the full-scale case database (DESIGN.md: classified, cased
and indexed at ≥ 25% of the bare stdlib parse rate in the same run; re-import of the same
mbox: 0 new rows).

1. An mbox of synthetic privacy-request mails (bench.corpus): mostly new requests, some
   in Spanish, follow-ups to earlier mails of the file, replies quoting the reference of a
   case already in the database, questions that are not privacy requests; some with an
   HTML part, a few with a PDF attachment.
2. Bare: the stdlib reads the same file (``mailbox.mbox``, each message parsed by
   ``email.message_from_bytes`` with ``policy.default``, every part walked and its content
   decoded).
3. ``Desk.import_files`` (what ``caseapp import`` runs) into a copy of the full-scale
   SQLite case database: canonical bytes and dedupe, parsing and classification in the
   worker processes, case opened or threaded, the search index, audit; timed from the call
   to the last result, the parser processes' start included.
4. The same file again: every message a duplicate, no new row.

Run alone:  .venv/bin/python -m bench.mail_import [--mails 5000] [--quick] [--data DIR]
"""

from __future__ import annotations

import argparse
import email
import mailbox
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

from bench.common import Breakdown, Figure, Section, log, open_cases
from bench.corpus import Corpus, Person

TARGET_SHARE = 0.25
PARTS = (
    ("storing (a unit of work per 50 mails, main thread)", "caseapp.services.intake",
     "_commit"),
    ("… opening cases (`insert_case`)", "caseapp.services.intake", "insert_case"),
    ("… the search index (`reindex_cases` before each commit)", "caseapp.search.tracking",
     "reindex_cases"),
    ("… audit records (`audit.record`, also inside opening cases)", "caseapp.audit", "record"),
    ("dedupe check (`_already_taken_in_many`, one query per batch, main thread)",
     "caseapp.services.intake", "_already_taken_in_many"),
    ("reading (`_read_mails`: each half of a batch handed to a worker process at once, "
     "parsed and classified there; 2 threads, summed over both, beside the storing)",
     "caseapp.services.intake", "_read_mails"),
)
COUNTED = ("cases", "messages", "blobs", "parties", "search_documents", "audit_events")


def write_mbox(path: Path, count: int, refs: list[str], seed: int = 41) -> int:
    """An mbox of ``count`` mails at ``path``; returns its size in bytes."""
    rng = random.Random(seed)
    corpus = Corpus(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    earlier: list[tuple[str, str, Person]] = []  # message id, subject, person
    attachment = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(30_000))
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    try:
        for number in range(count):
            sent = now - timedelta(minutes=(count - number) * 7)
            message_id = f"<import.{seed}.{number}@mail.example.com>"
            roll = rng.random()
            person = corpus.person(rng, 500_000 + number)
            reply_to = None
            if roll < 0.10 and earlier:
                reply_to, subject, person = rng.choice(earlier)
                subject = f"Re: {subject}"
                body = rng.choice((
                    "Hello again,\n\nI have not heard back about my request. Please confirm "
                    "you received it.",
                    "One more thing: please also remove my old address from your mailing list.",
                    "Here is my phone number as you asked: " + person.phone(rng.randint(0, 5)),
                )) + f"\n\n{person.name}"
            elif roll < 0.15 and refs:
                subject, body = corpus.reply(rng, person, rng.choice(refs), 1)
            elif roll < 0.20:
                subject, body = corpus.request(rng, person, ["other"])
            else:
                types = rng.sample(("delete", "access", "correct", "opt_out_marketing",
                                    "opt_out_sale_share", "limit_sensitive"),
                                   rng.choice((1, 1, 2)))
                subject, body = corpus.request(
                    rng, person, types, spanish=rng.random() < 0.1,
                    phone_style=rng.randint(0, 5) if rng.random() < 0.5 else None)
                earlier.append((message_id, subject, person))
            raw = corpus.mail(rng, person=person, subject=subject, body=body,
                              message_id=message_id, sent=sent, in_reply_to=reply_to,
                              html=rng.random() < 0.25,
                              attachment=attachment if rng.random() < 0.03 else None)
            box.add(mailbox.mboxMessage(raw))
        box.flush()
    finally:
        box.unlock()
        box.close()
    return path.stat().st_size


def bare_parse(path: Path) -> tuple[int, int]:
    """The stdlib's reading of the mbox: (messages, parts)."""
    messages = parts = 0
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            message = email.message_from_bytes(box.get_bytes(key), policy=policy.default)
            messages += 1
            for part in message.walk():
                parts += 1
                if part.is_multipart():
                    continue
                if part.get_content_maintype() == "text":
                    part.get_content()
                else:
                    part.get_payload(decode=True)
    finally:
        box.close()
    return messages, parts


def row_counts(path: Path) -> dict[str, int]:
    connection = open_cases(path)
    try:
        return {table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in COUNTED}
    finally:
        connection.close()


def sample_refs(path: Path, count: int, seed: int = 5) -> list[str]:
    connection = open_cases(path)
    try:
        refs = [r[0] for r in connection.execute("SELECT ref FROM cases ORDER BY id")]
    finally:
        connection.close()
    return random.Random(seed).sample(refs, min(count, len(refs)))


def run(database: Path, folder: Path, mails: int) -> Section:
    """Import ``mails`` synthetic mails into ``database`` (a working copy: it is written)."""
    folder.mkdir(parents=True, exist_ok=True)
    mbox = folder / f"requests-{mails}.mbox"
    if not mbox.exists():
        log(f"import: writing {mails:,} mails to {mbox}")
        partial = mbox.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        write_mbox(partial, mails, sample_refs(database, 500))
        partial.rename(mbox)
    size_mb = mbox.stat().st_size / 1e6

    # Bare, twice (the second with the file in the page cache, as the import reads it).
    bare_parse(mbox)
    started = time.perf_counter()
    parsed, parts = bare_parse(mbox)
    bare_s = time.perf_counter() - started
    log(f"import: bare stdlib parse {parsed:,} messages ({parts:,} parts) in {bare_s:.2f} s "
        f"= {parsed / bare_s:,.0f}/s")

    # Imported here: the mail workers run this module again as they start (as they do
    # the caseapp script), and must not pay for the services each time.
    from caseapp.services import Desk

    before = row_counts(database)
    desk = Desk(f"sqlite:///{database}", "bench")
    desk.prepare(folder / "backups")
    try:
        with Breakdown(PARTS) as parts:
            started = time.perf_counter()
            outcomes = Counter(result.outcome for result in desk.import_files([mbox]))
            import_s = time.perf_counter() - started
            spent = parts.take()
        after = row_counts(database)
        log(f"import: {sum(outcomes.values()):,} in {import_s:.1f} s "
            f"= {mails / import_s:,.0f}/s ({dict(outcomes)})")
        started = time.perf_counter()
        again = Counter(result.outcome for result in desk.import_files([mbox]))
        again_s = time.perf_counter() - started
        final = row_counts(database)
    finally:
        desk.close()
    new_rows = {t: final[t] - after[t] for t in COUNTED if final[t] != after[t]}
    log(f"import: again in {again_s:.1f} s ({dict(again)}); new rows {new_rows or 0}")

    bare_rate, import_rate = parsed / bare_s, mails / import_s
    share = import_rate / bare_rate
    added = {t: after[t] - before[t] for t in COUNTED}
    section = Section("Mail import")
    section.lines = [
        f"{mails:,} synthetic mails in one mbox ({size_mb:.1f} MB: new requests, 10% "
        "follow-ups to mails of the same file, 5% replies quoting the reference of a case "
        "already in the database, 5% not privacy requests, some Spanish; 25% with an HTML "
        "part, 3% with a 30 KB PDF), imported by `Desk.import_files` (what `caseapp import` "
        f"runs) into a copy of the full-scale SQLite case database ({before['cases']:,} "
        f"cases, {before['messages']:,} messages before).",
        "",
        "| measure | messages/s | time | vs bare |",
        "|---|---|---|---|",
        f"| Bare: `mailbox.mbox` + `email.message_from_bytes(policy.default)`, every part "
        f"walked and decoded | {bare_rate:,.0f} | {bare_s:.2f} s | 100% |",
        f"| `Desk.import_files`: parsed in the worker processes, classified, cased or "
        f"threaded, indexed, audited | {import_rate:,.0f} | {import_s:.1f} s | "
        f"**{share:.0%}** |",
        f"| The same file again (all duplicates) | {mails / again_s:,.0f} | {again_s:.1f} s "
        f"| {mails / again_s / bare_rate:.0%} |",
        "",
        "Outcomes: " + ", ".join(f"{n:,} {o}" for o, n in outcomes.most_common()) + ". Rows "
        "added: " + ", ".join(f"{t} +{n:,}" for t, n in added.items()) + ". Again: "
        + ", ".join(f"{n:,} {o}" for o, n in again.most_common()) + "; new rows: "
        + (", ".join(f"{t} +{n:,}" for t, n in new_rows.items()) if new_rows else "**0**")
        + ". Target (DESIGN.md): ≥ 25% of the bare rate; re-import adds no row.",
        "",
        f"Where the import's {import_s:.1f} s go (time inside these functions; the next "
        "batch is read in 2 threads while the main thread stores one):",
        "",
        "| part | seconds | ms per mail |",
        "|---|---|---|",
        *(f"| {label} | {spent.get(label, 0.0) / 1000:.1f} | "
          f"{spent.get(label, 0.0) / mails:.1f} |" for label, _m, _a in PARTS),
    ]
    section.figures = [
        Figure(f"Mail import into {before['cases']:,} cases (SQLite), messages/s",
               f"{import_rate:,.0f}/s",
               f"bare parse {bare_rate:,.0f}/s", f"{share:.0%} of bare", "≥ 25% of bare",
               share >= TARGET_SHARE),
        Figure("Re-import of the same mbox: new rows", str(sum(new_rows.values())), "", "",
               "0", not new_rows),
    ]
    return section


def main() -> int:
    from bench.results import write_section
    from bench.scale import DEFAULT_DATA, FULL, QUICK, sqlite_database, working_copy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mails", type=int)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    mails = args.mails or (300 if args.quick else 5000)
    path, _built = sqlite_database(args.data, scale)
    work = args.data / "work" / scale.key
    copy = working_copy(path, work / "cases.sqlite3")
    section = run(copy, work, mails)
    print("\n".join(section.lines))
    if not args.no_write and not args.quick:
        write_section(section.title, section.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
