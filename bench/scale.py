"""The case database at DESIGN.md's scale (100,000 cases, 500,000 messages), on SQLite and
PostgreSQL, with the same rows on both; kept in --data for the next run.

Rows are written by bulk inserts (not through the services: creating 100,000 cases one
unit of work at a time would take hours), shaped as the services write them:

- cases from every channel, older ones mostly decided, deadlines from the real rules;
- parties: the requester (and the child or the person an agent acts for), emails, phone
  numbers stored as the services store them (E.164 when intake read them from a mail,
  as typed when staff typed them), postal addresses for letters;
- messages (500,000 including 2% not attached to a case: "not a request"): requests as
  people write them, the desk's answers, replies quoting the case reference;
- postal cases: the scan as ``take_in_scan`` keeps it: the letter as a message whose body
  is the OCR text, and a ``documents`` row of kind "scan" with the same text;
- phone and in-person cases: the call as a note.

Left out: the raw bytes of mails and scans (``blobs``), audit events and letters; the
search never reads them. Then the search index is built with the project's own code
(``Desk.rebuild_search_index``: caseapp.search.index.rebuild), timed.

Run alone:  .venv/bin/python -m bench.scale [--quick] [--data DIR] [--force]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from bench.common import log, open_cases
from bench.corpus import Corpus, Person
from caseapp.clock import Clock
from caseapp.db import cipher
from caseapp.db.migrate import head_revision
from caseapp.db.models import (
    Case,
    CaseRequestType,
    Document,
    Message,
    Note,
    Party,
    RefCounter,
    User,
)
from caseapp.services import Desk
from caseapp.vocabulary import REQUEST_TYPES
from caseapp.workflow.deadlines import compute_deadlines

GENERATOR = 4
"""Bumped when the rows generated change: cached databases of an older one are rebuilt."""
DEFAULT_DATA = Path("/tmp/caseapp-bench")
BATCH = 2000
CHANNEL_WEIGHTS = {"email": 45, "web": 20, "postal": 15, "phone": 15, "in_person": 5}
STAFF = ("bench", "alice", "bob", "carmen", "dmitri", "erin")


@dataclass(frozen=True)
class Scale:
    cases: int
    messages: int
    seed: int = 6

    @property
    def key(self) -> str:
        return f"{self.cases}c-{self.messages}m-s{self.seed}-g{GENERATOR}"


FULL = Scale(100_000, 500_000)
QUICK = Scale(2_000, 10_000)


@dataclass(frozen=True)
class Built:
    """How a cached database was made."""

    key: str
    revision: str
    today: str
    cases: int
    messages: int
    scans: int
    notes: int
    insert_s: float
    index_s: float
    documents: int
    size_mb: float
    built_at: str
    reused: bool = False


# --- rows -------------------------------------------------------------------------------

def _message_counts(rng: random.Random, cases: int, attached: int) -> list[int]:
    """Messages per case: at least one each, the rest skewed (a few long threads)."""
    counts = [1] * cases
    extra = max(0, attached - cases)
    weights = [rng.paretovariate(1.6) for _ in range(cases)]
    for index in rng.choices(range(cases), weights=weights, k=extra):
        counts[index] += 1
    return counts


def rows(desk: Desk, scale: Scale, today: date) -> Iterator[dict[str, list[dict[str, object]]]]:
    """Batches of rows for every table, deterministic for the scale's seed."""
    rng = random.Random(scale.seed)
    corpus = Corpus(scale.seed)
    rules = desk.rules.jurisdictions
    workflow = desk.rules.workflow
    open_states, closed_states = list(workflow.open_states), list(workflow.closed_states)
    channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    unattached = scale.messages // 50
    counts = _message_counts(rng, scale.cases, scale.messages - unattached)
    with desk.db.session() as session:
        user_ids = list(session.scalars(select(User.id)))
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=9)
    message_id = 0
    for first in range(0, scale.cases, BATCH):
        batch: dict[str, list[dict[str, object]]] = {
            name: [] for name in ("cases", "parties", "types", "messages", "documents",
                                  "notes")}
        for case_id in range(first + 1, min(first + BATCH, scale.cases) + 1):
            received = today - timedelta(days=int(rng.random() ** 1.3 * 730))
            received_at = datetime.combine(received, datetime.min.time()) + timedelta(
                minutes=rng.randint(7 * 60, 19 * 60))
            channel = rng.choices(channels, channel_weights)[0]
            person = corpus.person(rng, case_id)
            jurisdiction = rules.normalize(person.state)
            types = rng.sample(REQUEST_TYPES[:6], rng.choice((1, 1, 1, 2)))
            if rng.random() < 0.04:
                types = ["other"]
            deadlines = compute_deadlines(rules, jurisdiction, types, received)
            ref = f"PR-{received.year}-{case_id:05d}"
            spanish = rng.random() < 0.12
            is_child = rng.random() < 0.03
            via_agent = not is_child and rng.random() < 0.02
            age = (today - received).days
            status = rng.choice(closed_states if age > 60 and rng.random() < 0.98
                                else open_states)
            phone = _stored_phone(rng, channel, person)
            email = person.email if channel in ("email", "web") or rng.random() < 0.4 else ""
            first_subject, first_body = corpus.request(
                rng, person, types, spanish=spanish,
                phone_style=rng.randint(0, 5) if phone else None)
            summary = {"email": first_subject, "web": f"Web form: {first_subject}",
                       "postal": f"Letter of {received - timedelta(days=3):%B %-d, %Y}",
                       "phone": f"Phone call: {first_subject}",
                       "in_person": f"At the dealership: {first_subject}"}[channel]
            batch["cases"].append({
                "id": case_id, "ref": ref, "channel": channel, "status": status,
                "jurisdiction": jurisdiction, "is_privacy_request": types != ["other"],
                "is_child": is_child, "via_agent": via_agent,
                "subject_is_requester": not (is_child or via_agent),
                "priority": 0 if is_child else rng.choice((1, 2, 2, 2, 3)),
                "language": "es" if spanish else "en", "summary": summary[:300],
                "intake_review": channel == "email" and age < 3,
                "received_at": received_at, "received_on": received,
                "acknowledge_by": deadlines.acknowledge_by, "due_on": deadlines.respond_by,
                "original_due_on": deadlines.respond_by, "paused_days": 0,
                "created_at": received_at, "updated_at": received_at + timedelta(days=min(
                    age, 10)), "created_by": rng.choice(STAFF), "version": 1,
                "assignee_id": rng.choice([*user_ids, None]),
                "closed_at": (received_at + timedelta(days=30)
                              if status in closed_states else None),
            })
            batch["parties"].append({
                "case_id": case_id, "role": "requester", "name": person.name, "email": email,
                "phone": phone,
                "postal_address": person.address if channel == "postal" or rng.random() < 0.3
                else "", "postal_code": person.zip, "state": person.state,
                "is_child": False, "age": None,
                "relationship_to_subject": "parent" if is_child else "authorized_agent"
                if via_agent else "self"})
            if is_child or via_agent:
                batch["parties"].append({
                    "case_id": case_id, "role": "subject",
                    "name": f"{rng.choice(corpus.first_names)} {person.last}", "email": "",
                    "phone": "", "postal_address": "", "postal_code": "", "state": "",
                    "is_child": is_child, "age": rng.randint(6, 12) if is_child else None,
                    "relationship_to_subject": "self"})
            batch["types"].extend({"case_id": case_id, "request_type": t} for t in types)
            if channel in ("phone", "in_person"):
                batch["notes"].append({
                    "case_id": case_id, "author": rng.choice(STAFF), "created_at": received_at,
                    "body": f"{'Caller' if channel == 'phone' else 'Customer'} asked: "
                            f"{first_body[:400]}"})
            thread: list[tuple[str, str, str, str]] = []  # direction, subject, sender, body
            if channel in ("email", "web"):
                thread.append(("in", first_subject, f"{person.name} <{person.email}>",
                               first_body))
            elif channel == "postal":
                letter = corpus.scanned_letter(rng, person, types,
                                               received - timedelta(days=3))
                thread.append(("scan", summary, person.name, letter))
            while len(thread) < counts[case_id - 1]:
                if len(thread) % 2 == 1 or not thread:
                    subject, body = corpus.desk_message(rng, person, ref, received)
                    thread.append(("out", subject, "Privacy Office <privacy@brand.example>",
                                   body))
                else:
                    subject, body = corpus.reply(rng, person, ref, len(thread))
                    if rng.random() < 0.5 and thread[-1][0] == "out":
                        body += "\n\n> " + thread[-1][3].replace("\n", "\n> ")
                    thread.append(("in", subject, f"{person.name} <{person.email}>", body))
            for position, (direction, subject, sender, body) in enumerate(thread):
                message_id += 1
                at = received_at + timedelta(days=position * 3, minutes=position)
                batch["messages"].append(_message(
                    message_id, case_id, "in" if direction == "scan" else direction,
                    "postal" if direction == "scan" else "email", subject, sender,
                    person.email if direction == "in" else "privacy@brand.example", body,
                    min(at, now)))
                if direction == "scan":
                    batch["documents"].append({
                        "case_id": case_id, "message_id": message_id, "kind": "scan",
                        "filename": f"scan-{received:%Y%m%d}-{case_id}.pdf",
                        "media_type": "application/pdf",
                        "sha256": hashlib.sha256(f"scan {case_id}".encode()).hexdigest(),
                        "size": 180_000 + rng.randint(0, 200_000), "storage_path": "",
                        "text": body, "created_at": min(at, now)})
        # Mail that was not a request: kept on the "not a request" list, no case.
        share = unattached * len(batch["cases"]) // scale.cases
        for _ in range(share):
            message_id += 1
            person = corpus.person(rng, message_id)
            subject, body = corpus.request(rng, person, ["other"])
            message = _message(message_id, None, "in", "email", subject,
                               f"{person.name} <{person.email}>", person.email, body,
                               now - timedelta(days=rng.randint(0, 700)))
            message["disposition"] = "not_request"
            batch["messages"].append(message)
        yield batch


