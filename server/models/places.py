"""Where things are: the site and its tree of locations (room → unit → side → section → shelf → slot)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp

LocationKind = Literal["room", "unit", "side", "section", "shelf", "slot"]
LOCATION_KINDS: tuple[LocationKind, ...] = ("room", "unit", "side", "section", "shelf", "slot")


class Site(SQLModel, table=True):
    """One archive building or campus; its number is the SGLN location reference."""

    __tablename__ = "sites"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    number: int = Field(unique=True)


class LocationBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, schema_extra={"examples": ["Shelf 4"]})
    kind: LocationKind = Field(schema_extra={"examples": ["shelf"]})
    capacity: int | None = Field(
        default=None, ge=0, le=10_000, description="how many boxes it holds at most"
    )
    length_mm: int | None = Field(
        default=None, ge=0, le=100_000, description="usable shelf length, for the space calculator"
    )
    x: float | None = Field(default=None, description="position in the room, for drawing")
    y: float | None = Field(default=None)


class Location(LocationBase, table=True):
    """A place in the archive: a room, a shelving unit, ... down to one slot."""

    __tablename__ = "locations"

    # The column is plain text (SQLModel maps no Literal); the kinds are checked where a location
    # is made, so the table widens the base's Literal to str on purpose.
    kind: str = Field(max_length=10, index=True)  # type: ignore[assignment]
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=9, unique=True, index=True)
    site_id: int = Field(foreign_key="sites.id")
    parent_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    path: str = Field(max_length=1000, description="human path: Room 1 › Unit 03 › A › ...")
    lineage: str = Field(max_length=400, index=True, description="ids from the root: /1/7/42/")
    depth: int = 0
    created_at: datetime = Field(sa_type=Timestamp)


class LocationCreate(LocationBase):
    model_config = {"extra": "forbid"}
    parent: str | None = Field(
        default=None, description="code of the parent location; null for a room",
        schema_extra={"examples": ["L00000012"]},
    )


class LocationUpdate(SQLModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"name": "Shelf 4", "capacity": 6, "length_mm": 900}]},
    }
    name: str | None = Field(default=None, min_length=1, max_length=100)
    capacity: int | None = Field(default=None, ge=0, le=10_000)
    length_mm: int | None = Field(default=None, ge=0, le=100_000)
    x: float | None = None
    y: float | None = None


class LocationPublic(LocationBase):
    code: str
    epc: str
    qr: str
    path: str
    parent: str | None
    boxes: int = Field(default=0, description="boxes here now")


LightColor = Literal["green", "blue", "red", "yellow", "white"]


class LightRequest(SQLModel):
    """Switch the shelf light at a place, e.g. to guide a person picking a box."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"on": True, "color": "green", "seconds": 60}]},
    }

    on: bool = True
    color: LightColor = "green"
    seconds: int = Field(default=60, ge=0, le=3600,
                         description="switch off again after this long; 0: until told")


class LightSent(SQLModel):
    """The command the server published on `lights/{location}/set`."""

    location: str
    path: str
    on: bool
    color: str
    seconds: int
