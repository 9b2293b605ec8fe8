"""Electronic copies of records (scans, PDFs, born-digital files) and the checks made on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.columns import Json, Timestamp

CheckOutcome = Literal["passed", "warning", "failed"]
FixityState = Literal["unchecked", "ok", "mismatch", "missing"]
CheckKind = Literal["ingest", "fixity"]


class ElectronicCopy(SQLModel, table=True):
    """One file attached to a record; its bytes live in the content-addressed store."""

    __tablename__ = "electronic_copies"
    __table_args__ = (UniqueConstraint("record_id", "sha256", name="uq_copy_record_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="records.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    file_name: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    format_name: str = Field(max_length=40, description="format identified from the bytes")
    added_by: str = Field(max_length=100)
    added_at: datetime = Field(sa_type=Timestamp)
    outcome: str = Field(default="passed", max_length=10, description="four-property check")
    checks: dict[str, Any] = Field(default_factory=dict, sa_type=Json)
    checked_at: datetime = Field(sa_type=Timestamp)
    fixity: str = Field(default="unchecked", max_length=10, index=True)
    fixity_checked_at: datetime | None = Field(default=None, sa_type=Timestamp)
    fixity_detail: str | None = Field(default=None, max_length=500)


class CopyCheck(SQLModel, table=True):
    """A check of one copy at ingest, or a fixity result that changed the copy's state."""

    __tablename__ = "copy_checks"

    id: int | None = Field(default=None, primary_key=True)
    copy_id: int = Field(foreign_key="electronic_copies.id", index=True)
    kind: str = Field(max_length=10)
    at: datetime = Field(sa_type=Timestamp, index=True)
    outcome: str = Field(max_length=10)
    detail: str = Field(max_length=500)
    actor: str = Field(max_length=100)


class PropertyCheck(SQLModel):
    """One of the four properties (authenticity, integrity, usability, security)."""

    ok: bool
    detail: str


class ElectronicCopyPublic(SQLModel):
    id: int
    record: str = Field(description="reference code of the record")
    sha256: str
    size_bytes: int
    file_name: str
    media_type: str
    format_name: str
    added_by: str
    added_at: datetime
    download_url: str
    outcome: CheckOutcome
    checks: dict[str, PropertyCheck]
    checked_at: datetime
    fixity: FixityState
    fixity_checked_at: datetime | None
    fixity_detail: str | None
    already_held: bool = Field(
        default=False, description="the same bytes were already attached to this record"
    )


class CopyCheckPublic(SQLModel):
    copy_id: int
    kind: CheckKind
    at: datetime
    outcome: str
    detail: str
    actor: str
