"""Device registry, rejects and alarms."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from sqlmodel import Field, SQLModel

from server.api.deps import Facilities, Limit, Offset, RowId, SessionDep, Watcher, WritingSessionDep
from server.api.paging import Page
from server.models.alarms import AlarmPublic, AlarmState
from server.models.devices import (
    DeviceCreate,
    DevicePublic,
    DeviceRejectPublic,
    DeviceType,
    DeviceUpdate,
)
from server.services import alarms, devices

router = APIRouter(prefix="/api/devices", tags=["devices"])
alarm_router = APIRouter(prefix="/api/alarms", tags=["alarms"])


@router.post("", response_model=DevicePublic, status_code=status.HTTP_201_CREATED)
def register(data: DeviceCreate, session: SessionDep, user: Facilities):
    """Register a reader, scanner, sensor or light under the id it uses on the wire."""
    device = devices.register(session, data, actor=user.username)
    session.commit()
    return devices.present(session, [device])[0]


@router.get("", response_model=Page[DevicePublic])
def list_(session: SessionDep, user: Watcher, type: DeviceType | None = None,
          limit: Limit = 50, offset: Offset = 0):
    """Registered devices with their state and reject counts."""
    rows, total = devices.list_devices(session, type=type, limit=limit, offset=offset)
    return Page(items=devices.present(session, rows), total=total, limit=limit, offset=offset)


@router.get("/rejects", response_model=Page[DeviceRejectPublic])
def rejects(session: SessionDep, user: Watcher, device: str | None = None,
            limit: Limit = 50, offset: Offset = 0):
    """What devices sent that could not be used, newest first, with the reason."""
    rows, total = devices.list_rejects(session, device=device, limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


@router.get("/{device_id}", response_model=DevicePublic)
def read(device_id: str, session: SessionDep, user: Watcher):
    """One device."""
    return devices.present(session, [devices.get(session, device_id)])[0]


@router.patch("/{device_id}", response_model=DevicePublic)
def correct(device_id: str, data: DeviceUpdate, session: WritingSessionDep, user: Facilities):
    """Correct a device's role, antenna map (the whole map), room or report interval."""
    device = devices.correct(session, device_id, data, actor=user.username)
    session.commit()
    return devices.present(session, [device])[0]


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def retire(device_id: str, session: WritingSessionDep, user: Facilities) -> None:
    """Retire a device: it leaves the registry; what it sent and its rejects stay on record."""
    devices.retire(session, device_id, actor=user.username)
    session.commit()


@alarm_router.get("", response_model=Page[AlarmPublic])
def list_alarms(session: SessionDep, user: Watcher,
                state: AlarmState | Literal["open"] | None = None,
                kind: str | None = None, limit: Limit = 50, offset: Offset = 0):
    """Alarms, newest first; `state=active` for what needs attention now."""
    rows, total = alarms.list_alarms(session, state=state, kind=kind, limit=limit, offset=offset)
    return Page(items=[AlarmPublic.model_validate(a, from_attributes=True) for a in rows],
                total=total, limit=limit, offset=offset)


class AlarmNote(SQLModel):
    model_config = {"extra": "forbid"}

    note: str | None = Field(default=None, max_length=1000)


@alarm_router.post("/{alarm_id}/acknowledge", response_model=AlarmPublic)
def acknowledge(alarm_id: RowId, session: SessionDep, user: Watcher, body: AlarmNote):
    """Say an active alarm is being dealt with, and how (the note)."""
    alarm = alarms.acknowledge(session, alarm_id, actor=user.username, note=body.note or "")
    session.commit()
    return AlarmPublic.model_validate(alarm, from_attributes=True)


@alarm_router.post("/{alarm_id}/clear", response_model=AlarmPublic)
def clear(alarm_id: RowId, session: SessionDep, user: Watcher, body: AlarmNote | None = None):
    """Clear an open alarm by hand; critical ones only an archivist or admin, with a note."""
    alarm = alarms.clear(session, alarm_id, actor=user.username, role=user.role,
                         note=body.note if body else None)
    session.commit()
    return AlarmPublic.model_validate(alarm, from_attributes=True)
