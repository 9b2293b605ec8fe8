"""A room's climate over time: hourly and daily roll-ups, the spans metrics are taken over.

Roll-ups are kept for good; raw readings for `climate_raw_keep_days`. Rolling up is safe to
run again (each hour and day is replaced whole, in one transaction) and re-reads the last
hours, so readings that arrived late are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from server.clock import as_utc
from server.models.climate import ClimateProfile, ClimateRollup, ClimateSample
from server.models.places import Location
from server.services import climate_profiles, preservation
from server.services.climate_rules import moments

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LATE_HOURS = 6  # hours rolled up again each run, for readings that arrive late
MOULD_T = preservation.MOULD_T_RANGE


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a room's climate: its length, mean t/rh, and the seconds in band / mould."""

    start: datetime
    seconds: float
    temperature_c: float
    humidity_pct: float
    in_band_s: float
    mould_s: float
    t_min: float
    t_max: float
    rh_min: float
    rh_max: float


def floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def in_band(profile: ClimateProfile, t: float, rh: float) -> bool:
    return (profile.temperature_min <= t <= profile.temperature_max
            and profile.humidity_min <= rh <= profile.humidity_max)


def mouldy(t: float, rh: float) -> bool:
    return rh >= preservation.MOULD_RH_MIN and MOULD_T[0] <= t <= MOULD_T[1]


def raw_spans(session: Session, room_id: int, since: datetime, until: datetime, *,
              profile: ClimateProfile, stale_s: float) -> list[Span]:
    """The room's median climate from raw readings: one span per reading ts, each lasting to
    the next one (at most stale_s: beyond that the climate is unknown)."""
    rows = session.exec(
        select(ClimateSample.sensor, ClimateSample.ts, ClimateSample.temperature_c,
               ClimateSample.humidity_pct)
        .where(ClimateSample.room_id == room_id,
               col(ClimateSample.ts) >= since - timedelta(seconds=stale_s),
               col(ClimateSample.ts) < until)
        .order_by(col(ClimateSample.ts))
    ).all()
    points = [m for m in moments([tuple(r) for r in rows], since=since,  # type: ignore[misc]
                                 stale_s=stale_s) if m.sensors]
    spans = []
    for i, m in enumerate(points):
        if i + 1 < len(points):
            seconds = min((points[i + 1].ts - m.ts).total_seconds(), stale_s)
        else:  # the last reading: as long as the one before it lasted, at most to `until`
            before = (m.ts - points[i - 1].ts).total_seconds() if i else stale_s
            seconds = min((until - m.ts).total_seconds(), stale_s, before)
        if seconds <= 0:
            continue
        t, rh = median(m.temperatures), median(m.humidities)
        spans.append(Span(m.ts, seconds, t, rh, seconds if in_band(profile, t, rh) else 0.0,
                          seconds if mouldy(t, rh) else 0.0, t, t, rh, rh))
    return spans


def _sum(start: datetime, spans: list[Span]) -> ClimateRollup | None:
    known = sum(s.seconds for s in spans)
    if known <= 0:
        return None
    return ClimateRollup(
        room_id=0, period="hour", start=start, samples=len(spans),
        temperature_min=min(s.t_min for s in spans), temperature_max=max(s.t_max for s in spans),
        temperature_mean=sum(s.temperature_c * s.seconds for s in spans) / known,
        humidity_min=min(s.rh_min for s in spans), humidity_max=max(s.rh_max for s in spans),
        humidity_mean=sum(s.humidity_pct * s.seconds for s in spans) / known,
        seconds_in_band=sum(s.in_band_s for s in spans), seconds_mould=sum(s.mould_s for s in spans),
        seconds_known=known)


def _as_span(r: ClimateRollup, share: float = 1.0) -> Span:
    return Span(as_utc(r.start), r.seconds_known * share, r.temperature_mean,
                r.humidity_mean, r.seconds_in_band * share, r.seconds_mould * share,
                r.temperature_min, r.temperature_max, r.humidity_min, r.humidity_max)


