"""The climate alarm rules, judged on the readings' own timestamps.

A room's value at a moment is the median of its sensors' latest readings (a reading older
than `stale_s` no longer counts). To be out of band the room needs more than half of its
sensors out: the rules judge the high side on the lower median and the low side on the
upper one, so one sensor's spike never raises a room alarm (it raises a disagreement).

Each rule is held: it raises at the first reading whose ts is `hold_s` past the start of a
continuous out-of-band run, clears only once back inside the band by the hysteresis margin,
and becomes critical after `escalate_s`. A run counts only from after the alarm's last
change, so a rule cleared by hand is re-armed and must hold again. Readings that arrive late
(a sensor catching up after an outage) are judged at their own time, since every judgement
walks the room's readings around the new ones in ts order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from server.clock import as_utc
from server.models.alarms import Alarm
from server.models.climate import ClimateProfile, ClimateSample
from server.models.places import Location
from server.services import alarms, climate_profiles
from server.services.translations import Message, said

log = logging.getLogger(__name__)

MOULD_RH = 65.0  # the IPI's mould risk starts here
SWING_EVERY = timedelta(minutes=5)  # the rolling 24 h swing is looked at this often


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings the rules take (server/settings.py, "climate")."""

    stale_s: float = 900.0
    disagreement_c: float = 2.0
    disagreement_pct: float = 8.0
    default_profile: str = "paper"


@dataclass(frozen=True, slots=True)
class Moment:
    """A room at one reading's ts: its fresh sensors' latest values."""

    ts: datetime
    temperatures: tuple[float, ...]
    humidities: tuple[float, ...]
    sensors: tuple[str, ...]

    @property
    def t_low(self) -> float:
        return _lower_median(self.temperatures)

    @property
    def t_high(self) -> float:
        return _upper_median(self.temperatures)

    @property
    def rh_low(self) -> float:
        return _lower_median(self.humidities)

    @property
    def rh_high(self) -> float:
        return _upper_median(self.humidities)


