"""Climate: readings, room profiles, preservation metrics, box exposure and monthly reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from sqlmodel import SQLModel, select

from server.api.deps import Limit, Offset, RowId, SessionDep, SettingsDep, Watcher, require
from server.api.paging import Page
from server.clock import as_utc, now
from server.models.alarms import Alarm
from server.models.climate import ClimateProfilePublic, ClimateSamplePublic, RoomClimatePublic
from server.models.people import User
from server.models.places import Location
from server.services import (
    climate,
    climate_history,
    climate_profiles,
    climate_reports,
    exposure,
    locations,
)
from server.services.errors import Invalid, NotFound
from server.settings import Settings

router = APIRouter(prefix="/api/climate", tags=["climate"])
room_router = APIRouter(prefix="/api/rooms", tags=["climate"])
box_router = APIRouter(prefix="/api/boxes", tags=["climate"])
alarm_router = APIRouter(prefix="/api/alarms", tags=["alarms"])

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
        raise Invalid("{code} is a {kind}, not a room",
                      code=room.code, kind=room.kind, field=None)
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
        raise Invalid("{code} is a {kind}, not a room",
                      code=room.code, kind=room.kind, field=None)
    chosen = body.get("profile") if set(body) == {"profile"} else body
    if isinstance(chosen, str):
        name = chosen
    elif isinstance(chosen, dict):
        try:
            data = ClimateProfilePublic.model_validate(chosen)
        except ValueError as exc:
            raise Invalid("not a climate profile: {exc}", exc=exc, field="profile") from None
        name = climate_profiles.save(session, data, actor=user.username).name
    else:
        raise Invalid('send {"profile": name} or a whole profile object', field="profile")
    climate_profiles.assign(session, room, name, actor=user.username,
                            default=settings.climate_default_profile)
    session.commit()
    return room_climate(session, settings, code)



class ClimateRatings(SQLModel):
    natural_aging: str | None
    mechanical: str | None
    mould: str | None


class ClimateMetrics(SQLModel):
    room: str
    since: datetime
    until: datetime
    temperature_c: float | None
    humidity_pct: float | None
    pi_years: float | None
    twpi_years: float | None
    emc_pct: float | None
    dew_point_c: float | None
    mould_risk: float
    hours_out_of_band: float
    mould_risk_hours: float
    hours_known: float
    ratings: ClimateRatings


def metrics_of(session, settings: Settings, room, since: datetime, until: datetime
               ) -> ClimateMetrics:
    """The preservation metrics of a room over a span."""
    return ClimateMetrics.model_validate(climate_history.metrics(
        session, room, since, until, stale_s=settings.climate_stale_s,
        default_profile=settings.climate_default_profile))


def _span(since: datetime | None, until: datetime | None, default_days: float = 30
          ) -> tuple[datetime, datetime]:
    until = as_utc(until) or now()
    since = as_utc(since) or until - timedelta(days=default_days)
    if since >= until:
        raise Invalid("since must be before until", field="since")
    return since, until


def _room(session, code: str):
    room = locations.by_code(session, code, field="room")
    if room.kind != "room":
        raise Invalid("{code} is a {kind}, not a room",
                      code=room.code, kind=room.kind, field="room")
    return room


@router.get("/metrics", response_model=ClimateMetrics)
def metrics(session: SessionDep, settings: SettingsDep, user: Watcher,
            room: str = Query(..., description="a room's location code"),
            since: datetime | None = None, until: datetime | None = None):
    """PI, EMC and dew point of the span's mean climate, TWPI and mould risk over it, ratings."""
    since_, until_ = _span(since, until)
    return metrics_of(session, settings, _room(session, room), since_, until_)


class BoxExposure(SQLModel):
    box: str
    since: datetime
    until: datetime
    twpi_years: float | None
    hours_out_of_band: float
    mould_risk_hours: float
    hours_unknown: float
    rooms: list[dict[str, Any]]


@box_router.get("/{code}/exposure", response_model=BoxExposure)
def box_exposure(code: str, session: SessionDep, settings: SettingsDep, user: Watcher,
                 since: datetime | None = None, until: datetime | None = None):
    """The climate a box lived in, from its movements and the rooms' readings; time outside
    every room (on loan, in transit) is counted as unknown."""
    found = exposure.of_box(session, code, since=as_utc(since), until=as_utc(until),
                            stale_s=settings.climate_stale_s,
                            default_profile=settings.climate_default_profile)
    return BoxExposure(box=found.box, since=found.since, until=found.until,
                       twpi_years=None if found.twpi_years is None
                       else round(found.twpi_years, 1),
                       hours_out_of_band=found.hours_out_of_band,
                       mould_risk_hours=found.mould_risk_hours, hours_unknown=found.hours_unknown,
                       rooms=found.rooms)


class Incident(SQLModel):
    alarm: int
    room: str
    since: datetime
    until: datetime
    boxes: list[str]


@alarm_router.get("/{alarm_id}/boxes", response_model=Incident)
def incident_boxes(alarm_id: RowId, session: SessionDep, user: Watcher):
    """The boxes that were in the alarm's room while it lasted."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound("no alarm has the id {alarm_id}", alarm_id=alarm_id)
    room = session.exec(select(Location).where(Location.code == alarm.subject,
                                               Location.kind == "room")).first()
    if room is None:
        raise Invalid("alarm {alarm_id} is not about a room", alarm_id=alarm_id, field=None)
    since = as_utc(alarm.raised_at) or now()
    until = as_utc(alarm.cleared_at) or now()
    return Incident(alarm=alarm_id, room=room.code, since=since, until=until,
                    boxes=exposure.boxes_in_room(session, room, since, max(until, since)))


def _report(session, settings: Settings, code: str, month: str | None):
    room = _room(session, code)
    month = month or now().strftime("%Y-%m")
    return climate_reports.month_report(session, room, month, stale_s=settings.climate_stale_s,
                                        default_profile=settings.climate_default_profile)


@room_router.get("/{code}/climate/report.csv")
def report_csv(code: str, session: SessionDep, settings: SettingsDep, user: Watcher,
               month: str | None = Query(None, description="YYYY-MM; default this month")):
    """The room's month as CSV: days, the month, its alarms."""
    report = _report(session, settings, code, month)
    return Response(climate_reports.as_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="climate-{report.room.code}-{report.month}.csv"'})


@room_router.get("/{code}/climate/report.pdf")
def report_pdf(code: str, session: SessionDep, settings: SettingsDep, user: Watcher,
               month: str | None = Query(None, description="YYYY-MM; default this month")):
    """The room's month as a one-page PDF with a chart."""
    from labels.typefaces import pdf_fonts

    report = _report(session, settings, code, month)
    return Response(climate_reports.as_pdf(report, fonts=pdf_fonts()),
                    media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="climate-{report.room.code}-{report.month}.pdf"'})
