"""Alembic environment: migrations run against the URL the caller configured."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import server.models  # noqa: F401  (registers every table on SQLModel.metadata)
from server.db import include_in_autogenerate, make_engine

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run the migrations inside one connection and transaction."""
    url = context.config.get_main_option("sqlalchemy.url")
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    if url is None:
        # server.db.migrate() always sets it; a bare `alembic upgrade` without it cannot go on.
        raise RuntimeError("alembic: no sqlalchemy.url to migrate")
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
