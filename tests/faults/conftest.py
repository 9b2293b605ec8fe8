"""Fault-suite fixtures: a database per test (SQLite; PostgreSQL when configured), a private
Mosquitto per test, the server as a real process, and one figures line per test."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.faults.harness import MOSQUITTO, Counter, Mosquitto, Server

logger = logging.getLogger(__name__)

PG_URL = os.environ.get("ARCHIVE_TWIN_TEST_DATABASE_URL")



@pytest.fixture(autouse=True)
def _needs_mosquitto() -> None:
    if MOSQUITTO is None:
        pytest.skip("the fault suite runs a private mosquitto, and none is installed")


def _database_params() -> list:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql", id="postgresql", marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="ARCHIVE_TWIN_TEST_DATABASE_URL not set")],
        ),
    ]


@pytest.fixture(params=_database_params())
def database(request, tmp_path) -> Iterator[str]:
    """An empty database for one server: a SQLite file, or a PostgreSQL database of its own.

    On PostgreSQL each test gets a fresh database beside the one the run was given (the rest
    of the run migrates and empties that one; a schema in it would find its tables through
    the search path), dropped afterwards.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        return
    assert PG_URL is not None
    name = f"faults_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def db_name(request) -> str:
    """sqlite or postgresql, for the figures line."""
    return request.node.callspec.params.get("database", "?")


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    """A private Mosquitto (persistence on, no queue limit) for this test alone."""
    mosquitto = Mosquitto(tmp_path / "broker")
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def make_server(database, tmp_path) -> Iterator[Callable[..., Server]]:
    """make_server(mqtt_url, workers=1, **env) -> an initialised, started server."""
    made: list[Server] = []

    def make(mqtt_url: str, *, workers: int = 1, start: bool = True, **env: str) -> Server:
        server = Server(database_url=database, mqtt_url=mqtt_url, workers=workers,
                        work=tmp_path / f"server-{len(made)}",
                        extra_env={f"ARCHIVE_TWIN_{k.upper()}": v for k, v in env.items()})
        made.append(server)
        server.init()
        if start:
            server.start()
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def counter(database) -> Iterator[Counter]:
    """Counts what the twin holds."""
    counting = Counter(database)
    yield counting
    counting.dispose()


@pytest.fixture
def figures(request, db_name) -> Callable[[str, str], None]:
    """figures(case, text): print `faults: case [db]: text` in pytest's output, pass or fail."""
    config = request.config

    def say(case: str, line: str) -> None:
        shown = f"faults: {case} [{db_name}]: {line}"
        logger.info(shown)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            # Test output is captured; the figures belong in the visible run log.
            with capture.global_and_fixture_disabled():
                reporter.ensure_newline()
                reporter.write_line(shown)

    return say