def _lower_median(values: tuple[float, ...]) -> float:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def _upper_median(values: tuple[float, ...]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


@dataclass(frozen=True, slots=True)
class Rule:
    """One held rule: when the room is out, when it is back in, and what the alarm says."""

    kind: str
    out: Callable[[Moment, ClimateProfile, Rules], bool]
    back: Callable[[Moment, ClimateProfile, Rules], bool]
    says: Callable[[Moment, ClimateProfile], Message]


def _spread(values: tuple[float, ...]) -> float:
    return max(values) - min(values) if len(values) > 1 else 0.0


RULES: tuple[Rule, ...] = (
    Rule("temperature_high",
         lambda m, p, r: m.t_low > p.temperature_max,
         lambda m, p, r: m.t_low <= p.temperature_max - p.hysteresis_temperature_c,
         lambda m, p: said("{t:.1f} °C is above the band's {limit:g} °C", t=m.t_low,
                           limit=p.temperature_max)),
    Rule("temperature_low",
         lambda m, p, r: m.t_high < p.temperature_min,
         lambda m, p, r: m.t_high >= p.temperature_min + p.hysteresis_temperature_c,
         lambda m, p: said("{t:.1f} °C is below the band's {limit:g} °C", t=m.t_high,
                           limit=p.temperature_min)),
    Rule("humidity_high",
         lambda m, p, r: m.rh_low > p.humidity_max,
         lambda m, p, r: m.rh_low <= p.humidity_max - p.hysteresis_humidity_pct,
         lambda m, p: said("{rh:.1f} %RH is above the band's {limit:g} %RH", rh=m.rh_low,
                           limit=p.humidity_max)),
    Rule("humidity_low",
         lambda m, p, r: m.rh_high < p.humidity_min,
         lambda m, p, r: m.rh_high >= p.humidity_min + p.hysteresis_humidity_pct,
         lambda m, p: said("{rh:.1f} %RH is below the band's {limit:g} %RH", rh=m.rh_high,
                           limit=p.humidity_min)),
    Rule("mould_risk",
         lambda m, p, r: m.rh_low >= MOULD_RH and 2.0 <= m.t_low <= 45.0,
         lambda m, p, r: m.rh_low < MOULD_RH - p.hysteresis_humidity_pct,
         lambda m, p: said("{rh:.1f} %RH at {t:.1f} °C: mould can grow from 65 %RH",
                           rh=m.rh_low, t=m.t_low)),
    Rule("sensor_disagreement",
         lambda m, p, r: _spread(m.temperatures) > r.disagreement_c
         or _spread(m.humidities) > r.disagreement_pct,
         lambda m, p, r: _spread(m.temperatures) <= r.disagreement_c - p.hysteresis_temperature_c
         and _spread(m.humidities) <= r.disagreement_pct - p.hysteresis_humidity_pct,
         lambda m, p: said("the room's {count} sensors disagree: {t_min:.1f}–{t_max:.1f} °C, "
                           "{rh_min:.1f}–{rh_max:.1f} %RH ({sensors})", count=len(m.sensors),
                           t_min=min(m.temperatures), t_max=max(m.temperatures),
                           rh_min=min(m.humidities), rh_max=max(m.humidities),
                           sensors=", ".join(m.sensors))),
)

# Warnings on raising; temperature and humidity rules turn critical after escalate_s.
NEVER_CRITICAL = frozenset({"sensor_disagreement"})


def moments(rows: list[tuple[str, datetime, float, float]], *, since: datetime,
            stale_s: float) -> list[Moment]:
    """The room at each distinct reading ts from `since`, from (sensor, ts, t, rh) rows in ts
    order (rows before `since` only prime each sensor's latest value)."""
    latest: dict[str, tuple[datetime, float, float]] = {}
    out: list[Moment] = []
    stale = timedelta(seconds=stale_s)
    i, n = 0, len(rows)
    while i < n:
        ts = as_utc(rows[i][1])
        assert ts is not None
        while i < n and as_utc(rows[i][1]) == ts:
            sensor, _, t, rh = rows[i]
            latest[sensor] = (ts, t, rh)
            i += 1
        if ts < since:
            continue
        fresh = sorted((s, v) for s, v in latest.items() if v[0] >= ts - stale)
        out.append(Moment(ts, tuple(v[1] for _, v in fresh), tuple(v[2] for _, v in fresh),
                          tuple(s for s, _ in fresh)))
    return out


def _latest_alarms(session: Session, subject: str) -> dict[str, Alarm]:
    """The newest alarm of each kind about a subject (one query for all the rules)."""
    last = (select(func.max(Alarm.id)).where(Alarm.subject == subject)
            .group_by(col(Alarm.kind)))
    rows = session.exec(select(Alarm).where(col(Alarm.id).in_(last))).all()
    return {row.kind: row for row in rows}


def _changed_at(row: Alarm | None) -> datetime | None:
    """When a rule's alarm last changed (raised, or cleared by a person or a rule)."""
    if row is None:
        return None
    raised = as_utc(row.raised_at)
    if row.state == "cleared" and row.cleared_at is not None:
        cleared = as_utc(row.cleared_at)
        return max(cleared, raised) if raised and cleared else cleared or raised
    return raised


def judge_room(session: Session, room: Location, *, earliest: datetime,
               rules: Rules = Rules()) -> list[Alarm]:
    """Judge a room's readings from `earliest` (the oldest reading just stored) on; returns the
    alarms raised, escalated or cleared."""
    profile = climate_profiles.of_room(session, room, default=rules.default_profile)
    since = earliest - timedelta(seconds=profile.hold_s + rules.stale_s)
    rows = session.exec(
        select(ClimateSample.sensor, ClimateSample.ts, ClimateSample.temperature_c,
               ClimateSample.humidity_pct)
        .where(ClimateSample.room_id == room.id,
               col(ClimateSample.ts) >= since - timedelta(seconds=rules.stale_s))
        .order_by(col(ClimateSample.ts))
    ).all()
    changed: list[Alarm] = []
    room_moments = moments([tuple(r) for r in rows], since=since,  # type: ignore[misc]
                           stale_s=rules.stale_s)
    if not room_moments:
        return changed
    hold = timedelta(seconds=profile.hold_s)
    escalate_after = timedelta(seconds=profile.escalate_s)
    latest = _latest_alarms(session, room.code)
    for rule in RULES:
        row = latest.get(rule.kind)
        alarm = row if row is not None and row.state in alarms.OPEN else None
        last = _changed_at(row)
        run_start: datetime | None = None
        for m in room_moments:
            if rule.kind == "sensor_disagreement" and len(m.sensors) < 2:
                run_start = None
                continue
            out = rule.out(m, profile, rules)
            run_start = (run_start or m.ts) if out else None
            if last is not None and m.ts <= last:
                continue  # judged before: this rule's alarm changed after it
            if alarm is not None:
                if rule.back(m, profile, rules):
                    alarms.clear_condition(session, kind=rule.kind, subject=room.code, at=m.ts)
                    changed.append(alarm)
                    alarm, last = None, m.ts
                elif (run_start is not None and rule.kind not in NEVER_CRITICAL
                      and m.ts - as_utc(alarm.raised_at) + hold >= escalate_after
                      and alarm.severity != "critical"):
                    alarms.escalate(session, alarm, severity="critical", message=said(
                        "{room}: {condition} for more than {minutes} min", room=room.name,
                        condition=rule.says(m, profile), minutes=profile.escalate_s // 60))
                    changed.append(alarm)
                continue
            if run_start is None:
                continue
            start = max(run_start, last) if last is not None else run_start
            if m.ts - start >= hold:
                alarm, _ = alarms.raise_alarm(
                    session, kind=rule.kind, subject=room.code, at=m.ts,
                    severity="warning",
                    message=said("{room}: {condition} since {start}", room=room.name,
                                 condition=rule.says(m, profile),
                                 start=start.isoformat(timespec="minutes")))
                changed.append(alarm)
                last = m.ts
    changed += _judge_swing(session, room, profile, room_moments[-1].ts)
    return changed


_swing_looked: dict[int, datetime] = {}


def _judge_swing(session: Session, room: Location, profile: ClimateProfile,
                 at: datetime) -> list[Alarm]:
    """Rolling 24 h swing: the median of the sensors' own swings, so one spike does not count."""
    assert room.id is not None
    looked = _swing_looked.get(room.id)
    if looked is not None and timedelta(0) <= at - looked < SWING_EVERY:
        return []
    _swing_looked[room.id] = at
    rows = session.exec(
        select(ClimateSample.sensor,
               func.max(ClimateSample.temperature_c) - func.min(ClimateSample.temperature_c),
               func.max(ClimateSample.humidity_pct) - func.min(ClimateSample.humidity_pct))
        .where(ClimateSample.room_id == room.id,
               col(ClimateSample.ts) > at - timedelta(hours=24), col(ClimateSample.ts) <= at)
        .group_by(ClimateSample.sensor)
    ).all()
    if not rows:
        return []
    swing_t = median(r[1] for r in rows)
    swing_rh = median(r[2] for r in rows)
    alarm = alarms.open_alarm(session, kind="daily_swing", subject=room.code)
    over = swing_t > profile.swing_temperature_c or swing_rh > profile.swing_humidity_pct
    if alarm is None and over:
        alarm, _ = alarms.raise_alarm(
            session, kind="daily_swing", subject=room.code, at=at, message=said(
                "{room}: in 24 h the climate swung {t:.1f} °C and {rh:.1f} %RH (allowed "
                "{t_allowed:g} °C, {rh_allowed:g} %RH)", room=room.name, t=swing_t, rh=swing_rh,
                t_allowed=profile.swing_temperature_c, rh_allowed=profile.swing_humidity_pct))
        return [alarm]
    if alarm is not None and not over and swing_t <= profile.swing_temperature_c - (
            profile.hysteresis_temperature_c / 2) and swing_rh <= profile.swing_humidity_pct - (
            profile.hysteresis_humidity_pct / 2):
        alarms.clear_condition(session, kind="daily_swing", subject=room.code, at=at)
        return [alarm]
    return []


def judge(session: Session, earliest: dict[int, datetime], *, rules: Rules = Rules()) -> int:
    """Judge every room that got readings (room id → the oldest new reading's ts)."""
    changes = 0
    for room_id in sorted(earliest):
        room = session.get(Location, room_id)
        if room is None:
            continue
        try:
            with session.begin_nested():  # one room's trouble never costs anyone's readings
                changes += len(judge_room(session, room, earliest=earliest[room_id],
                                          rules=rules))
        except OperationalError:
            raise  # a deadlock or a held lock: ingest waits it out and retries the batch
        except Exception:
            log.exception("could not judge the climate of %s; its readings are kept", room.code)
    return changes


# -- 十防: binary room sensors ---------------------------------------------------------------

BINARY_KINDS = ("leak", "smoke", "door", "power", "gas")
BINARY_SEVERITY = {"leak": "critical", "smoke": "critical", "gas": "critical",
                   "power": "warning", "door": "warning"}
BINARY_SAYS = {"leak": said("water leak"), "smoke": said("smoke"), "door": said("door open"),
               "power": said("power failure"), "gas": said("gas")}


def binary_event(session: Session, *, sensor: str, room: Location | None, kind: str,
                 active: bool, at: datetime) -> Alarm | None:
    """A leak, smoke, door, power or gas sensor changed: raise at once, or clear."""
    subject = room.code if room is not None else sensor
    if active:
        where = room.name if room is not None else said("an unplaced sensor")
        alarm, _ = alarms.raise_alarm(
            session, kind=kind, subject=subject, severity=BINARY_SEVERITY[kind], at=at,
            message=said("{where}: {what} reported by sensor {sensor}", where=where,
                         what=BINARY_SAYS[kind], sensor=sensor))
        return alarm
    return alarms.clear_condition(session, kind=kind, subject=subject, at=at)
