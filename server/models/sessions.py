"""Sign-in sessions (a token names one; ending it refuses the token) and sign-in brakes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp


class SignInSession(SQLModel, table=True):
    """One sign-in: its token carries `id`; the token is refused once `ended_at` is set."""

    __tablename__ = "sign_in_sessions"

    id: str = Field(primary_key=True, max_length=43)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(sa_type=Timestamp)
    expires_at: datetime = Field(sa_type=Timestamp)
    ended_at: datetime | None = Field(default=None, sa_type=Timestamp)
    ended_why: str | None = Field(default=None, max_length=20)
    client: str | None = Field(default=None, max_length=100)


class SignInThrottle(SQLModel, table=True):
    """Recent failed sign-ins for one username or one client address."""

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=120)
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=Timestamp)
    blocked_until: datetime | None = Field(default=None, sa_type=Timestamp)
