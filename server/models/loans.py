"""Loans: who took a box out, when it is due back, and when it came back."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp


class Loan(SQLModel, table=True):
    """One box lent to one person; open until returned_at is set."""

    __tablename__ = "loans"

    id: int | None = Field(default=None, primary_key=True)
    box_id: int = Field(foreign_key="boxes.id", index=True)
    borrower: str = Field(max_length=100, index=True)
    purpose: str | None = Field(default=None, max_length=500)
    due_on: date
    lent_at: datetime = Field(sa_type=Timestamp, index=True)
    lent_by: str = Field(max_length=100)
    taken_from_id: int | None = Field(default=None, foreign_key="locations.id")
    returned_at: datetime | None = Field(default=None, sa_type=Timestamp, index=True)
    returned_by: str | None = Field(default=None, max_length=100)
    # lending by request (issue 10)
    request_id: int | None = Field(default=None, foreign_key="lending_requests.id", index=True)
    renewals: int = Field(default=0)
    overdue_at: datetime | None = Field(default=None, sa_type=Timestamp)


class LoanCreate(SQLModel):
    model_config = {"extra": "forbid"}
    borrower: str = Field(min_length=1, max_length=100,
                          description="username of the person who takes the box",
                          schema_extra={"examples": ["li.wei"]})
    due_on: date = Field(description="the day the box is due back",
                         schema_extra={"examples": ["2026-12-15"]})
    purpose: str | None = Field(default=None, max_length=500,
                                schema_extra={"examples": ["利用: 审计核查 / audit review"]})


class LoanReturn(SQLModel):
    model_config = {"extra": "forbid"}
    to: str | None = Field(default=None,
                           description="shelve it here at once (a location code); otherwise "
                                       "the box is in transit until someone shelves it",
                           schema_extra={"examples": ["L00001042"]})


class LoanPublic(SQLModel):
    id: int
    box: str
    borrower: str
    purpose: str | None
    due_on: date
    overdue: bool
    lent_at: datetime
    lent_by: str
    taken_from: str | None
    returned_at: datetime | None
    returned_by: str | None
    request: int | None = None
    renewals: int = 0
