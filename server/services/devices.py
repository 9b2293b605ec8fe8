"""The device registry and the rejects (dead letters) devices caused."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.alarms import Alarm
from server.models.devices import (
    Device,
    DeviceCreate,
    DeviceMessage,
    DevicePublic,
    DeviceReject,
    DeviceRejectPublic,
    DeviceType,
    DeviceUpdate,
    ReaderRole,
)
from server.models.places import Location
from server.services import alarms, audit, locations, news
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page
from server.services.translations import said

RAW_KEPT = 256


def register(session: Session, data: DeviceCreate, *, actor: str) -> Device:
    """Add a device under the id it uses on the wire."""
    if session.get(Device, data.id):
        raise Conflict("a device with the id {id!r} is already registered",
                       id=data.id, field="id")
    antennas, room = _checked(session, type=data.type, role=data.role, antennas=data.antennas,
                              room=data.room)
    device = Device(
        id=data.id, type=data.type, role=data.role, antennas=antennas,
        room_id=room.id if room else None, report_interval_s=data.report_interval_s,
        created_at=now(),
    )
    session.add(device)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="device", entity_id=device.id,
        after=data.model_dump(),
    )
    return device


def correct(session: Session, device_id: str, data: DeviceUpdate, *, actor: str) -> Device:
    """Correct a registered device: its role, antenna map, room or report interval.

    The same rules as registering apply to the device as it will be. Ingest rereads the
    registry within seconds, so the corrected antenna map is used from then on.
    """
    device = get(session, device_id)
    given = data.model_dump(exclude_unset=True)
    before = _registered(session, device)
    after = {**before, **given}
    antennas, room = _checked(session, type=device.type, role=after["role"],
                              antennas=after["antennas"] or {}, room=after["room"])
    device.role, device.antennas = after["role"], antennas
    device.room_id = room.id if room else None
    device.report_interval_s = after["report_interval_s"]
    session.add(device)
    session.flush()
    audit.record(session, actor=actor, action="update", entity="device", entity_id=device.id,
                 before=before, after=_registered(session, device))
    return device


def retire(session: Session, device_id: str, *, actor: str) -> None:
    """Take a device out of the registry (what it sent and its rejects stay on record).

    A device the twin had online is announced offline first, and its offline alarm, if one
    is active, is cleared: a retired device is not missed. What it sends afterwards is kept
    as a reject from an unknown device.
    """
    device = get(session, device_id)
    before = _registered(session, device)
    if device.state == "online":
        mark_state(session, device, "offline", at=now(), decided=True)
    alarms.clear_condition(session, kind=offline_kind(device), subject=device.id)
    session.delete(device)
    session.flush()
    audit.record(session, actor=actor, action="delete", entity="device", entity_id=device_id,
                 before=before)


def _registered(session: Session, device: Device) -> dict[str, Any]:
    """What a person registered for a device, as the API takes it."""
    room = session.get(Location, device.room_id) if device.room_id else None
    return {"role": device.role, "antennas": dict(device.antennas or {}),
            "room": room.code if room else None, "report_interval_s": device.report_interval_s}


def _checked(session: Session, *, type: str, role: str | None, antennas: dict[str, str],
             room: str | None) -> tuple[dict[str, str], Location | None]:
    """The registration rules: the antenna map by location code, and the room."""
    if type == "reader" and role is None:
        raise Invalid("a reader needs a role: shelf, gate or handheld", field="role")
    if type != "reader" and role is not None:
        raise Invalid("only readers have a role; a {type} has none", type=type, field="role")
    if role == "shelf" and not antennas:
        raise Invalid(
            'a shelf reader needs its antennas mapped to locations, e.g. {"1": "L00001042"}',
            field="antennas",
        )
    mapped: dict[str, str] = {}
    for antenna, code in antennas.items():
        if not antenna.isdigit() or not 1 <= int(antenna) <= 64:
            raise Invalid("antenna {antenna!r} is not a port number 1 to 64",
                          antenna=antenna, field="antennas")
        mapped[str(int(antenna))] = locations.by_code(session, code, field="antennas").code
    place = locations.by_code(session, room, field="room") if room else None
    if place is not None and place.kind != "room":
        raise Invalid("{code} is a {kind}, not a room",
                      code=place.code, kind=place.kind, field="room")
    if type == "sensor" and place is None:
        raise Invalid("a climate sensor needs the room it measures", field="room")
    if role == "gate" and place is None:
        raise Invalid("a gate reader needs the room whose door it watches", field="room")
    return mapped, place


def get(session: Session, device_id: str) -> Device:
    """The device with this id, or NotFound."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("no device is registered with the id {device_id!r}",
                       device_id=device_id)
    return device


def list_devices(session: Session, *, type: str | None = None, limit: int = 50, offset: int = 0):
    """Registered devices by id."""
    query = select(Device)
    if type:
        query = query.where(Device.type == type)
    return page(session, query.order_by(Device.id), limit=limit, offset=offset)


def present(session: Session, devices: list[Device]) -> list[DevicePublic]:
    """Devices as the API shows them, with their room code and reject count."""
    rooms = {d.room_id for d in devices if d.room_id}
    codes = dict(
        session.exec(select(Location.id, Location.code).where(col(Location.id).in_(rooms))).all()
    ) if rooms else {}
    counts = dict(
        session.exec(
            select(DeviceReject.device, func.count())
            .where(col(DeviceReject.device).in_([d.id for d in devices]))
            .group_by(DeviceReject.device)
        ).all()
    ) if devices else {}
    return [
        DevicePublic(
            id=d.id, type=cast(DeviceType, d.type), role=cast(ReaderRole | None, d.role), antennas=d.antennas or {},
            room=codes.get(d.room_id), report_interval_s=d.report_interval_s, state=d.state,
            last_seen_at=d.last_seen_at, reads_total=d.reads_total or 0,
            rejects=counts.get(d.id, 0),
        )
        for d in devices
    ]


