"""The search index behind one interface, on SQLite FTS5 or PostgreSQL tsvector/GIN.

Both hold one row per case in ``search_documents`` (case_id, the sections as JSON, the
folded words); migration 0009 adds, per dialect:

- SQLite: ``search_fts``, an external-content FTS5 table over ``folded`` (rowid = case
  id; unicode61 with remove_diacritics 2 as a second line behind the folding), kept in
  step with ``search_documents`` by triggers;
- PostgreSQL: ``tsv``, a generated ``to_tsvector('simple', folded)`` column with a GIN
  index ('simple': no stemming, no stop words, the folding is ours).

``search_names`` (migration 0010) holds each case's folded name words, for finding a
misspelled name (caseapp.search.fuzzy).

``search_documents``, ``search_fts*`` and ``search_names`` are no ORM models: Core only,
and the schema comparison leaves them out (caseapp.db.migrate.include_name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TextualSelect,
    column,
    delete,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from caseapp.db.models import Case, Letter
from caseapp.search.document import (
    BATCH,
    AddedRows,
    build_document,
    extend_document,
    load_case_texts,
)
from caseapp.search.query import ParsedQuery

_metadata = MetaData()
documents = Table(
    "search_documents", _metadata,
    Column("case_id", Integer, ForeignKey(Case.id, ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("sections", Text, nullable=False),
    Column("folded", Text, nullable=False),
)
names = Table(
    "search_names", _metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey(Case.id, ondelete="CASCADE"), nullable=False),
    Column("word", String(100), nullable=False),
    sqlite_autoincrement=True,
)


def _upsert(insert: Callable[[Table], sqlite.Insert | postgresql.Insert]
            ) -> sqlite.Insert | postgresql.Insert:
    statement = insert(documents)
    return statement.on_conflict_do_update(
        index_elements=[documents.c.case_id],
        set_={"sections": statement.excluded.sections, "folded": statement.excluded.folded})


@dataclass(frozen=True)
class Backend:
    """The full-text index of one database kind: its statements, built once (building a
    statement costs more than running it for one document or one search hit), the
    words as their ``:match`` parameter."""

    ranked: TextualSelect
    """SELECT case_id, rank (lower is better) of the cases matching ``:match``."""
    ids: TextualSelect
    """SELECT case_id of the cases matching ``:match``, unranked (cheap to count)."""
    match_value: Callable[[ParsedQuery], str]
    """A query as the value of ``:match``."""
    upsert_statement: sqlite.Insert | postgresql.Insert
    """INSERT a document, or replace the case's."""

    def upsert(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        connection.execute(self.upsert_statement, rows)


_BACKENDS = {
    "sqlite": Backend(
        ranked=text("SELECT rowid AS case_id, bm25(search_fts) AS rank FROM search_fts "
                    "WHERE search_fts MATCH :match").columns(case_id=Integer, rank=Float),
        ids=text("SELECT rowid AS case_id FROM search_fts WHERE search_fts MATCH :match"
                 ).columns(case_id=Integer),
        match_value=ParsedQuery.to_fts5,
        upsert_statement=_upsert(sqlite.insert)),
    "postgresql": Backend(
        ranked=text("SELECT d.case_id AS case_id, -ts_rank(d.tsv, q.query) AS rank "
                    "FROM search_documents AS d, to_tsquery('simple', :match) AS q(query) "
                    "WHERE d.tsv @@ q.query").columns(case_id=Integer, rank=Float),
        ids=text("SELECT d.case_id AS case_id FROM search_documents AS d "
                 "WHERE d.tsv @@ to_tsquery('simple', :match)").columns(case_id=Integer),
        match_value=ParsedQuery.to_tsquery,
        upsert_statement=_upsert(postgresql.insert)),
}


def matching(backend: Backend, query: ParsedQuery) -> TextualSelect:
    """SELECT case_id, rank (lower is better) of the cases matching ``query``."""
    return backend.ranked.bindparams(match=backend.match_value(query))


def matching_ids(backend: Backend, query: ParsedQuery) -> TextualSelect:
    """SELECT case_id of the cases matching ``query``, unranked (cheap to count)."""
    return backend.ids.bindparams(match=backend.match_value(query))


def backend_for(connection: Connection) -> Backend:
    return backend_named(connection.dialect.name)


def backend_named(dialect: str) -> Backend:
    if dialect not in _BACKENDS:
        raise NotImplementedError(f"No search index on {dialect}")
    return _BACKENDS[dialect]


def reindex_cases(connection: Connection, case_ids: Iterable[int]) -> int:
    """Rebuild the documents of these cases; a case that no longer exists leaves the
    index. Returns how many documents were written."""
    ids = sorted(set(case_ids))
    written = 0
    backend = backend_for(connection)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        texts = load_case_texts(connection, chunk)
        gone = [case_id for case_id in chunk if case_id not in texts]
        if gone:
            connection.execute(delete(documents).where(documents.c.case_id.in_(gone)))
        connection.execute(delete(names).where(names.c.case_id.in_(chunk)))
        rows = []
        name_rows = []
        for case_id, case_text in texts.items():
            document = build_document(case_text)
            rows.append({"case_id": case_id, "sections": document.sections_json(),
                         "folded": document.folded})
            name_rows += [{"case_id": case_id, "word": word} for word in document.names]
        if rows:
            backend.upsert(connection, rows)
            written += len(rows)
        if name_rows:
            connection.execute(names.insert(), name_rows)
    return written


def extend_cases(connection: Connection, added: Mapping[int, AddedRows]) -> set[int]:
    """Add these cases' new documents and letters to their stored documents, when
    nothing else of them changed since (caseapp.search.tracking): the document is what
    ``reindex_cases`` would build, without reading the rest of the case again. Returns
    the cases this cannot be done for, to rebuild (caseapp.search.document.extend_document).
    """
    ids = sorted(added)
    letters = (select(func.count()).where(Letter.case_id == documents.c.case_id)
               .correlate(documents).scalar_subquery().label("letters"))
    backend = backend_for(connection)
    rebuild = set()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        stored = {row.case_id: row for row in connection.execute(
            select(documents.c.case_id, documents.c.sections, documents.c.folded, letters)
            .where(documents.c.case_id.in_(chunk)))}
        rows = []
        for case_id in chunk:
            row = stored.get(case_id)
            document = None if row is None else extend_document(
                row.sections, row.folded, row.letters - len(added[case_id].letters),
                added[case_id])
            if document is None:
                rebuild.add(case_id)
            else:
                rows.append({"case_id": case_id, "sections": document.sections_json(),
                             "folded": document.folded})
        if rows:
            backend.upsert(connection, rows)
    return rebuild


# FTS5's own table of the documents it holds (rowid = case id, and their sizes), kept in
# step with search_documents by migration 0009's triggers.
_fts_documents = table("search_fts_docsize", column("id", Integer))


def missing_cases(connection: Connection) -> list[int]:
    """Cases without a search document (a database from before the index)."""
    # On SQLite, looked up in the full-text index's small table of documents: each row
    # of search_documents holds a case's whole text, and looking up every case there
    # read all of that (1 s at 100,000 cases, at each desk's first search; this 45 ms).
    indexed = _fts_documents.c.id if connection.dialect.name == "sqlite" else \
        documents.c.case_id
    return list(connection.scalars(
        select(Case.id).where(~select(indexed).where(indexed == Case.id).exists())
        .order_by(Case.id)))


def rebuild(connection: Connection) -> int:
    """Every case's document written again; documents of vanished cases dropped."""
    connection.execute(delete(documents).where(
        ~select(Case.id).where(Case.id == documents.c.case_id).exists()))
    connection.execute(delete(names))
    if connection.dialect.name == "sqlite":
        connection.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return reindex_cases(connection, connection.scalars(select(Case.id)).all())


def stored_sections(connection: Connection, case_ids: Sequence[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    return {case_id: sections for case_id, sections in connection.execute(
        select(documents.c.case_id, documents.c.sections)
        .where(documents.c.case_id.in_(case_ids)))}
