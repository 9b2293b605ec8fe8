"""Devices in the room (readers, scanners, sensors, lights) and what they sent that was unusable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints
from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from server.models.columns import Json, Timestamp

DeviceType = Literal["reader", "scanner", "sensor", "light"]
ReaderRole = Literal["shelf", "gate", "handheld"]


class Device(SQLModel, table=True):
    """A registered device; its id is the one it uses on the wire."""

    __tablename__ = "devices"

    id: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=10)
    role: str | None = Field(default=None, max_length=10)
    antennas: dict[str, Any] = Field(default_factory=dict, sa_type=Json)
    room_id: int | None = Field(default=None, foreign_key="locations.id")
    report_interval_s: int | None = None
    state: str = Field(default="unknown", max_length=10)
    last_seen_at: datetime | None = Field(default=None, sa_type=Timestamp)
    # Devices count 0 <= seq < 2**63 (CONTRACT.md); a 32-bit column overflows on PostgreSQL.
    last_seq: int | None = Field(default=None, sa_type=BigInteger)
    reads_total: int = Field(
        default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"},
        description="tag reads or messages taken in",
    )
    created_at: datetime = Field(sa_type=Timestamp)


class DeviceMessage(SQLModel, table=True):
    """A device message taken in: its (device, seq, ts) makes a redelivery a duplicate."""

    __tablename__ = "device_messages"

    device: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    ts: datetime = Field(primary_key=True, sa_type=Timestamp)
    taken_at: datetime = Field(sa_type=Timestamp, index=True)


class DeviceCreate(SQLModel):
    model_config = {"extra": "forbid"}
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]+$")] = Field(
        min_length=1, max_length=64, description="the id the device uses in its topics",
        schema_extra={"examples": ["shelf-r1-u03"]},
    )
    type: DeviceType
    role: ReaderRole | None = None
    antennas: dict[str, str] = Field(
        default_factory=dict, description="antenna number → location code (shelf readers)",
        schema_extra={"examples": [{"1": "L00001042"}]},
    )
    room: str | None = Field(default=None, description="code of the room the device is in")
    report_interval_s: int | None = Field(default=None, gt=0, le=86_400)


class DeviceUpdate(SQLModel):
    """A correction to a registered device: only the fields given change (id and type stay)."""

    model_config = {"extra": "forbid"}
    role: ReaderRole | None = None
    antennas: dict[str, str] | None = Field(
        default=None, description="the whole new antenna map: antenna number → location code",
        schema_extra={"examples": [{"1": "L00001042", "2": "L00001043"}]},
    )
    room: str | None = Field(default=None, description="code of the room the device is in")
    report_interval_s: int | None = Field(default=None, gt=0, le=86_400)


class DevicePublic(SQLModel):
    id: str
    type: DeviceType
    role: ReaderRole | None
    antennas: dict[str, str]
    room: str | None
    report_interval_s: int | None
    state: str
    last_seen_at: datetime | None
    reads_total: int = 0
    rejects: int = 0


class DeviceReject(SQLModel, table=True):
    """A message or frame that could not be used, kept with its reason (dead letters)."""

    __tablename__ = "device_rejects"

    id: int | None = Field(default=None, primary_key=True)
    device: str | None = Field(default=None, max_length=64, index=True)
    topic: str = Field(max_length=300, description="MQTT topic or serial port")
    reason: str = Field(max_length=500)
    raw: bytes = Field(sa_column=Column(LargeBinary))
    ts: datetime = Field(sa_type=Timestamp, index=True)


class DeviceRejectPublic(SQLModel):
    device: str | None
    topic: str
    reason: str
    ts: datetime
    first_bytes: str = Field(description="the first bytes, as text where printable, else hex")
