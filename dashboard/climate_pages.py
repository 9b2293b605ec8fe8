"""Climate pages: every room on one line, and one room's climate (sensors, band, charts,
alarms, metrics, report)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from dashboard import climate_chart
from dashboard.pages import Page, PageRefused, WatcherPage, page_for, render
from server.clock import now
from server.models.places import Location
from server.services import (
    alarms,
    climate,
    climate_history,
    climate_profiles,
    climate_reports,
    locations,
)
from server.services.errors import DomainError, NotFound
from server.settings import Settings

router = APIRouter(include_in_schema=False)
KEEPERS = ("admin", "archivist", "facilities")
KeeperPage = Annotated[Page, Depends(page_for(*KEEPERS))]
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


def _settings(page: Page) -> Settings:
    return page.request.app.state.settings


def room_lines(session: Session, settings: Settings) -> list[dict]:
    """One line per room: the median of its sensors now, how many, and its state."""
    lines = []
    for room in climate.rooms(session):
        current = climate.room_now(session, room, stale_s=settings.climate_stale_s)
        sensors = {r.sensor: [r.temperature_c, r.humidity_pct, r.ts.isoformat()]
                   for r in (current.readings if current else [])}
        lines.append({
            "code": room.code, "name": room.name, "key": room.path,
            "temperature_c": current.temperature_c if current else None,
            "humidity_pct": current.humidity_pct if current else None,
            "sensors": current.sensors if current else 0,
            "ts": current.ts.isoformat() if current else None,
            "state": climate.room_state(session, room, current),
            "sensors_json": json.dumps(sensors, ensure_ascii=False),
        })
    return lines


def _room(page: Page, code: str) -> Location:
    try:
        room = locations.by_code(page.session, code)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    if room.kind != "room":
        raise PageRefused("not_found", message=page.t("climate.not_a_room", code=room.code))
    return room


@router.get("/climate")
def climate_rooms(page: WatcherPage) -> Response:
    """Every room's climate on one line."""
    return render(page, "climate_rooms.html", live=("climate", "alarm"),
                  rooms=room_lines(page.session, _settings(page)))


@router.get("/climate/{code}")
def climate_room(page: WatcherPage, code: str, period: str = "day",
                 notice: str | None = None) -> Response:
    """One room: each sensor and the median now, the band, a chart, alarms, metrics, report."""
    session, settings = page.session, _settings(page)
    room = _room(page, code)
    period = period if period in PERIODS else "day"
    until = now()
    since = until - PERIODS[period]
    profile = climate_profiles.of_room(session, room, default=settings.climate_default_profile)
    current = climate.room_now(session, room, stale_s=settings.climate_stale_s)
    spans = climate_history.spans(session, room, since, until, stale_s=settings.climate_stale_s,
                                  default_profile=settings.climate_default_profile)
    points = climate_chart.buckets([(s.start, s.temperature_c, s.humidity_pct) for s in spans],
                                   since, until)
    charts = [
        climate_chart.chart([(ts, t) for ts, t, _ in points], since=since, until=until,
                            band=(profile.temperature_min, profile.temperature_max), unit="°C",
                            title=page.t("climate.chart_t"), scale=(10, 30)),
        climate_chart.chart([(ts, rh) for ts, _, rh in points], since=since, until=until,
                            band=(profile.humidity_min, profile.humidity_max), unit="%RH",
                            title=page.t("climate.chart_rh"), scale=(30, 75)),
    ]
    metrics = climate_history.metrics(session, room, since, until,
                                      stale_s=settings.climate_stale_s,
                                      default_profile=settings.climate_default_profile)
    room_alarms, _ = alarms.list_alarms(session, subject=room.code, limit=20)
    return render(
        page, "climate_room.html", live=("climate", "alarm"), room=room, profile=profile,
        current=current, state=climate.room_state(session, room, current), charts=charts,
        period=period, periods=tuple(PERIODS), metrics=metrics, alarms=room_alarms,
        profiles=climate_profiles.all_profiles(session), month=until.strftime("%Y-%m"),
        may_change=page.person.role in KEEPERS, notice=notice)


@router.post("/climate/{code}/profile")
def change_profile(page: KeeperPage, code: str,
                   profile: Annotated[str, Form()]) -> Response:
    """Keep the room to another profile (audited)."""
    room = _room(page, code)
    try:
        climate_profiles.assign(page.session, room, profile, actor=page.person.username,
                                default=_settings(page).climate_default_profile)
    except DomainError as exc:
        page.session.rollback()
        refused = climate_room(page, code, notice=page.say(exc))
        refused.status_code = 422  # a refused form is not a page that went well (issue 13)
        return refused
    page.session.commit()
    return RedirectResponse(f"/climate/{room.code}", status_code=303)


def _report(page: Page, code: str, month: str | None) -> climate_reports.MonthReport:
    settings = _settings(page)
    try:
        return climate_reports.month_report(
            page.session, _room(page, code), month or now().strftime("%Y-%m"),
            stale_s=settings.climate_stale_s, default_profile=settings.climate_default_profile)
    except DomainError as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc


@router.get("/climate/{code}/report.csv")
def report_csv(page: WatcherPage, code: str, month: Annotated[str | None, Query()] = None
               ) -> Response:
    """The month's report as CSV."""
    report = _report(page, code, month)
    return Response(climate_reports.as_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="climate-'
                                                    f'{report.room.code}-{report.month}.csv"'})


@router.get("/climate/{code}/report.pdf")
def report_pdf(page: WatcherPage, code: str, month: Annotated[str | None, Query()] = None
               ) -> Response:
    """The month's report as PDF."""
    from labels.typefaces import pdf_fonts

    report = _report(page, code, month)
    return Response(climate_reports.as_pdf(report, fonts=pdf_fonts()),
                    media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="climate-'
                                                    f'{report.room.code}-{report.month}.pdf"'})