def _stored_phone(rng: random.Random, channel: str, person: Person) -> str:
    """The requester's phone as the services store it: intake keeps the E.164 number it
    read in a mail or letter; staff type it as they hear it; a web form as typed."""
    if channel == "email":
        return f"+1{person.phone_digits}" if rng.random() < 0.4 else ""
    if channel == "postal":
        return f"+1{person.phone_digits}" if rng.random() < 0.5 else ""
    if channel == "web":
        return person.phone(rng.randint(0, 5)) if rng.random() < 0.6 else ""
    return person.phone(rng.randint(0, 3))


def _message(number: int, case_id: int | None, direction: str, channel: str, subject: str,
             sender: str, from_addr: str, body: str, at: datetime) -> dict[str, object]:
    return {
        "id": number, "case_id": case_id, "direction": direction, "channel": channel,
        "disposition": "case", "quarantine_reason": "", "auto_kind": "",
        "message_id": f"<bench.{number}@{'brand' if direction == 'out' else 'mail'}.example>",
        "in_reply_to": "", "reference_ids": "", "subject": subject, "sender": sender,
        "from_addr": from_addr, "recipients": "", "sent_at": at, "received_at": at,
        "body_text": body, "html_sanitized": "", "blocked": "", "defects": "",
        "classification": "", "raw_sha256": hashlib.sha256(f"bench {number}".encode()
                                                           ).hexdigest(),
        "size": len(body) + 900, "source_label": "", "created_at": at,
    }


