"""Climate profiles: the band each room is kept in, built in from JGJ 25-2010, editable, audited."""

from __future__ import annotations

from sqlmodel import Session, select

from server.models.climate import (
    Band,
    ClimatePair,
    ClimateProfile,
    ClimateProfilePublic,
    RoomClimate,
)
from server.models.places import Location
from server.services import audit
from server.services.errors import Invalid, NotFound


def _builtin(name: str, t: tuple[float, float], rh: tuple[float, float], swing: tuple[float, float],
             hold_s: int = 300, hysteresis: tuple[float, float] = (0.5, 2.0),
             escalate_s: int = 3600) -> ClimateProfile:
    return ClimateProfile(
        name=name, temperature_min=t[0], temperature_max=t[1], humidity_min=rh[0],
        humidity_max=rh[1], swing_temperature_c=swing[0], swing_humidity_pct=swing[1],
        hold_s=hold_s, hysteresis_temperature_c=hysteresis[0],
        hysteresis_humidity_pct=hysteresis[1], escalate_s=escalate_s)


# JGJ 25-2010 (档案馆建筑设计规范), table 6.0.1: paper stores, film masters, magnetic media,
# photographs; the daily swing for every kind of store is at most ±2 °C and ±5 %RH.
BUILTIN: dict[str, ClimateProfile] = {p.name: p for p in (
    _builtin("paper", (14, 24), (45, 60), (2, 5)),
    _builtin("film", (13, 15), (35, 45), (2, 5)),
    _builtin("magnetic", (14, 24), (40, 60), (2, 5)),
    _builtin("photo", (14, 24), (40, 55), (2, 5)),
)}


def present(profile: ClimateProfile) -> ClimateProfilePublic:
    """A profile in the contract's shape."""
    return ClimateProfilePublic(
        name=profile.name,
        temperature_c=Band(min=profile.temperature_min, max=profile.temperature_max),
        humidity_pct=Band(min=profile.humidity_min, max=profile.humidity_max),
        daily_swing=ClimatePair(temperature_c=profile.swing_temperature_c,
                                humidity_pct=profile.swing_humidity_pct),
        hold_s=profile.hold_s,
        hysteresis=ClimatePair(temperature_c=profile.hysteresis_temperature_c,
                               humidity_pct=profile.hysteresis_humidity_pct),
        escalate_s=profile.escalate_s,
    )


def all_profiles(session: Session) -> list[ClimateProfile]:
    """Built-in profiles (as edited) and the ones people added, by name."""
    stored = {p.name: p for p in session.exec(select(ClimateProfile))}
    return [stored.get(n) or BUILTIN[n] for n in BUILTIN] + sorted(
        (p for n, p in stored.items() if n not in BUILTIN), key=lambda p: p.name)


def by_name(session: Session, name: str, *, field: str | None = "profile") -> ClimateProfile:
    """One profile by name (the stored one wins over the built-in of that name)."""
    found = session.get(ClimateProfile, name) or BUILTIN.get(name)
    if found is None:
        known = ", ".join(p.name for p in all_profiles(session))
        if field:
            raise Invalid("no climate profile is named {name!r}; known: {known}", field=field,
                          name=name, known=known)
        raise NotFound("no climate profile is named {name!r}; known: {known}", name=name,
                       known=known)
    return found


def of_room(session: Session, room: Location, *, default: str = "paper") -> ClimateProfile:
    """The profile a room is kept to."""
    assert room.id is not None
    chosen = session.get(RoomClimate, room.id)
    return by_name(session, chosen.profile if chosen else default, field=None)


def _check(data: ClimateProfilePublic) -> None:
    if data.temperature_c.min >= data.temperature_c.max:
        raise Invalid("temperature_c.min must be below temperature_c.max", field="temperature_c")
    if data.humidity_pct.min >= data.humidity_pct.max:
        raise Invalid("humidity_pct.min must be below humidity_pct.max", field="humidity_pct")
    if not (data.humidity_pct.min >= 0 and data.humidity_pct.max <= 100):
        raise Invalid("humidity_pct must lie within 0…100", field="humidity_pct")


def save(session: Session, data: ClimateProfilePublic, *, actor: str) -> ClimateProfile:
    """Add a profile or edit one (a built-in too); audited."""
    _check(data)
    row = session.get(ClimateProfile, data.name)
    before = present(row or BUILTIN[data.name]).model_dump() if (
        row or data.name in BUILTIN) else None
    if row is None:
        row = ClimateProfile(name=data.name, temperature_min=0, temperature_max=0, humidity_min=0,
                             humidity_max=0, swing_temperature_c=0, swing_humidity_pct=0,
                             hold_s=0, hysteresis_temperature_c=0, hysteresis_humidity_pct=0,
                             escalate_s=0)
        session.add(row)
    row.temperature_min, row.temperature_max = data.temperature_c.min, data.temperature_c.max
    row.humidity_min, row.humidity_max = data.humidity_pct.min, data.humidity_pct.max
    row.swing_temperature_c = data.daily_swing.temperature_c
    row.swing_humidity_pct = data.daily_swing.humidity_pct
    row.hold_s, row.escalate_s = data.hold_s, data.escalate_s
    row.hysteresis_temperature_c = data.hysteresis.temperature_c
    row.hysteresis_humidity_pct = data.hysteresis.humidity_pct
    session.flush()
    after = present(row).model_dump()
    if after != before:
        audit.record(session, actor=actor, action="update" if before else "create",
                     entity="climate_profile", entity_id=row.name, before=before, after=after)
    return row


def assign(session: Session, room: Location, name: str, *, actor: str,
           default: str = "paper") -> ClimateProfile:
    """Keep a room to a profile from now on; audited."""
    profile = by_name(session, name)
    assert room.id is not None
    row = session.get(RoomClimate, room.id)
    before = row.profile if row else default
    if row is None:
        session.add(RoomClimate(room_id=room.id, profile=profile.name))
    else:
        row.profile = profile.name
    session.flush()
    if before != profile.name or row is None:
        audit.record(session, actor=actor, action="update", entity="room_climate",
                     entity_id=room.code, before={"profile": before},
                     after={"profile": profile.name})
    return profile
