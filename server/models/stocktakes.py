"""Stocktakes: counting what is really in a part of the archive, and what each count saw."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.columns import Json, Timestamp


class StocktakeState(StrEnum):
    """open → applied, or open → cancelled."""

    OPEN = "open"
    APPLIED = "applied"
    CANCELLED = "cancelled"


class Stocktake(SQLModel, table=True):
    """One count of a location subtree (a room, a unit, a shelf …)."""

    __tablename__ = "stocktakes"

    id: int | None = Field(default=None, primary_key=True)
    scope_id: int = Field(foreign_key="locations.id", index=True)
    # The handheld scanner or reader whose scans and reads count for it while it is open.
    device: str | None = Field(default=None, max_length=64, index=True)
    state: str = Field(default=StocktakeState.OPEN, max_length=10, index=True)
    expected: int = 0  # boxes the twin had in the scope when it started
    started_at: datetime = Field(sa_type=Timestamp)
    started_by: str = Field(max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=Timestamp)
    closed_by: str | None = Field(default=None, max_length=100)
    moved: int | None = None
    marked_missing: int | None = None
    # The result as it stood when the stocktake was applied or cancelled (an open one is
    # compared with the twin as it is now).
    result: dict[str, Any] | None = Field(default=None, sa_type=Json)


class StocktakeSighting(SQLModel, table=True):
    """The first time a stocktake saw a box, where; later scans of it are counted as repeats."""

    __tablename__ = "stocktake_sightings"
    __table_args__ = (UniqueConstraint("stocktake_id", "box_id",
                                       name="uq_stocktake_sightings_box"),)

    id: int | None = Field(default=None, primary_key=True)
    stocktake_id: int = Field(foreign_key="stocktakes.id", index=True)
    box_id: int = Field(foreign_key="boxes.id")
    seen_id: int = Field(foreign_key="locations.id")
    at: datetime = Field(sa_type=Timestamp)
    by: str | None = Field(default=None, max_length=100)
    source: str = Field(max_length=5)  # "scan" or "rfid"
    repeats: int = 0  # scans of the box after the first (RFID re-hearing a tag is no repeat)


class StocktakeCreate(SQLModel):
    model_config = {"extra": "forbid"}
    scope: str = Field(max_length=20, description="code of the location to count (and all inside it)",
                       schema_extra={"examples": ["L00000005"]})
    device: str | None = Field(
        default=None, max_length=64,
        description="a handheld scanner or reader: while the stocktake is open its scans and "
                    "reads count here and move nothing",
        schema_extra={"examples": ["handheld-1"]})


class StocktakeScans(SQLModel):
    model_config = {"extra": "forbid"}
    codes: list[str] = Field(
        min_length=1, max_length=10_000,
        description="codes in the order scanned: a location code sets where the boxes after it "
                    "are seen", schema_extra={"examples": [["L00000006", "B00000001", "B00000002"]]})


class StocktakeStarted(SQLModel):
    id: int
    state: str
    scope: str
    scope_path: str
    device: str | None
    expected: int


class ScansCounted(SQLModel):
    seen: int = Field(description="boxes this call saw for the first time in the stocktake")
    duplicates: int = Field(description="scans in this call of boxes already seen")
    seen_total: int
    duplicates_total: int


class Misplaced(SQLModel):
    box: str
    expected: str | None
    seen: str
    expected_path: str | None = None
    seen_path: str | None = None


class StocktakePublic(SQLModel):
    id: int
    state: str
    scope: str
    scope_path: str
    device: str | None
    expected: int
    seen: int
    started_at: datetime
    started_by: str
    closed_at: datetime | None
    closed_by: str | None
    found: list[str]
    misplaced: list[Misplaced]
    missing: list[str]
    unexpected: list[Misplaced]
    on_loan: list[str]
    duplicates: list[str]
    moved: int | None = None
    marked_missing: int | None = None


class StocktakeApplied(SQLModel):
    id: int
    state: str
    moved: int
    marked_missing: int
    found_again: int = Field(description="missing boxes seen again, back on their shelf")
    left: list[dict[str, str]] = Field(
        default_factory=list, description="boxes seen but not moved, and why (lent, disposed)")
