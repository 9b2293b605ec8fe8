"""Full-text search of records: FTS5 trigram on SQLite, pg_trgm on PostgreSQL, LIKE for short words.

Trigram indexes need no word list, so two or more Chinese characters match inside a title
just as Latin text does (case-insensitively). A word shorter than three characters has no
trigram; it is matched with LIKE, which is slower but still right.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    or_,
    text,
)
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, col

from server.models.holdings import Record
from server.services.listing import like_pattern

TRIGRAM = 3
MAX_TERMS = 8
# Objects of the search index that the migrations create outside the models.
INDEX_TABLE = "records_fts"
INDEX_NAMES = frozenset({"ix_records_search_trgm", "ix_records_title_trgm"})
# Kept identical to the index expression in migration 0002, so PostgreSQL uses the index.
PG_SEARCH_TEXT = (
    "(records.reference_code || ' ' || records.title || ' ' || coalesce(records.description, '') "
    "|| ' ' || coalesce(records.extra::text, ''))"
)
# What the SQLite triggers index for one row of `records` (alias `r`).
FTS_ROW_VALUES = (
    "r.reference_code, r.title, coalesce(r.description, ''), "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each(r.extra)), '')"
)


def in_the_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic include_name hook: leave the search index (FTS tables, trigram indexes) alone."""
    if type_ == "table" and name and (name == INDEX_TABLE or name.startswith(INDEX_TABLE + "_")):
        return False
    return not (type_ == "index" and name in INDEX_NAMES)


def terms(q: str) -> list[str]:
    """The words of a query, in order, without repeats (at most MAX_TERMS)."""
    seen: list[str] = []
    for word in q.split():
        if word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def fts_query(words: list[str]) -> str:
    """An FTS5 MATCH expression requiring every word as a quoted substring."""
    return " AND ".join('"' + word.replace('"', '""') + '"' for word in words)


@dataclass(frozen=True, slots=True)
class TextMatch:
    """How to narrow a records query to a text, and how to rank what it finds."""

    dialect: str
    words: list[str]

    def apply(self, query: Select) -> tuple[Select, list[ColumnElement]]:
        """The query narrowed to records holding every word, and the ORDER BY for ranking."""
        if self.dialect == "postgresql":
            return self._postgresql(query)
        return self._sqlite(query)

    def _sqlite(self, query: Select) -> tuple[Select, list[ColumnElement]]:
        long = [w for w in self.words if len(w) >= TRIGRAM]
        short = [w for w in self.words if len(w) < TRIGRAM]
        order: list[ColumnElement] = []
        if long:
            hits = (
                text(
                    "SELECT rowid AS id, bm25(records_fts, 4.0, 8.0, 1.0, 1.0) AS score "
                    "FROM records_fts WHERE records_fts MATCH :fts"
                )
                .bindparams(bindparam("fts", fts_query(long)))
                .columns(column("id", Integer), column("score", Float))
                .subquery("hits")
            )
            query = query.join(hits, hits.c.id == Record.id)
            order.append(hits.c.score)  # bm25: smaller is better; a hit in the title weighs most
        for word in short:
            query = query.where(_like_any_column(word))
        return query, order

    def _postgresql(self, query: Select) -> tuple[Select, list[ColumnElement]]:
        haystack = literal_column(PG_SEARCH_TEXT)
        for word in self.words:
            query = query.where(haystack.ilike(like_pattern(word), escape="\\"))
        rank = func.similarity(Record.title, " ".join(self.words))
        return query, [rank.desc()]


def _like_any_column(word: str) -> ColumnElement[bool]:
    # SQLite's LIKE already ignores ASCII case; ilike's lower() on every row would double
    # the cost of this scan, the one search path without an index.
    pattern = like_pattern(word)
    return or_(
        col(Record.title).like(pattern, escape="\\"),
        col(Record.reference_code).like(pattern, escape="\\"),
        col(Record.description).like(pattern, escape="\\"),
        and_(col(Record.extra).is_not(None),
             cast(Record.extra, String).like(pattern, escape="\\")),
    )


def text_match(session: Session, q: str | None) -> TextMatch | None:
    """The text part of a search, for this database; None when there is no text."""
    words = terms(q or "")
    if not words:
        return None
    return TextMatch(session.get_bind().dialect.name, words)


def reindex_sqlite(session: Session, *, after_id: int = 0) -> int:
    """Index records with id > after_id that the triggers did not see (bulk loads); SQLite only."""
    if session.get_bind().dialect.name != "sqlite":
        return 0
    result = session.exec(_reindex_statement(), params={"after": after_id})
    return result.rowcount or 0


def _reindex_statement() -> TextClause:
    return text(
        "INSERT INTO records_fts(rowid, reference_code, title, description, metadata) "
        f"SELECT r.id, {FTS_ROW_VALUES} FROM records r WHERE r.id > :after"
    )


def pause_sqlite_trigger(session: Session) -> str | None:
    """Drop the insert trigger for a bulk load; returns its DDL to restore (None elsewhere)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    ddl = session.exec(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'records_fts_insert'")
    ).first()
    if ddl is None:
        return None
    session.exec(text("DROP TRIGGER records_fts_insert"))
    return ddl[0]


def resume_sqlite_trigger(session: Session, ddl: str | None, *, after_id: int) -> None:
    """Index what the bulk load added, then put the insert trigger back."""
    if ddl is None:
        return
    reindex_sqlite(session, after_id=after_id)
    session.exec(text(ddl))
