"""Typed events every device source emits, whatever the wire (MQTT or serial)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

DeviceState = Literal["online", "offline"]


class TagRead(NamedTuple):
    """One EPC seen by one antenna: how strongly and how many times since the last report.

    A NamedTuple rather than a frozen dataclass: it is just as immutable, and it is made
    100,000 times a second on the ingest path, where it is three times cheaper to build.
    """

    epc: str
    antenna: int
    rssi: float
    # Shadows tuple.count(), which nobody calls on a read; the wire format names the field.
    count: int = 1  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class TagReads:
    """A batch of tag reads from one reader; one wire message carries many reads."""

    device_id: str
    ts: datetime
    seq: int | None
    reads: tuple[TagRead, ...]
    source: str = ""


@dataclass(frozen=True, slots=True)
class Scan:
    """One code read by a barcode or QR scanner (or typed by a person)."""

    device_id: str
    ts: datetime
    seq: int | None
    code: str
    operator: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class ClimateReading:
    """Temperature and relative humidity from one sensor."""

    device_id: str
    ts: datetime
    seq: int | None
    temperature_c: float
    humidity_pct: float
    source: str = ""


BinaryKind = Literal["leak", "smoke", "door", "power", "gas"]
BINARY_KINDS: tuple[str, ...] = ("leak", "smoke", "door", "power", "gas")


@dataclass(frozen=True, slots=True)
class SensorEvent:
    """A binary room sensor (十防: water leak, smoke, door contact, power, gas) changed state."""

    device_id: str
    ts: datetime
    seq: int | None
    kind: BinaryKind
    active: bool
    source: str = ""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device came online or went offline (retained status or last will)."""

    device_id: str
    state: DeviceState
    ts: datetime
    source: str = ""


@dataclass(frozen=True, slots=True)
class LightCommand:
    """Switch a shelf light, e.g. to guide a person to a slot."""

    location_code: str
    on: bool
    color: str
    seconds: int


@dataclass(frozen=True, slots=True)
class Reject:
    """A message that could not become an event, kept with its reason (dead letter)."""

    source: str  # MQTT topic or serial port URL
    device_id: str | None
    raw: bytes  # first 256 bytes only
    reason: str
    ts: datetime


Event = TagReads | Scan | ClimateReading | SensorEvent | DeviceStatus

RAW_KEEP = 256
