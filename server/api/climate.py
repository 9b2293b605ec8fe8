"""Climate: readings, room profiles, preservation metrics, box exposure and monthly reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from server.api.deps import Limit, Offset, SessionDep, SettingsDep, Watcher, require
from server.api.paging import Page
from server.models.climate import ClimateProfilePublic, ClimateSamplePublic, RoomClimatePublic
from server.models.people import User
from server.services import climate, climate_profiles, locations
from server.services.errors import Invalid
from server.settings import Settings

router = APIRouter(prefix="/api/climate", tags=["climate"])
room_router = APIRouter(prefix="/api/rooms", tags=["climate"])

Keeper = Annotated[User, Depends(require("admin", "archivist", "facilities"))]


@router.get("", response_model=Page[ClimateSamplePublic])
def readings(session: SessionDep, user: Watcher,
             room: str | None = Query(None, description="a room's location code"),
             sensor: str | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: Limit = 500, offset: Offset = 0):
    """Stored temperature and humidity readings, newest first."""
    rows, total = climate.samples(session, room=room, sensor=sensor, since=since, until=until,
                                  limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


@router.get("/latest", response_model=list[ClimateSamplePublic])
def latest(session: SessionDep, user: Watcher):
    """The newest reading of every sensor."""
    return climate.latest(session)


@router.get("/profiles", response_model=list[ClimateProfilePublic])
def profiles(session: SessionDep, user: Watcher):
    """Every climate profile: the JGJ 25-2010 built-ins (as edited) and added ones."""
    return [climate_profiles.present(p) for p in climate_profiles.all_profiles(session)]


def room_climate(session, settings: Settings, code: str) -> RoomClimatePublic:
    """A room's profile, its climate now and its state."""
    room = locations.by_code(session, code)
    if room.kind != "room":
        raise Invalid(f"{room.code} is a {room.kind}, not a room", field=None)
    profile = climate_profiles.of_room(session, room, default=settings.climate_default_profile)
    now = climate.room_now(session, room, stale_s=settings.climate_stale_s)
    return RoomClimatePublic(room=room.code, name=room.name,
                             profile=climate_profiles.present(profile), now=now,
                             state=climate.room_state(session, room, now))


@room_router.get("/{code}/climate", response_model=RoomClimatePublic)
def read_room_climate(code: str, session: SessionDep, settings: SettingsDep, user: Watcher):
    """A room's climate profile, its climate now (median of its sensors) and its state."""
    return room_climate(session, settings, code)


@room_router.put("/{code}/climate", response_model=RoomClimatePublic)
def put_room_climate(code: str, session: SessionDep, settings: SettingsDep, user: Keeper,
                     body: dict[str, Any] = Body(..., examples=[{"profile": "film"}])):
    """Keep a room to a profile: `{"profile": name}`, or a whole profile (added or edited)."""
    room = locations.by_code(session, code)
    if room.kind != "room":
        raise Invalid(f"{room.code} is a {room.kind}, not a room", field=None)
    chosen = body.get("profile") if set(body) == {"profile"} else body
    if isinstance(chosen, str):
        name = chosen
    elif isinstance(chosen, dict):
        try:
            data = ClimateProfilePublic.model_validate(chosen)
        except ValueError as exc:
            raise Invalid(f"not a climate profile: {exc}", field="profile") from None
        name = climate_profiles.save(session, data, actor=user.username).name
    else:
        raise Invalid('send {"profile": name} or a whole profile object', field="profile")
    climate_profiles.assign(session, room, name, actor=user.username,
                            default=settings.climate_default_profile)
    session.commit()
    return room_climate(session, settings, code)

