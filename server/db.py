"""The database: engine (SQLite WAL by default, PostgreSQL by URL), sessions, migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # pysqlite's own BEGIN comes late (before the first INSERT, never before a
            # SAVEPOINT) and is always DEFERRED; we emit BEGIN ourselves in _sqlite_begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(SQLITE_BEGIN, '')}")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


# The execution option that says how a SQLite transaction begins (see writing()).
SQLITE_BEGIN = "sqlite_begin"


def writing(engine: Engine) -> Engine:
    """The same engine (and pool) for work that writes: on SQLite it begins IMMEDIATE.

    A DEFERRED transaction that reads and then writes cannot wait for the write lock: when
    another connection committed since its first read, SQLite refuses the upgrade at once
    ("database is locked"), whatever the busy timeout. BEGIN IMMEDIATE takes the lock first,
    waiting for it under the busy timeout. Readers keep plain BEGIN and never queue behind a
    writer (WAL). PostgreSQL ignores the option.
    """
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def is_postgres(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work that writes: commit on success, roll back on any error."""
    with Session(writing(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# What the database keeps for search that no model describes: SQLite FTS5's tables and
# PostgreSQL's trigram and CJK bigram indexes; made by hand in migrations 0002 and 0004.
UNMODELLED_PREFIXES = ("records_fts",)
UNMODELLED_INDEX_SUFFIXES = ("_trgm", "_cjk_grams")


def include_in_autogenerate(obj, name, type_, _reflected, _compare_to) -> bool:
    """Alembic's include_object: leave the full-text search structures alone."""
    if not name:
        return True
    if type_ == "table":
        return not name.startswith(UNMODELLED_PREFIXES)
    if type_ == "index":
        return not name.endswith(UNMODELLED_INDEX_SUFFIXES)
    return True


def alembic_config(url: str):
    """An Alembic config that points at our migrations and the given database."""
    # Alembic is imported here, not at the top: serving workers never migrate, and it
    # costs each of them 10 MB of memory.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the database schema to `revision`."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from alembic import command

    log.info("migrating database to %s", revision)
    command.upgrade(alembic_config(url), revision)
