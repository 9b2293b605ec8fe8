"""Climate: what each sensor measured in its room."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp


class ClimateSample(SQLModel, table=True):
    """One reading of temperature and relative humidity, as the sensor sent it."""

    __tablename__ = "climate_samples"

    id: int | None = Field(default=None, primary_key=True)
    sensor: str = Field(max_length=64, index=True)
    room_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    ts: datetime = Field(sa_type=Timestamp, index=True)
    temperature_c: float
    humidity_pct: float


class ClimateSamplePublic(SQLModel):
    sensor: str
    room: str | None
    ts: datetime
    temperature_c: float
    humidity_pct: float
