"""Shared fixtures: a real database (SQLite always, PostgreSQL when configured) and the app."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import server.models  # noqa: F401  (registers the tables)
from server.app import create_app
from server.db import make_engine, migrate
from server.services import people
from server.services.codes import CodeScheme
from server.settings import Settings

PG_URL = os.environ.get("ARCHIVE_TWIN_TEST_DATABASE_URL")
PASSWORD = "correct-horse-battery"
SCHEME = CodeScheme(company_prefix="0614141", site_number=1, base_url="http://archive.test")


def _database_params() -> list:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not PG_URL, reason="ARCHIVE_TWIN_TEST_DATABASE_URL not set"),
        ),
    ]


@pytest.fixture(scope="session", params=_database_params())
def database_url(request, tmp_path_factory) -> str:
    """A migrated database: a SQLite file, or the PostgreSQL database CI made for this run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = PG_URL
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def wipe(engine: Engine) -> None:
    """Empty every table, so each test starts from an empty archive."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db(engine) -> Iterator[Engine]:
    """The test database, emptied after the test."""
    yield engine
    wipe(engine)


@pytest.fixture
def session(db) -> Iterator[Session]:
    """A session on the emptied test database."""
    with Session(db, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    """Settings for an app on the test database, with devices off."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-long-enough-1234",
        base_url=SCHEME.base_url,
        epc_company_prefix=SCHEME.company_prefix,
        devices_enabled=False,
    )


@pytest.fixture
def client(db, settings) -> Iterator[TestClient]:
    """The real app over HTTP (in-process), on the test database."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def auth(client, db) -> Callable[[str], dict[str, str]]:
    """auth(role) -> headers of a freshly signed-in person with that role."""
    tokens: dict[str, dict[str, str]] = {}

    def headers(role: str, clearance: str | None = None) -> dict[str, str]:
        key = f"{role}:{clearance}"
        if key not in tokens:
            username = f"{role}-{clearance or 'default'}"
            with Session(db) as s:
                people.create_user(s, username=username, password=PASSWORD, role=role,
                                   clearance=clearance)
                s.commit()
            answer = client.post("/api/auth/token",
                                 data={"username": username, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            tokens[key] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return tokens[key]

    return headers