def fill(desk: Desk, scale: Scale, today: date) -> dict[str, int]:
    """Bulk-insert the scale's rows; returns the counts."""
    tables = {"cases": Case, "parties": Party, "types": CaseRequestType,
              "messages": Message, "documents": Document, "notes": Note}
    counts = dict.fromkeys(tables, 0)
    with desk.db.session() as session:
        years: dict[int, int] = {}  # the last number given in each year's references
        for number, batch in enumerate(rows(desk, scale, today)):
            for case in batch["cases"]:
                year = int(str(case["ref"])[3:7])
                years[year] = max(years.get(year, 0), int(str(case["id"])))
            for name, model in tables.items():
                if batch[name]:
                    session.execute(insert(model), batch[name])
                    counts[name] += len(batch[name])
            if number % 10 == 9:
                session.commit()
                log(f"  {counts['cases']:,} cases, {counts['messages']:,} messages")
        for year, last in years.items():
            session.merge(RefCounter(year=year, last=last))
        session.commit()
    return counts


# --- the cached databases -----------------------------------------------------------------

def _prepare(url: str, folder: Path, today: date) -> Desk:
    desk = Desk(url, "bench", clock=Clock(fixed=datetime.combine(today, datetime.min.time())
                                          + timedelta(hours=12)))
    desk.prepare(folder / "backups")
    for name in STAFF[1:]:
        with contextlib.suppress(Exception):
            desk.add_user(name, "agent")
    return desk


