"""Alarms: something a person should look at (removal at the door, missing box, climate, offline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp

AlarmState = Literal["active", "acknowledged", "cleared"]
Severity = Literal["info", "warning", "critical"]


class Alarm(SQLModel, table=True):
    """One alarm; at most one active alarm per (kind, subject)."""

    __tablename__ = "alarms"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    severity: str = Field(max_length=10)
    subject: str = Field(max_length=100, index=True)
    message: str = Field(max_length=500)  # in English; the words as they were when raised
    # The message's key and values (translations.Message.as_json), so a page says it in its
    # language; null on alarms raised before there were keys, which show `message`.
    wording: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    state: str = Field(default="active", max_length=20, index=True)
    raised_at: datetime = Field(sa_type=Timestamp)
    cleared_at: datetime | None = Field(default=None, sa_type=Timestamp)
    cleared_by: str | None = Field(default=None, max_length=100)
    acknowledged_at: datetime | None = Field(default=None, sa_type=Timestamp)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    acknowledge_note: str | None = Field(default=None, max_length=1000)
    clear_note: str | None = Field(default=None, max_length=1000)


class AlarmPublic(SQLModel):
    id: int
    kind: str
    severity: Severity
    subject: str
    message: str
    state: AlarmState
    raised_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledge_note: str | None = None
    clear_note: str | None = None