def _replace(session: Session, room_id: int, period: str, rows: list[ClimateRollup],
             starts: list[datetime]) -> None:
    """Put these roll-ups in place of whatever the same hours or days held."""
    if starts:
        session.execute(delete(ClimateRollup).where(
            col(ClimateRollup.room_id) == room_id, col(ClimateRollup.period) == period,
            col(ClimateRollup.start).in_(starts)))
    for r in rows:
        r.room_id, r.period = room_id, period
        session.add(r)
    session.flush()


def roll_up_room(session: Session, room: Location, *, until: datetime, stale_s: float = 900.0,
                 default_profile: str = "paper") -> int:
    """Bring a room's hourly and daily roll-ups up to `until` (whole hours only); how many hours."""
    assert room.id is not None
    profile = climate_profiles.of_room(session, room, default=default_profile)
    last = session.exec(select(func.max(ClimateRollup.start)).where(
        ClimateRollup.room_id == room.id, ClimateRollup.period == "hour")).one()
    if last is None:
        first = session.exec(select(func.min(ClimateSample.ts)).where(
            ClimateSample.room_id == room.id)).one()
        if first is None:
            return 0
        start = floor_hour(as_utc(first))
    else:
        start = as_utc(last) - LATE_HOURS * HOUR
    end = floor_hour(until)
    hours = 0
    day_starts: set[datetime] = set()
    chunk = timedelta(days=7)  # a week of raw readings at a time
    while start < end:
        stop = min(start + chunk, end)
        spans = raw_spans(session, room.id, start, stop, profile=profile, stale_s=stale_s)
        by_hour: dict[datetime, list[Span]] = {}
        for s in spans:
            by_hour.setdefault(floor_hour(s.start), []).append(s)
        rows = [r for h, group in sorted(by_hour.items()) if (r := _sum(h, group))]
        starts = [start + HOUR * i for i in range(int((stop - start) / HOUR))]
        _replace(session, room.id, "hour", rows, starts)
        hours += len(rows)
        day_starts.update(h.replace(hour=0) for h in starts)
        start = stop
    for day in sorted(day_starts):
        hourly = session.exec(select(ClimateRollup).where(
            ClimateRollup.room_id == room.id, ClimateRollup.period == "hour",
            col(ClimateRollup.start) >= day, col(ClimateRollup.start) < day + DAY)).all()
        total = _sum(day, [_as_span(r) for r in hourly])
        if total is not None:
            total.samples = sum(r.samples for r in hourly)
        _replace(session, room.id, "day", [total] if total else [], [day])
    return hours


def roll_up(session: Session, *, until: datetime, stale_s: float = 900.0,
            default_profile: str = "paper") -> int:
    """Every room's roll-ups up to `until`; one room's trouble never stops the others."""
    done = 0
    for room in session.exec(select(Location).where(Location.kind == "room")).all():
        try:
            with session.begin_nested():
                done += roll_up_room(session, room, until=until, stale_s=stale_s,
                                     default_profile=default_profile)
        except Exception:
            log.exception("could not roll up the climate of %s", room.code)
    return done


def forget_raw(session: Session, *, before: datetime) -> int:
    """Delete raw readings older than `before` whose hour is rolled up already."""
    rolled = select(ClimateRollup.room_id, func.max(ClimateRollup.start).label("upto")).where(
        ClimateRollup.period == "hour").group_by(col(ClimateRollup.room_id))
    gone = 0
    for room_id, upto in session.exec(rolled).all():
        cutoff = min(before, as_utc(upto))
        result = session.execute(delete(ClimateSample).where(
            col(ClimateSample.room_id) == room_id, col(ClimateSample.ts) < cutoff))
        gone += result.rowcount or 0  # type: ignore[attr-defined]
    return gone


