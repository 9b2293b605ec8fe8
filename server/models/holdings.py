"""What the archive holds: boxes, the records in them, and every move of a box."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from labels.identifiers import cannot_be_a_code
from server.models.columns import Json, Timestamp
from server.services import register_terms


class BoxStatus(StrEnum):
    """Where a box stands in its life: the one list of box statuses."""

    ON_SHELF = "on_shelf"
    IN_TRANSIT = "in_transit"
    ON_LOAN = "on_loan"
    BEING_RETRIEVED = "being_retrieved"  # picked for an approved request, not yet checked out
    MISSING = "missing"
    DISPOSED = "disposed"


Retention = Literal["permanent", "30y", "10y", "custom"]
Classification = Literal["public", "internal", "confidential", "secret", "top_secret"]
MoveReason = Literal["scan", "rfid", "manual", "loan", "stocktake", "import"]
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "secret", "top_secret")
Access = Literal["open", "controlled", "delayed", "unreviewed"]
DescriptionLevel = Literal["fonds", "category", "volume", "file"]


class Box(SQLModel, table=True):
    """An archive box: its code, tag, where it belongs and where it is."""

    __tablename__ = "boxes"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=9, unique=True, index=True)
    epc: str = Field(max_length=24, unique=True, index=True)
    size: str | None = Field(default=None, max_length=30)
    width_mm: int | None = None
    status: str = Field(default="in_transit", max_length=20, index=True)
    home_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    last_seen_at: datetime | None = Field(default=None, sa_type=Timestamp)
    last_seen_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=Timestamp)


class BoxCreate(SQLModel):
    model_config = {"extra": "forbid", "populate_by_name": True}
    home: str | None = Field(
        default=None, description="code of the location the box belongs in",
        schema_extra={"examples": ["L00001042"]},
    )
    size: str | None = Field(default=None, max_length=30, schema_extra={"examples": ["A4-80mm"]})
    width_mm: int | None = Field(default=None, gt=0, le=2000)


class BoxUpdate(SQLModel):
    model_config = {
        "extra": "forbid",
        "populate_by_name": True,
        "json_schema_extra": {"examples": [{"home": "L00001042", "size": "A4-60mm", "width_mm": 60}]},
    }
    home: str | None = None
    size: str | None = Field(default=None, max_length=30)
    width_mm: int | None = Field(default=None, gt=0, le=2000)


class BoxMove(SQLModel):
    model_config = {"extra": "forbid", "populate_by_name": True}
    to: str = Field(description="code of the location", schema_extra={"examples": ["L00001042"]})
    reason: MoveReason = "manual"


class BoxPublic(SQLModel):
    code: str
    epc: str
    qr: str
    status: BoxStatus
    location: str | None
    location_path: str | None = None
    home: str | None
    home_path: str | None = None
    at_home: bool = Field(default=True, description="at its home, or heard there by the shelf "
                          "antenna covering it (true when it has no home)")
    size: str | None = None
    width_mm: int | None = None
    last_seen_at: datetime | None = None
    last_seen_by: str | None = None
    records: int = 0


class RecordBase(SQLModel):
    reference_code: str = Field(
        min_length=1, max_length=100, schema_extra={"examples": ["WS·2024·Y·0001"]}
    )
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    fonds: str | None = Field(default=None, max_length=50, description="全宗")
    series: str | None = Field(default=None, max_length=50, description="类别/series")
    year: int | None = Field(default=None, ge=1000, le=2999)
    retention: Retention = "permanent"
    retention_years: int | None = Field(default=None, gt=0, le=1000)
    classification: Classification = "internal"
    # Description per DA/T 18-2022 (file level); the register's words are read by
    # server.services.register_terms.
    classification_term: str | None = Field(default=None, max_length=20,
                                            description="保密期限, e.g. 10年 of 机密★10年")
    access: Access = Field(default="unreviewed", description="开放标识")
    level: DescriptionLevel = Field(default="file", description="著录层级")
    category: str | None = Field(default=None, max_length=2, description="门类 (DA/T 13), e.g. WS")
    item: int | None = Field(default=None, ge=1, description="件号")
    date: dt.date | None = Field(default=None, description="日期")
    creator: str | None = Field(default=None, max_length=200, description="责任者")
    document_number: str | None = Field(default=None, max_length=100, description="文号")
    pages: int | None = Field(default=None, ge=0, le=1_000_000, description="页数")
    note: str | None = Field(default=None, max_length=2000, description="备注")


class Record(RecordBase, table=True):
    """An archival record (a file or volume) with its reference code."""

    __tablename__ = "records"

    id: int | None = Field(default=None, primary_key=True)
    reference_code: str = Field(max_length=100, unique=True, index=True)
    description: str | None = Field(default=None, sa_column=Column(Text))
    # Plain text columns (SQLModel maps no Literal); RecordCreate/RecordUpdate check the values,
    # so the table widens the base's Literal to str on purpose.
    retention: str = Field(default="permanent", max_length=10)  # type: ignore[assignment]
    classification: str = Field(  # type: ignore[assignment]
        default="internal", max_length=12, index=True
    )
    # Defaults in the database too: rows written by bulk paths (COPY) or restored from older
    # backups get them.
    access: str = Field(  # type: ignore[assignment]
        default="unreviewed", max_length=12, sa_column_kwargs={"server_default": "unreviewed"})
    level: str = Field(  # type: ignore[assignment]
        default="file", max_length=10, sa_column_kwargs={"server_default": "file"})
    fonds: str | None = Field(default=None, max_length=50, index=True)
    year: int | None = Field(default=None, index=True)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=Json)
    box_id: int | None = Field(default=None, foreign_key="boxes.id", index=True)
    volume_id: int | None = Field(default=None, foreign_key="records.id", index=True,
                                  description="the 案卷 this file is in")
    created_at: datetime = Field(sa_type=Timestamp)
    updated_at: datetime = Field(sa_type=Timestamp)


def _reference_code_is_printable(value: str) -> str:
    # A reference code must stay scannable, so it follows labels' rule for what can be a code,
    # and also keeps out / ? # % (it is a path segment in /api/records/{reference_code}).
    value = value.strip()
    if not value or cannot_be_a_code(value) or any(ch in "/?#%" for ch in value):
        raise ValueError(
            "a reference code has no spaces, control characters or / ? # % < > \" { } | \\ ^ `, "
            "e.g. WS·2024·Y·0001"
        )
    return value


class RecordCreate(RecordBase):
    model_config = {"extra": "forbid", "populate_by_name": True}
    reference_code: str = Field(
        default="", max_length=100, schema_extra={"examples": ["WS·2024·Y·0001"]},
        description="档号; left out (with category and year given), the next code is built",
    )
    meta: dict[str, Any] = Field(
        default_factory=dict, alias="metadata", description="free metadata (any keys)"
    )
    box: str | None = Field(default=None, schema_extra={"examples": ["B00000123"]})
    volume: str | None = Field(default=None, description="档号 of the 案卷 (volume) this file is in")

    _read_terms = model_validator(mode="before")(register_terms.read_record_terms)

    @field_validator("reference_code")
    @classmethod
    def _check_reference(cls, value: str) -> str:
        return _reference_code_is_printable(value) if value.strip() else ""


class RecordUpdate(SQLModel):
    model_config = {
        "extra": "forbid",
        "populate_by_name": True,
        "json_schema_extra": {"examples": [
            {"title": "2024年度会计凭证 第1册", "classification": "internal", "box": "B00000123"}
        ]},
    }
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    fonds: str | None = Field(default=None, max_length=50)
    series: str | None = Field(default=None, max_length=50)
    year: int | None = Field(default=None, ge=1000, le=2999)
    retention: Retention | None = None
    retention_years: int | None = Field(default=None, gt=0, le=1000)
    classification: Classification | None = None
    classification_term: str | None = Field(default=None, max_length=20)
    access: Access | None = None
    level: DescriptionLevel | None = None
    category: str | None = Field(default=None, max_length=2)
    item: int | None = Field(default=None, ge=1)
    date: dt.date | None = None
    creator: str | None = Field(default=None, max_length=200)
    document_number: str | None = Field(default=None, max_length=100)
    pages: int | None = Field(default=None, ge=0, le=1_000_000)
    note: str | None = Field(default=None, max_length=2000)
    meta: dict[str, Any] | None = Field(default=None, alias="metadata")
    box: str | None = None
    volume: str | None = None

    _read_terms = model_validator(mode="before")(register_terms.read_record_terms)


class RecordPublic(RecordBase):
    model_config = {"populate_by_name": True}
    meta: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    box: str | None = None
    volume: str | None = None
    location: str | None = None
    location_path: str | None = None
    created_at: datetime
    updated_at: datetime


class Movement(SQLModel, table=True):
    """One move of one box; append-only history of where boxes went and why."""

    __tablename__ = "movements"

    id: int | None = Field(default=None, primary_key=True)
    box_id: int = Field(foreign_key="boxes.id", index=True)
    from_id: int | None = Field(default=None, foreign_key="locations.id")
    to_id: int | None = Field(default=None, foreign_key="locations.id")
    at: datetime = Field(sa_type=Timestamp, index=True)
    by_user: str | None = Field(default=None, max_length=100)
    by_device: str | None = Field(default=None, max_length=100)
    reason: str = Field(max_length=12)


class MovementPublic(SQLModel):
    box: str
    from_location: str | None
    to_location: str | None
    at: datetime
    by_user: str | None
    by_device: str | None
    reason: str
