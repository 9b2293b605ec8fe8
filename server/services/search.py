"""Full-text search of records: trigrams for words of three or more characters, CJK bigrams
for shorter Chinese words, and a cap on counting.

Trigram indexes need no word list, so Chinese matches inside a title just as Latin text does
(case-insensitively). A one- or two-character Chinese word has no trigram; it is looked up in
a second index of the CJK characters and character pairs of each record (SQLite: an FTS5
table with the unicode61 tokenizer; PostgreSQL: a GIN index over `records_cjk_grams(text)`).
Other words shorter than three characters (`IT`, `Q3`) are matched by scanning.

On SQLite the record's classification is a token in both FTS5 tables, so clearance is
applied inside the index before anything is ranked; migration 0004 builds all of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    Subquery,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from server.models.holdings import Record
from server.services.listing import like_pattern
from server.services.people import CLEARANCE_ORDER

TRIGRAM = 3
MAX_TERMS = 8
# Counting stops here: beyond it a search answers `total_is_estimate` (a page is still exact).
TOTAL_CAP = 10_000
# The code points indexed as CJK characters: Extension A and the Unified Ideographs.
CJK_FIRST, CJK_LAST = 0x3400, 0x9FFF
# Kept identical to the index expressions in migrations 0002 and 0004, so PostgreSQL uses them.
PG_SEARCH_TEXT = (
    "(records.reference_code || ' ' || records.title || ' ' || coalesce(records.description, '') "
    "|| ' ' || coalesce(records.extra::text, ''))"
)
PG_GRAMS = f"records_cjk_grams({PG_SEARCH_TEXT})"
# How each classification is spelled in the `access` column of the two FTS5 tables: a single
# trigram in records_fts (a rare one, so its list of rows is no longer than it need be) and
# a single word in records_fts_grams; queries name the column, so a title cannot pose as one.
# top_secret came with migration 0010 (which recreates the triggers); unicode61 splits on "_",
# so its word drops the underscore.
TRIGRAM_ACCESS = {"public": "#p#", "internal": "#i#", "confidential": "#c#", "secret": "#s#",
                  "top_secret": "#t#"}
GRAM_ACCESS = {name: f"access{name.replace('_', '')}" for name in TRIGRAM_ACCESS}


def sqlite_grams(value: str) -> str:
    """SQL (SQLite) for the CJK tokens of a text expression: each CJK character followed by
    another becomes that pair, the last of a run stays single; tokens apart by spaces.

    Every occurrence of a character starts a token, so `"档"*` finds it anywhere and `"档案"`
    finds exactly the titles holding 档案. json_each over a string of zeros numbers the
    positions, as a trigger may not use a recursive CTE.
    """
    char = "unicode(substr(s.t, j.key + 1, 1))"
    after = "coalesce(unicode(substr(s.t, j.key + 2, 1)), 0)"
    return (
        f"(SELECT group_concat(substr(s.t, j.key + 1, 1 + ({after} BETWEEN {CJK_FIRST} "
        f"AND {CJK_LAST})), ' ') FROM (SELECT {value} AS t) AS s, json_each('[' || "
        "replace(hex(zeroblob(length(s.t))), '00', '0,') || '0]') AS j "
        f"WHERE {char} BETWEEN {CJK_FIRST} AND {CJK_LAST})"
    )


def sqlite_index_values(row: str) -> tuple[str, str]:
    """SQL for the values one row of `records` (alias `row`) puts in records_fts and in
    records_fts_grams, in their column order."""
    meta = f"coalesce((SELECT group_concat(value, ' ') FROM json_each({row}.extra)), '')"
    access = " ".join(f"WHEN '{k}' THEN '{{}}'" for k in TRIGRAM_ACCESS)
    trigram_access = f"CASE {row}.classification {access.format(*TRIGRAM_ACCESS.values())} END"
    gram_access = f"CASE {row}.classification {access.format(*GRAM_ACCESS.values())} END"
    other = f"(coalesce({row}.description, '') || ' ' || {meta})"
    return (
        f"{row}.reference_code, {row}.title, coalesce({row}.description, ''), {meta}, "
        f"{trigram_access}",
        f"coalesce({sqlite_grams(row + '.title')}, ''), coalesce({sqlite_grams(other)}, ''), "
        f"{gram_access}",
    )


def terms(q: str) -> list[str]:
    """The words of a query, in order, without repeats (at most MAX_TERMS)."""
    seen: list[str] = []
    for word in q.split():
        if word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def is_cjk(word: str) -> bool:
    """True when every character of the word is a CJK ideograph."""
    return bool(word) and all(CJK_FIRST <= ord(ch) <= CJK_LAST for ch in word)


def fts_query(words: list[str]) -> str:
    """An FTS5 MATCH expression requiring every word as a quoted substring."""
    return " AND ".join('"' + word.replace('"', '""') + '"' for word in words)


def gram_query(words: list[str]) -> str:
    """The records_fts_grams MATCH for short CJK words: a pair is one token, one character
    the start of a token."""
    return " AND ".join(f'"{w}"' if len(w) == 2 else f'"{w}"*' for w in words)


def _refused(allowed: list[str], spelling: dict[str, str]) -> str:
    """The MATCH suffix that drops classifications outside `allowed` ('' when none is)."""
    refused = [spelling[name] for name in CLEARANCE_ORDER if name not in allowed]
    if not refused:
        return ""
    return " NOT access : (" + " OR ".join(f'"{code}"' for code in refused) + ")"


def _sqlite_hits(table: str, match: str, name: str, weights: str) -> Subquery:
    return (
        text(f"SELECT rowid AS id, bm25({table}, {weights}) AS score FROM {table} "
             f"WHERE {table} MATCH :{name}")
        .bindparams(bindparam(name, match))
        .columns(column("id", Integer), column("score", Float))
        .subquery(name)
    )


@dataclass(frozen=True, slots=True)
class TextMatch:
    """How to narrow a records query to a text, and how to rank what it finds."""

    dialect: str
    words: list[str]

    @property
    def short_cjk(self) -> list[str]:
        """Words of one or two CJK characters: the bigram index."""
        return [w for w in self.words if len(w) < TRIGRAM and is_cjk(w)]

    @property
    def long(self) -> list[str]:
        """Words with trigrams."""
        return [w for w in self.words if len(w) >= TRIGRAM]

    @property
    def scanned(self) -> list[str]:
        """Short words that no index holds (`IT`, `Q3`)."""
        return [w for w in self.words if len(w) < TRIGRAM and not is_cjk(w)]

    def ids(self, allowed: list[str], *,
            filtered: bool) -> tuple[SelectOfScalar[Any], list[SQLColumnExpression[Any]]]:
        """A query of the ids of records holding every word with a classification in
        `allowed`, and the ORDER BY that ranks them (ending in a unique key).

        When the caller adds no filters on `records` (`filtered` false), SQLite answers from
        the FTS5 tables alone, without looking up each hit's row.
        """
        if self.dialect == "postgresql":
            return self._postgresql(select(Record.id), allowed)
        return self._sqlite(allowed, filtered=filtered or bool(self.scanned))

    def _sqlite(self, allowed: list[str], *,
                filtered: bool) -> tuple[SelectOfScalar[Any], list[SQLColumnExpression[Any]]]:
        first = None
        if self.long:
            # bm25 weights: reference code, title, description, metadata, access.
            first = _sqlite_hits("records_fts",
                                 f"({fts_query(self.long)})" + _refused(allowed, TRIGRAM_ACCESS),
                                 "fts", "4.0, 8.0, 1.0, 1.0, 0.0")
        elif self.short_cjk:
            first = _sqlite_hits("records_fts_grams",
                                 f"({gram_query(self.short_cjk)})"
                                 + _refused(allowed, GRAM_ACCESS),
                                 "grams", "8.0, 1.0, 0.0")
        if first is None:  # only words no index holds: scan, as the index cannot filter
            query = select(Record.id).where(*(_like_any_column(w) for w in self.scanned))
            if len(allowed) < len(CLEARANCE_ORDER):
                query = query.where(col(Record.classification).in_(allowed))
            # by reference code, the index of which SQLite walks until the page is full
            return query, [col(Record.reference_code)]
        key: SQLColumnExpression[Any]
        if filtered:
            query = select(Record.id).select_from(first).join(Record, col(Record.id) == first.c.id)
            key = col(Record.id)
        else:
            query = select(first.c.id)
            key = first.c.id
        if self.long and self.short_cjk:
            inside = text("SELECT rowid FROM records_fts_grams WHERE records_fts_grams "
                          "MATCH :grams").bindparams(
                bindparam("grams", f"({gram_query(self.short_cjk)})"))
            # `+ 0`: the pairs' hits are looked up in a list made once; as a constraint on
            # the trigram table they would make FTS5 evaluate its MATCH once per pair hit.
            query = query.where((key + 0).in_(inside))
        for word in self.scanned:
            query = query.where(_like_any_column(word))
        return query, [first.c.score, key]  # bm25: smaller is better

    def _postgresql(self, query: SelectOfScalar[Any],
                    allowed: list[str]) -> tuple[SelectOfScalar[Any], list[SQLColumnExpression[Any]]]:
        haystack: ColumnElement[str] = literal_column(PG_SEARCH_TEXT)
        for n, word in enumerate(self.words):
            if len(word) < TRIGRAM and is_cjk(word):
                wanted = cast(bindparam(f"gram{n}", [word]), ARRAY(Text))
                query = query.where(literal_column(PG_GRAMS).op("@>")(wanted))
            else:
                query = query.where(_contains(haystack, word))
        if len(allowed) < len(CLEARANCE_ORDER):
            query = query.where(col(Record.classification).in_(allowed))
        # Words found in the title first, then shorter titles (the words are more of them):
        # close to trigram similarity, at a tenth of its cost on tens of thousands of hits.
        in_title: ColumnElement[int] = sum(
            (case((_contains(col(Record.title), w), 1), else_=0) for w in self.words),
            start=literal_column("0"),
        )
        return query, [in_title.desc(), func.length(Record.title), col(Record.reference_code)]


def _contains(text_: SQLColumnExpression[str], word: str) -> ColumnElement[bool]:
    # ILIKE lower-cases every row's whole text before comparing, three times the cost of
    # LIKE; a word without letter case (Chinese, digits) needs no such thing.
    pattern = like_pattern(word)
    if word.lower() == word.upper():
        return text_.like(pattern, escape="\\")
    return text_.ilike(pattern, escape="\\")


def unindexed(column_: ColumnElement) -> ColumnElement:
    """The column behind SQLite's unary plus: the planner may not drive the query from its
    index, so the FTS5 hits stay the outer loop (a guess that `fonds = 'X001'` is selective
    would otherwise probe the full-text index once per row of the archive)."""
    return literal_column(f"+records.{column_.key}", column_.type)


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


def capped_total(session: Session, query: Select) -> tuple[int, bool]:
    """How many rows the query gives, counting no further than TOTAL_CAP; True if it stopped."""
    counted = session.exec(
        select(func.count()).select_from(query.order_by(None).limit(TOTAL_CAP + 1).subquery())
    ).one()
    counted = int(counted)
    return min(counted, TOTAL_CAP), counted > TOTAL_CAP


def reindex_sqlite(session: Session, *, after_id: int = 0) -> int:
    """Index records with id > after_id that the triggers did not see (bulk loads); SQLite only."""
    if session.get_bind().dialect.name != "sqlite":
        return 0
    trigram, grams = _reindex_statements()
    result = session.execute(trigram, {"after": after_id})
    session.execute(grams, {"after": after_id})
    # An INSERT's result is a CursorResult, which has rowcount; the stubs type text() as a
    # plain Result.
    return result.rowcount or 0  # type: ignore[attr-defined]


def _reindex_statements() -> tuple[TextClause, TextClause]:
    trigram, grams = sqlite_index_values("r")
    return (
        text("INSERT INTO records_fts(rowid, reference_code, title, description, metadata, "
             f"access) SELECT r.id, {trigram} FROM records r WHERE r.id > :after"),
        text("INSERT INTO records_fts_grams(rowid, title, other, access) "
             f"SELECT r.id, {grams} FROM records r WHERE r.id > :after"),
    )


def pause_sqlite_trigger(session: Session) -> str | None:
    """Drop the insert trigger for a bulk load; returns its DDL to restore (None elsewhere)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    ddl = session.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'records_fts_insert'")
    ).first()
    if ddl is None:
        return None
    session.execute(text("DROP TRIGGER records_fts_insert"))
    return ddl[0]


def resume_sqlite_trigger(session: Session, ddl: str | None, *, after_id: int) -> None:
    """Index what the bulk load added, then put the insert trigger back."""
    if ddl is None:
        return
    reindex_sqlite(session, after_id=after_id)
    session.execute(text(ddl))
