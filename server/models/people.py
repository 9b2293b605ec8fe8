"""People who sign in: their role and their security clearance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp


class Role(StrEnum):
    """What a person does here; their permissions follow from it."""

    ADMIN = "admin"
    ARCHIVIST = "archivist"
    STAFF = "staff"
    FACILITIES = "facilities"
    BORROWER = "borrower"


ROLES: tuple[str, ...] = tuple(Role)
Clearance = Literal["public", "internal", "confidential", "secret", "top_secret"]


class User(SQLModel, table=True):
    """A person with a role and a clearance; the password is an argon2 hash."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=12)
    clearance: str = Field(default="internal", max_length=12)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = Field(sa_type=Timestamp)
    email: str | None = Field(default=None, max_length=200)  # where loan reminders go

    @property
    def disabled(self) -> bool:
        """A disabled person cannot sign in; their sessions have ended."""
        return not self.active


class UserCreate(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"username": "li.wei", "password": "a-long-password",
                                         "role": "borrower", "clearance": "internal",
                                         "full_name": "李伟"}]},
    }
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]+$")] = Field(
        min_length=2, max_length=64, description="letters, digits and _ . @ -"
    )
    password: str = Field(min_length=8, max_length=200)
    role: Role
    clearance: Clearance | None = None
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200,
                              description="where loan reminders go")


class UserPublic(SQLModel):
    username: str
    full_name: str | None
    role: Role
    clearance: Clearance
    active: bool
    disabled: bool
    email: str | None = Field(default=None, description="shown to admins and to the person")


class UserUpdate(SQLModel):
    """What an admin may change about a person (PATCH /api/users/{username})."""

    model_config = {"extra": "forbid",
                    "json_schema_extra": {"examples": [{"disabled": True}, {"role": "staff"}]}}
    role: Role | None = None
    clearance: Clearance | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    email: str | None = Field(default=None, max_length=200,
                              description="where loan reminders go; null or \"\" clears it")
