"""Climate: what each sensor measured in its room."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.columns import Timestamp


class ClimateSample(SQLModel, table=True):
    """One reading of temperature and relative humidity, as the sensor sent it."""

    __tablename__ = "climate_samples"
    # a room's readings over a span: reports, roll-ups, exposure and the alarm rules
    __table_args__ = (Index("ix_climate_samples_room_ts", "room_id", "ts"),)

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


class ClimateProfile(SQLModel, table=True):
    """An allowed climate (band, daily swing, alarm timing); built-ins live in code until edited."""

    __tablename__ = "climate_profiles"

    name: str = Field(primary_key=True, max_length=40)
    temperature_min: float
    temperature_max: float
    humidity_min: float
    humidity_max: float
    swing_temperature_c: float
    swing_humidity_pct: float
    hold_s: int
    hysteresis_temperature_c: float
    hysteresis_humidity_pct: float
    escalate_s: int


class RoomClimate(SQLModel, table=True):
    """Which profile a room is kept to (a room without a row keeps the default profile)."""

    __tablename__ = "room_climates"

    room_id: int = Field(primary_key=True, foreign_key="locations.id")
    profile: str = Field(max_length=40)


class ClimateRollup(SQLModel, table=True):
    """One hour or one day of a room's readings, summed up; kept for good."""

    __tablename__ = "climate_rollups"
    __table_args__ = (UniqueConstraint("room_id", "period", "start", name="uq_climate_rollup"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="locations.id")
    period: str = Field(max_length=5)  # "hour" or "day"
    start: datetime = Field(sa_type=Timestamp)
    samples: int
    temperature_min: float
    temperature_max: float
    temperature_mean: float
    humidity_min: float
    humidity_max: float
    humidity_mean: float
    seconds_in_band: float
    seconds_mould: float  # at or above 65 %RH between 2 and 45 °C
    seconds_known: float


class Band(SQLModel):
    min: float
    max: float


class ClimatePair(SQLModel):
    temperature_c: float = Field(ge=0)
    humidity_pct: float = Field(ge=0)


class ClimateProfilePublic(SQLModel):
    """A profile as the API shows and takes it (CONTRACT.md, "Climate")."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=40, schema_extra={"examples": ["paper"]})
    temperature_c: Band
    humidity_pct: Band
    daily_swing: ClimatePair
    hold_s: int = Field(ge=0, le=7 * 86400)
    hysteresis: ClimatePair
    escalate_s: int = Field(default=3600, ge=0, le=30 * 86400,
                            description="out of band this long, an alarm becomes critical")


class ClimateNow(SQLModel):
    temperature_c: float
    humidity_pct: float
    sensors: int
    ts: datetime
    readings: list[ClimateSamplePublic] = []


class RoomClimatePublic(SQLModel):
    room: str
    name: str | None = None
    profile: ClimateProfilePublic
    now: ClimateNow | None
    state: str
