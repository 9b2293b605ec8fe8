"""search: CJK bigram index for short Chinese words, classification inside the index

Revision ID: 0004
Revises: 0003

SQLite: records_fts (trigram) gains an `access` column holding the classification, and a
second FTS5 table records_fts_grams (unicode61) holds each record's CJK characters and
character pairs, so a one- or two-character Chinese query is an index lookup and clearance
is applied before ranking. PostgreSQL: a GIN index over records_cjk_grams(search text);
the title-only trigram index, which no query used, goes.

The SQL is spelled out here rather than imported, so this revision builds the same thing
whatever server.services.search later becomes.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CJK = "BETWEEN 13312 AND 40959"  # U+3400..U+9FFF: CJK Extension A and Unified Ideographs
TRIGRAM_ACCESS = {"public": "#p#", "internal": "#i#", "confidential": "#c#", "secret": "#s#"}
GRAM_ACCESS = {name: f"access{name}" for name in TRIGRAM_ACCESS}
TRIGGERS = ("records_fts_insert", "records_fts_delete", "records_fts_update")


def _grams(value: str) -> str:
    # Each CJK character followed by another becomes the pair, the last of a run stays single.
    return (
        "(SELECT group_concat(substr(s.t, j.key + 1, 1 + "
        f"(coalesce(unicode(substr(s.t, j.key + 2, 1)), 0) {CJK})), ' ') FROM (SELECT {value} AS t) AS s, json_each('[' || "
        "replace(hex(zeroblob(length(s.t))), '00', '0,') || '0]') AS j "
        f"WHERE unicode(substr(s.t, j.key + 1, 1)) {CJK})"
    )


def _values(row: str) -> tuple[str, str]:
    meta = f"coalesce((SELECT group_concat(value, ' ') FROM json_each({row}.extra)), '')"

    def access(spelling: dict[str, str]) -> str:
        whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in spelling.items())
        return f"CASE {row}.classification {whens} END"

    other = f"(coalesce({row}.description, '') || ' ' || {meta})"
    return (
        f"{row}.reference_code, {row}.title, coalesce({row}.description, ''), {meta}, "
        f"{access(TRIGRAM_ACCESS)}",
        f"coalesce({_grams(row + '.title')}, ''), coalesce({_grams(other)}, ''), "
        f"{access(GRAM_ACCESS)}",
    )


def _add(row: str) -> str:
    trigram, grams = _values(row)
    return (
        "INSERT INTO records_fts(rowid, reference_code, title, description, metadata, access) "
        f"VALUES ({row}.id, {trigram}); "
        f"INSERT INTO records_fts_grams(rowid, title, other, access) VALUES ({row}.id, {grams}); "
    )


def _remove(row: str) -> str:
    trigram, grams = _values(row)
    return (
        "INSERT INTO records_fts(records_fts, rowid, reference_code, title, description, "
        f"metadata, access) VALUES ('delete', {row}.id, {trigram}); "
        "INSERT INTO records_fts_grams(records_fts_grams, rowid, title, other, access) "
        f"VALUES ('delete', {row}.id, {grams}); "
    )


def _sqlite_ddl() -> list[str]:
    trigram, grams = _values("r")
    return [
        "CREATE VIRTUAL TABLE records_fts USING fts5(reference_code, title, description, "
        "metadata, access, content='', tokenize='trigram')",
        "CREATE VIRTUAL TABLE records_fts_grams USING fts5(title, other, access, content='', "
        "tokenize='unicode61')",
        f"CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN {_add('new')}END",
        f"CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN {_remove('old')}END",
        "CREATE TRIGGER records_fts_update AFTER UPDATE OF reference_code, title, description, "
        f"extra, classification ON records BEGIN {_remove('old')}{_add('new')}END",
        "INSERT INTO records_fts(rowid, reference_code, title, description, metadata, access) "
        f"SELECT r.id, {trigram} FROM records r",
        "INSERT INTO records_fts_grams(rowid, title, other, access) "
        f"SELECT r.id, {grams} FROM records r",
    ]


SEARCH_TEXT = (
    "(reference_code || ' ' || title || ' ' || coalesce(description, '') || ' ' "
    "|| coalesce(extra::text, ''))"
)
POSTGRES_DDL = (
    # Every CJK character, and every pair of neighbouring ones, of a text. string_to_array
    # and ascii() (the code point) keep it independent of the database's collation.
    """CREATE OR REPLACE FUNCTION records_cjk_grams(t text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
      chars text[] := string_to_array(t, NULL);
      grams text[] := '{}';
      here boolean;
      before boolean := false;
    BEGIN
      FOR i IN 1 .. coalesce(cardinality(chars), 0) LOOP
        here := ascii(chars[i]) BETWEEN 13312 AND 40959;
        IF here THEN
          grams := grams || chars[i];
          IF before THEN
            grams := grams || (chars[i - 1] || chars[i]);
          END IF;
        END IF;
        before := here;
      END LOOP;
      RETURN grams;
    END $$""",
    f"CREATE INDEX ix_records_cjk_grams ON records USING gin (records_cjk_grams({SEARCH_TEXT}))",
    "DROP INDEX IF EXISTS ix_records_title_trgm",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop_sqlite()
        for statement in _sqlite_ddl():
            op.execute(statement)
    else:
        for statement in POSTGRES_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop_sqlite()
        for statement in _revision_0002().SQLITE_DDL:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_records_cjk_grams")
        op.execute("DROP FUNCTION IF EXISTS records_cjk_grams(text)")
        op.execute("CREATE INDEX ix_records_title_trgm ON records USING gin (title gin_trgm_ops)")


def _drop_sqlite() -> None:
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS records_fts_grams")
    op.execute("DROP TABLE IF EXISTS records_fts")


def _revision_0002():
    # Revision files are not a package; load 0002 by path for the index it made.
    path = Path(__file__).with_name("0002_copies_and_search.py")
    spec = importlib.util.spec_from_file_location("revision_0002", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
