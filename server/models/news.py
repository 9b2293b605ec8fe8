"""The outbox: news of the twin written in the transaction that made the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from server.models.columns import Json, Timestamp

# SQLite gives a row id (and autoincrement) only to a column declared INTEGER PRIMARY KEY.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEntry(SQLModel, table=True):
    """One piece of news; `position` is its place in commit order, given as it commits."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_position", "position", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(RowId, primary_key=True, autoincrement=True))
    position: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=20)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=Json)
    at: datetime = Field(sa_type=Timestamp)


class NewsCursor(SQLModel, table=True):
    """How far a reader of the outbox has delivered (e.g. the MQTT publisher)."""

    __tablename__ = "news_cursors"

    name: str = Field(primary_key=True, max_length=40)
    position: int = Field(default=0, sa_type=BigInteger)