def keep_reject(
    session: Session, *, topic: str, reason: str, raw: bytes, device: str | None = None,
    ts: datetime | None = None,
) -> DeviceReject:
    """Keep something a device sent that could not be used, with the reason; pages are told.

    The text is made storable first (a NUL or a lone surrogate shown as an escape): a reject
    must be keepable whatever the device sent, on either database.
    """
    reject = DeviceReject(
        device=_storable(device) if device else None, topic=_storable(topic)[:300],
        reason=_storable(reason)[:500], raw=bytes(raw[:RAW_KEPT]), ts=ts or now(),
    )
    session.add(reject)
    news.tell(session, news.DeviceRejected(device=reject.device, reason=reject.reason))
    return reject


def _storable(text: str) -> str:
    """Text any database stores: lone surrogates and NULs written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def list_rejects(
    session: Session, *, device: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[DeviceRejectPublic], int]:
    """Rejects, newest first."""
    query = select(DeviceReject)
    if device:
        query = query.where(DeviceReject.device == device)
    rows, total = page(session, query.order_by(col(DeviceReject.id).desc()), limit=limit, offset=offset)
    return [
        DeviceRejectPublic(
            device=r.device, topic=r.topic, reason=r.reason, ts=r.ts, first_bytes=_readable(r.raw)
        )
        for r in rows
    ], total


def _readable(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex(" ")
    return text if text.isprintable() else raw.hex(" ")


# A device's type in an alarm's wording is a word, said in the page's language ("读写器").
_TYPE_WORDS = {"reader": said("reader"), "scanner": said("scanner"), "sensor": said("sensor"),
               "light": said("light")}


def mark_state(session: Session, device: Device, state: str, *, at: datetime,
               decided: bool = False) -> Alarm | None:
    """Set a device online or offline; offline raises an alarm, online clears it.

    Returns the alarm that was raised or cleared by this change, if any.
    """
    if device.state == state:
        return None
    device.state = state
    # The server publishes a device's status only when it judged it (silence); a device's own
    # status message is already on its retained topic.
    news.tell(session, news.DeviceChanged(id=device.id, state=state, ts=at, decided=decided))
    if state == "offline":
        seen = device.last_seen_at.isoformat(timespec="seconds") if device.last_seen_at \
            else said("never")
        alarm, new = alarms.raise_alarm(
            session, kind=offline_kind(device), subject=device.id, severity="warning",
            message=said("{type} {id} is offline (last heard: {seen})",
                         type=_TYPE_WORDS.get(device.type, device.type), id=device.id, seen=seen),
        )
        return alarm if new else None
    return alarms.clear_condition(session, kind=offline_kind(device), subject=device.id)


def offline_kind(device: Device) -> str:
    """The alarm kind of a silent device: climate sensors have their own (CONTRACT.md)."""
    return "sensor_offline" if device.type == "sensor" else "device_offline"


MessageKey = tuple[str, int, datetime]


def first_taken(session: Session, keys: list[MessageKey], *, at: datetime) -> set[MessageKey]:
    """Record these (device, seq, ts) keys as taken in; return those new to the database.

    The keys go into the transaction that applies the messages, so a batch that rolls back
    has marked nothing seen. Two workers taking in the same key at once: the second waits
    for the first to commit and finds it there (PostgreSQL), or cannot write meanwhile (SQLite).
    """
    if not keys:
        return set()
    wanted = {(device, seq, _utc(ts)) for device, seq, ts in keys}
    statement = _TAKE_IN[session.get_bind().dialect.name == "postgresql"]
    # One statement, many parameter sets: compiled once and cached (a VALUES list built per
    # batch cost more to compile than the whole batch cost to apply).
    rows = [{"device": d, "seq": s, "ts": t, "taken_at": at} for d, s, t in sorted(wanted)]
    return {(d, s, _utc(t)) for d, s, t in session.execute(statement, rows)}


def _take_in_statement(insert: Any) -> Any:
    table = DeviceMessage.__table__  # type: ignore[attr-defined]  # SQLModel adds it at runtime
    return (
        insert(table)
        .on_conflict_do_nothing()
        .returning(table.c.device, table.c.seq, table.c.ts)
    )


_TAKE_IN = {False: _take_in_statement(sqlite_insert), True: _take_in_statement(pg_insert)}


def _utc(ts: datetime) -> datetime:
    stamp = as_utc(ts)
    assert stamp is not None
    return stamp


def forget_messages(session: Session, *, before: datetime) -> int:
    """Forget the keys of messages taken in before `before` (past the duplicate window)."""
    result = session.execute(delete(DeviceMessage).where(col(DeviceMessage.taken_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def silent(session: Session, *, at: datetime, factor: int = 3) -> list[Device]:
    """Devices not heard for `factor` times their report interval that are not yet offline."""
    found = []
    for device in session.exec(
        select(Device).where(col(Device.report_interval_s).is_not(None), Device.state != "offline")
    ):
        interval = device.report_interval_s
        if interval is None:  # the query already left these out
            continue
        last = device.last_seen_at or device.created_at
        if (at - last).total_seconds() > factor * interval:
            found.append(device)
    return found
