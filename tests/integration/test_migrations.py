"""Migrations build, from nothing, exactly the schema the models describe, on both databases."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from server.db import include_in_autogenerate, make_engine, migrate
from tests.conftest import PG_URL


def _assert_schema_matches(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_in_autogenerate})
        diff = compare_metadata(context, SQLModel.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert version is not None
    migrate(url)  # running it again changes nothing and does not fail


def test_sqlite_from_empty_to_head(tmp_path):
    _assert_schema_matches(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.mark.skipif(not PG_URL, reason="ARCHIVE_TWIN_TEST_DATABASE_URL not set")
def test_postgresql_from_empty_to_head():
    name = f"archive_twin_migr_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        _assert_schema_matches(make_url(PG_URL).set(database=name).render_as_string(False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
