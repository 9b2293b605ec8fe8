"""The twin's watchdogs: boxes their shelf stopped hearing, devices that went silent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from server.models.alarms import Alarm
from server.models.columns import saved_ids
from server.models.devices import Device
from server.models.holdings import Box, BoxStatus
from server.models.places import Location
from server.services import alarms, boxes, devices
from server.services.translations import said

log = logging.getLogger(__name__)


def watched_locations(session: Session) -> set[int]:
    """Locations some shelf reader's antenna covers, and everything inside them."""
    codes = {
        code
        for antennas in session.exec(select(Device.antennas).where(Device.role == "shelf"))
        for code in (antennas or {}).values()
    }
    if not codes:
        return set()
    lineages = session.exec(select(Location.lineage).where(col(Location.code).in_(codes))).all()
    # an antenna on a shelf watches the slots on it too
    return set(saved_ids(session.exec(
        select(col(Location.id)).where(or_(*(col(Location.lineage).startswith(x) for x in lineages)))
    )))


def mark_missing_boxes(session: Session, *, older_than: timedelta, at: datetime) -> list[Alarm]:
    """Shelved boxes on watched locations not heard since `at - older_than` become missing."""
    watched = watched_locations(session)
    if not watched:
        return []
    cutoff = at - older_than
    raised = []
    stale = session.exec(
        select(Box).where(
            Box.status == BoxStatus.ON_SHELF,
            col(Box.location_id).in_(watched),
            func.coalesce(Box.last_seen_at, Box.created_at) < cutoff,
        )
    ).all()
    for box in stale:
        with session.begin_nested():  # one bad row never aborts the run
            box.status = BoxStatus.MISSING
            boxes.tell_changed(session, box, reason="missing")
            alarm, new = alarms.raise_alarm(
                session, kind="box_missing", subject=box.code, severity="warning",
                message=said("box {code} has not been heard on its shelf since {since}",
                             code=box.code,
                             since=box.last_seen_at.isoformat(timespec="minutes"))
                if box.last_seen_at else
                said("box {code} has not been heard on its shelf since it was shelved",
                     code=box.code),
            )
            if new:
                raised.append(alarm)
    if stale:
        log.info("%d box(es) marked missing", len(stale))
    return raised


def mark_silent_devices(session: Session, *, at: datetime, factor: int = 3) -> list[Alarm]:
    """Devices silent for `factor` × their report interval go offline (with an alarm)."""
    raised = []
    for device in devices.silent(session, at=at, factor=factor):
        with session.begin_nested():
            alarm = devices.mark_state(session, device, "offline", at=at, decided=True)
            if alarm is not None:
                raised.append(alarm)
    return raised
