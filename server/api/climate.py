"""Climate: the readings the sensors sent, per room and sensor."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from server.api.deps import Limit, Offset, SessionDep, Watcher
from server.api.paging import Page
from server.models.climate import ClimateSamplePublic
from server.services import climate

router = APIRouter(prefix="/api/climate", tags=["climate"])


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
