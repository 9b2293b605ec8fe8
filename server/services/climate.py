"""Climate readings: store what sensors measured; refuse what cannot physically be."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from server.models.climate import ClimateSample

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
