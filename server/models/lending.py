"""Lending by request: what a borrower asks for, the queue for a box, reminders, disposal holds.

A request moves through one state machine (server/services/requests.py); its items name the
boxes it asks for (and the record that asked for each, when a record did). The loans
themselves stay in `loans` (server/models/loans.py), each pointing at its request.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp
from server.models.places import LightSent


class RequestState(StrEnum):
    """Where a lending request stands: the one list of request states."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class LendingMode(StrEnum):
    """Read in the reading room (the default in Chinese archives) or take the box away."""

    READING_ROOM = "reading_room"
    TAKE_AWAY = "take_away"
    DOWNLOAD = "download"  # no box moves: the records' electronic copies, until a due time


class LendingRequest(SQLModel, table=True):
    """One borrower's request for boxes (or the records in them), from submission to return."""

    __tablename__ = "lending_requests"

    id: int | None = Field(default=None, primary_key=True)
    borrower: str = Field(max_length=100, index=True)
    state: str = Field(default=RequestState.SUBMITTED, max_length=12, index=True)
    mode: str = Field(default=LendingMode.READING_ROOM, max_length=12)
    purpose: str = Field(max_length=500)
    wanted_on: date | None = None
    due_on: date | None = None
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=Timestamp, index=True)
    updated_at: datetime = Field(sa_type=Timestamp)
    decided_at: datetime | None = Field(default=None, sa_type=Timestamp)
    decided_by: str | None = Field(default=None, max_length=100)


class DownloadGrant(SQLModel, table=True):
    """One record a download request asks for; once approved, its borrower may download the
    record's electronic copies until `expires_at` (while the request stays approved)."""

    __tablename__ = "download_grants"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="lending_requests.id", index=True)
    record_id: int = Field(foreign_key="records.id", index=True)
    borrower: str = Field(max_length=100, index=True)
    expires_at: datetime | None = Field(default=None, sa_type=Timestamp)


class RequestItem(SQLModel, table=True):
    """One box a request asks for; `record_id` when a record asked for its box."""

    __tablename__ = "request_items"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="lending_requests.id", index=True)
    box_id: int = Field(foreign_key="boxes.id", index=True)
    record_id: int | None = Field(default=None, foreign_key="records.id")
    picked_at: datetime | None = Field(default=None, sa_type=Timestamp)
    picked_by: str | None = Field(default=None, max_length=100)
    loan_id: int | None = Field(default=None, foreign_key="loans.id", index=True)


class Hold(SQLModel, table=True):
    """A borrower queueing for a box; active until ended (fulfilled or cancelled)."""

    __tablename__ = "holds"

    id: int | None = Field(default=None, primary_key=True)
    box_id: int = Field(foreign_key="boxes.id", index=True)
    borrower: str = Field(max_length=100, index=True)
    record_id: int | None = Field(default=None, foreign_key="records.id")
    placed_at: datetime = Field(sa_type=Timestamp)
    ready_at: datetime | None = Field(default=None, sa_type=Timestamp)  # told the box is back
    ended_at: datetime | None = Field(default=None, sa_type=Timestamp, index=True)
    ended_reason: str | None = Field(default=None, max_length=12)


class LoanReminder(SQLModel, table=True):
    """One reminder stage sent for one loan (each stage once)."""

    __tablename__ = "loan_reminders"
    __table_args__ = (UniqueConstraint("loan_id", "stage", name="uq_loan_reminders_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loans.id", index=True)
    stage: int
    due_on: date
    sent_at: datetime = Field(sa_type=Timestamp)
    email_to: str | None = Field(default=None, max_length=200)
    emailed_at: datetime | None = Field(default=None, sa_type=Timestamp)


class DisposalHold(SQLModel, table=True):
    """A box held for disposal (appraisal under way): it is not lent while the hold stands."""

    __tablename__ = "disposal_holds"

    id: int | None = Field(default=None, primary_key=True)
    box_id: int = Field(foreign_key="boxes.id", index=True)
    reason: str = Field(max_length=500)
    placed_at: datetime = Field(sa_type=Timestamp)
    placed_by: str = Field(max_length=100)
    released_at: datetime | None = Field(default=None, sa_type=Timestamp)
    released_by: str | None = Field(default=None, max_length=100)


# -- what the API takes and gives --------------------------------------------------------


class RequestCreate(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"records": ["WS·2024·Y·0001"], "purpose": "审计核查",
                                             "wanted_on": "2026-12-15", "mode": "reading_room"}]},
    }
    records: list[str] | None = Field(default=None, max_length=200,
                                      description="reference codes; each asks for its box")
    boxes: list[str] | None = Field(default=None, max_length=200, description="box codes")
    purpose: str = Field(min_length=1, max_length=500)
    wanted_on: date | None = None
    mode: LendingMode = LendingMode.READING_ROOM


class RequestApprove(SQLModel):
    model_config = {"extra": "forbid"}
    due_on: date | None = Field(default=None, description="unset: from the lending policy")


class RequestRefuse(SQLModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(min_length=1, max_length=500)


class RequestItemPublic(SQLModel):
    box: str
    record: str | None
    picked_at: datetime | None
    loan: int | None


class RequestPublic(SQLModel):
    id: int
    state: RequestState
    borrower: str
    boxes: list[str]
    records: list[str]
    mode: LendingMode
    purpose: str
    wanted_on: date | None
    due_on: date | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    items: list[RequestItemPublic]
    download_until: datetime | None = Field(
        default=None, description="mode download, approved: the copies may be downloaded "
                                  "until then")


class CheckoutBody(SQLModel):
    model_config = {"extra": "forbid"}
    request: int = Field(ge=1, le=2**63 - 1, description="the approved request's id")


class PickBody(SQLModel):
    model_config = {"extra": "forbid"}
    request: int | None = Field(default=None, ge=1, le=2**63 - 1)


class RenewBody(SQLModel):
    model_config = {"extra": "forbid"}
    due_on: date | None = Field(default=None, description="unset: the policy's renewal term")


class PickItem(SQLModel):
    box: str
    location: str | None
    path: str | None
    request: int
    borrower: str
    mode: LendingMode
    picked: bool
    light: LightSent | None = Field(description="the shelf-light command that guides the picker")


class HoldCreate(SQLModel):
    model_config = {"extra": "forbid"}
    box: str | None = None
    record: str | None = None


class HoldPublic(SQLModel):
    id: int
    box: str
    borrower: str
    record: str | None
    position: int | None
    placed_at: datetime
    ready_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None


class WhereIs(SQLModel):
    code: str
    kind: str
    box: str | None
    status: str
    path: str | None
    due_on: date | None
    queue_position: int | None
    last_moved_at: datetime | None


class DisposalHoldCreate(SQLModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(min_length=1, max_length=500)