def build(url: str, scale: Scale, folder: Path, size: Callable[[], float]) -> Built:
    today = date.today()
    desk = _prepare(url, folder, today)
    try:
        started = time.perf_counter()
        counts = fill(desk, scale, today)
        insert_s = time.perf_counter() - started
        log(f"  rows written in {insert_s:.0f} s; building the search index "
            "(Desk.rebuild_search_index)")
        started = time.perf_counter()
        documents = desk.rebuild_search_index()
        index_s = time.perf_counter() - started
        log(f"  {documents:,} search documents in {index_s:.0f} s")
        _settle(desk)
    finally:
        desk.close()
    return Built(scale.key, head_revision(), today.isoformat(), counts["cases"],
                 counts["messages"], counts["documents"], counts["notes"], insert_s, index_s,
                 documents, size(), datetime.now().isoformat(timespec="seconds"))


def _settle(desk: Desk) -> None:
    """After the bulk load: what a database that has been in use would have."""
    if desk.db.engine.dialect.name == "sqlite":
        with desk.db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:  # what autovacuum does a minute after a bulk load, done now for steady figures
        with desk.db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def _marker(path: Path) -> Built | None:
    try:
        return Built(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def sqlite_database(data: Path, scale: Scale, force: bool = False) -> tuple[Path, Built]:
    """The SQLite case database of ``scale`` in ``data`` (built unless already there)."""
    folder = data / f"sqlite-{scale.key}"
    path, marker = folder / "cases.sqlite3", folder / "built.json"
    built = _marker(marker)
    if not force and built and built.revision == head_revision() and path.exists():
        return path, Built(**{**asdict(built), "reused": True})
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"generating the SQLite case database ({scale.cases:,} cases, {scale.messages:,} "
        f"messages) in {folder}")
    built = build(f"sqlite:///{path}", scale, folder, lambda: path.stat().st_size / 1e6)
    marker.write_text(json.dumps(asdict(built), indent=1))
    return path, built


def postgres_database(server_url: str, marker: Path, scale: Scale, force: bool = False
                      ) -> Built:
    """The same rows in the private server's ``bench`` database (made again unless its
    marker says it holds this scale at this schema)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(server_url)
    built = _marker(marker)
    if not force and built and built.key == scale.key and built.revision == head_revision():
        try:
            with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                 dbname="bench") as connection:
                found = connection.execute("SELECT count(*) FROM cases").fetchone()
        except psycopg.Error:
            found = None
        if found and found[0] == built.cases:
            return Built(**{**asdict(built), "reused": True})
    marker.unlink(missing_ok=True)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname="postgres", autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS bench")
        connection.execute("CREATE DATABASE bench")
    log(f"generating the PostgreSQL case database ({scale.cases:,} cases, "
        f"{scale.messages:,} messages)")

    def size() -> float:
        with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                             dbname="bench") as connection:
            row = connection.execute("SELECT pg_database_size('bench')").fetchone()
            return float(row[0]) / 1e6 if row else 0.0

    built = build(server_url, scale, marker.parent, size)
    marker.write_text(json.dumps(asdict(built), indent=1))
    return built


def working_copy(path: Path, target: Path) -> Path:
    """A copy of the cached SQLite database to write into (imports, letters)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    key = cipher.read_key(path)
    source = open_cases(path)
    try:
        if key is not None:
            cipher.save_key(target, key)  # the copy keeps the key of the cached database
        destination = cipher.connect(target, key)
        try:
            source.backup(destination, pages=65536)
        finally:
            destination.close()
    finally:
        source.close()
    return target


def describe(built: Built, backend: str) -> str:
    how = "reused from an earlier run (built" if built.reused else "built in this run (on"
    return (f"{backend}: {built.cases:,} cases, {built.messages:,} messages, {built.scans:,} "
            f"scanned letters, {built.notes:,} call notes; {built.size_mb:,.0f} MB; "
            f"{how} {built.built_at[:10]}): rows bulk-inserted in {built.insert_s:.0f} s, "
            f"search index built by `Desk.rebuild_search_index` in **{built.index_s:.0f} s** "
            f"({built.documents:,} documents, {built.documents / max(built.index_s, 1e-9):,.0f}"
            " cases/s).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--force", action="store_true", help="generate again")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    path, built = sqlite_database(args.data, scale, args.force)
    print(describe(built, f"SQLite {path}"))
    if not args.no_postgres:
        from bench import pg

        with pg.running(args.data / "pg") as server:
            built = postgres_database(server.url, args.data / "pg" / "built.json", scale,
                                      args.force)
            print(describe(built, f"PostgreSQL {server.version}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
