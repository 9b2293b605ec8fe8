"""Climate readings: store what sensors measured; refuse what cannot physically be."""

from __future__ import annotations

from datetime import datetime
from statistics import median

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from server.clock import as_utc
from server.models.climate import ClimateNow, ClimateSample, ClimateSamplePublic
from server.models.places import Location
from server.services import alarms, locations
from server.services.listing import page

TEMPERATURE_RANGE_C = (-40.0, 85.0)  # what the common sensors (SHT20, SHT3x) can measure
HUMIDITY_RANGE_PCT = (0.0, 100.0)


def impossible(temperature_c: float, humidity_pct: float) -> str | None:
    """Why a reading cannot be physical, or None when it can."""
    lo, hi = TEMPERATURE_RANGE_C
    if not lo <= temperature_c <= hi:
        return f"temperature {temperature_c:g} °C is outside {lo:g}…{hi:g} °C"
    lo, hi = HUMIDITY_RANGE_PCT
    if not lo <= humidity_pct <= hi:
        return f"humidity {humidity_pct:g} % RH is outside {lo:g}…{hi:g} %"
    return None


def store(session: Session, samples: list[tuple[str, int | None, datetime, float, float]]) -> int:
    """Insert (sensor, room_id, ts, temperature, humidity) samples in bulk; returns how many."""
    if samples:
        session.exec(insert(ClimateSample), params=[
            {"sensor": s, "room_id": r, "ts": ts, "temperature_c": t, "humidity_pct": h}
            for s, r, ts, t, h in samples
        ])
    return len(samples)


def samples(
    session: Session, *, room: str | None = None, sensor: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 500,
    offset: int = 0,
) -> tuple[list[ClimateSamplePublic], int]:
    """Stored readings, newest first, for a room or a sensor and a time span."""
    query = select(ClimateSample)
    if room:
        query = query.where(ClimateSample.room_id == locations.by_code(session, room, field="room").id)
    if sensor:
        query = query.where(ClimateSample.sensor == sensor)
    if since:
        query = query.where(col(ClimateSample.ts) >= since)
    if until:
        query = query.where(col(ClimateSample.ts) <= until)
    rows, total = page(session, query.order_by(col(ClimateSample.ts).desc()), limit=limit,
                       offset=offset)
    return _present(session, rows), total


def latest(session: Session) -> list[ClimateSamplePublic]:
    """The newest reading of every sensor."""
    newest = (
        select(ClimateSample.sensor, func.max(ClimateSample.id).label("last"))
        .group_by(ClimateSample.sensor).subquery()
    )
    rows = session.exec(
        select(ClimateSample).join(newest, col(ClimateSample.id) == newest.c.last)
        .order_by(ClimateSample.sensor)
    ).all()
    return _present(session, list(rows))


def _present(session: Session, rows: list[ClimateSample]) -> list[ClimateSamplePublic]:
    rooms = {r.room_id for r in rows if r.room_id}
    codes = dict(session.exec(
        select(Location.id, Location.code).where(col(Location.id).in_(rooms))
    ).all()) if rooms else {}
    return [
        ClimateSamplePublic(sensor=r.sensor, room=codes.get(r.room_id), ts=r.ts,
                            temperature_c=r.temperature_c, humidity_pct=r.humidity_pct)
        for r in rows
    ]


def room_readings_now(session: Session, room: Location, *, stale_s: float = 900.0
                      ) -> list[ClimateSamplePublic]:
    """The newest reading of each of a room's sensors that is still fresh (within stale_s of
    the room's newest reading), by sensor."""
    newest = (
        select(ClimateSample.sensor, func.max(ClimateSample.id).label("last"))
        .where(ClimateSample.room_id == room.id)
        .group_by(ClimateSample.sensor).subquery()
    )
    rows = list(session.exec(
        select(ClimateSample).join(newest, col(ClimateSample.id) == newest.c.last)
        .order_by(ClimateSample.sensor)
    ).all())
    if not rows:
        return []
    top = max(as_utc(r.ts) for r in rows)
    fresh = [r for r in rows if (top - as_utc(r.ts)).total_seconds() <= stale_s]
    return [ClimateSamplePublic(sensor=r.sensor, room=room.code, ts=r.ts,
                                temperature_c=r.temperature_c, humidity_pct=r.humidity_pct)
            for r in fresh]


def room_now(session: Session, room: Location, *, stale_s: float = 900.0) -> ClimateNow | None:
    """A room's climate now: the median of its fresh sensors' latest readings."""
    readings = room_readings_now(session, room, stale_s=stale_s)
    if not readings:
        return None
    return ClimateNow(
        temperature_c=round(median(r.temperature_c for r in readings), 2),
        humidity_pct=round(median(r.humidity_pct for r in readings), 2),
        sensors=len(readings), ts=max(r.ts for r in readings), readings=readings)


def room_state(session: Session, room: Location, now_: ClimateNow | None) -> str:
    """ok, alarm (an open alarm about the room) or no_data."""
    if alarms.list_alarms(session, state="open", subject=room.code, limit=1)[1]:
        return "alarm"
    return "ok" if now_ is not None else "no_data"


def rooms(session: Session) -> list[Location]:
    """Every room, by code."""
    return list(session.exec(select(Location).where(Location.kind == "room")
                             .order_by(Location.code)).all())