def spans(session: Session, room: Location, since: datetime, until: datetime, *,
          stale_s: float = 900.0, default_profile: str = "paper") -> list[Span]:
    """The room's climate over [since, until): hourly roll-ups where there are, raw after."""
    assert room.id is not None
    profile = climate_profiles.of_room(session, room, default=default_profile)
    rolled = list(session.exec(select(ClimateRollup).where(
        ClimateRollup.room_id == room.id, ClimateRollup.period == "hour",
        col(ClimateRollup.start) >= floor_hour(since), col(ClimateRollup.start) < until)
        .order_by(col(ClimateRollup.start))).all())
    out: list[Span] = []
    rolled_until = since
    for r in rolled:
        start = as_utc(r.start)
        assert start is not None
        overlap = (min(start + HOUR, until) - max(start, since)).total_seconds()
        if overlap > 0:
            out.append(_as_span(r, overlap / 3600))
        rolled_until = max(rolled_until, start + HOUR)
    if rolled_until < until:
        out += raw_spans(session, room.id, rolled_until, until, profile=profile, stale_s=stale_s)
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """What a run of spans adds up to."""

    seconds: float
    temperature_c: float | None
    humidity_pct: float | None
    twpi_years: float | None
    mould_risk: float
    hours_out_of_band: float
    mould_risk_hours: float
    t_min: float | None
    t_max: float | None
    rh_min: float | None
    rh_max: float | None


def summarise(spans: Iterable[Span]) -> Summary:
    """Mean climate, TWPI, mould risk and hours out of band over spans."""
    items = [s for s in spans if s.seconds > 0]
    known = sum(s.seconds for s in items)
    if not known:
        return Summary(0, None, None, None, 0.0, 0.0, 0.0, None, None, None, None)
    return Summary(
        seconds=known,
        temperature_c=sum(s.temperature_c * s.seconds for s in items) / known,
        humidity_pct=sum(s.humidity_pct * s.seconds for s in items) / known,
        twpi_years=preservation.twpi_years((s.seconds, s.temperature_c, s.humidity_pct)
                                           for s in items),
        mould_risk=preservation.mould_risk((s.seconds, s.temperature_c, s.humidity_pct)
                                           for s in items),
        hours_out_of_band=sum(s.seconds - s.in_band_s for s in items) / 3600,
        mould_risk_hours=sum(s.mould_s for s in items) / 3600,
        t_min=min(s.t_min for s in items), t_max=max(s.t_max for s in items),
        rh_min=min(s.rh_min for s in items), rh_max=max(s.rh_max for s in items),
    )


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def metrics(session: Session, room: Location, since: datetime, until: datetime, *,
            stale_s: float = 900.0, default_profile: str = "paper") -> dict:
    """The contract's metrics of a room over a span (PI/EMC/dew point of the mean, TWPI over
    the span, mould risk, hours out of band) with their ratings."""
    total = summarise(spans(session, room, since, until, stale_s=stale_s,
                            default_profile=default_profile))
    t, rh = total.temperature_c, total.humidity_pct
    known = t is not None and rh is not None
    pi = preservation.pi_years(t, rh) if t is not None and rh is not None else None
    emc = preservation.emc_pct(t, rh) if t is not None and rh is not None else None
    dew = preservation.dew_point_c(t, rh) if t is not None and rh is not None else None
    return {
        "room": room.code, "since": since, "until": until, "temperature_c": _r(t),
        "humidity_pct": _r(rh), "pi_years": _r(pi, 1), "twpi_years": _r(total.twpi_years, 1),
        "emc_pct": _r(emc), "dew_point_c": _r(dew), "mould_risk": round(total.mould_risk, 4),
        "hours_out_of_band": round(total.hours_out_of_band, 2),
        "mould_risk_hours": round(total.mould_risk_hours, 2),
        "hours_known": round(total.seconds / 3600, 2),
        "ratings": {
            "natural_aging": preservation.rate_natural_aging(total.twpi_years),
            "mechanical": preservation.rate_mechanical(emc),
            "mould": preservation.rate_mould(total.mould_risk if known else None),
        },
    }
