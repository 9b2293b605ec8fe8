"""A realistic sample archive for demos and benchmarks, written by a fast bulk path."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from server.clock import now
from server.models.holdings import Box, Record
from server.models.places import Location
from server.services import audit, search
from server.services.codes import CodeScheme
from server.services.locations import PATH_SEPARATOR, ensure_site

ROOMS = (("一号库房 Room 1", 12.0), ("二号库房 Room 2", 30.0))
SERIES = (
    ("WS", "文书", ("关于{year}年度档案工作的通知", "{year}年度工作总结", "Minutes of the board, {year}",
                    "关于印发《档案管理办法》的通知", "Annual report {year}")),
    ("KJ", "会计", ("{year}年会计凭证 第{n}册", "General ledger {year}", "{year}年度财务报告")),
    ("JJ", "基建", ("办公楼改造工程竣工图 {n}", "Site survey, building {n}", "{year}年基建项目验收材料")),
    ("RS", "人事", ("{year}年人事任免文件", "Staff records {year}, volume {n}", "职工花名册 {year}")),
)
RETENTIONS = (("Y", "permanent"), ("D30", "30y"), ("D10", "10y"))
CLASSIFICATIONS = ("public", "internal", "internal", "internal", "confidential", "secret")
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class SampleSize:
    """How big a sample archive to make."""

    units_per_room: int = 8
    sections: int = 4
    shelves: int = 5
    slots_per_shelf: int = 3
    slot_capacity: int = 2
    boxes: int = 3000
    records: int = 6000


def _next_id(session: Session, table) -> int:
    return (session.exec(select(func.max(table.id))).one() or 0) + 1


def _insert(session: Session, table, rows: list[dict]) -> None:
    if rows and session.get_bind().dialect.name == "postgresql":
        _copy(session, table, rows)
        return
    for start in range(0, len(rows), CHUNK):
        session.exec(insert(table), params=rows[start:start + CHUNK])


def _copy(session: Session, table, rows: list[dict]) -> None:
    """PostgreSQL's COPY: several times faster than INSERT for a bulk load."""
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in row.values()])


def seed(
    session: Session,
    *,
    scheme: CodeScheme,
    size: SampleSize = SampleSize(),
    rng: random.Random | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Add two rooms of compact shelving, boxes on their slots and records in the boxes."""
    rng = rng or random.Random(2024)
    stamp = now()
    site = ensure_site(session, scheme)
    next_loc = _next_id(session, Location)
    places: list[dict] = []
    slots: list[int] = []

    def add(name: str, kind: str, parent: dict | None, **extra) -> dict:
        nonlocal next_loc
        ident = next_loc
        next_loc += 1
        row = {
            "id": ident, "code": scheme.location_code(ident), "name": name, "kind": kind,
            "site_id": site.id, "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path']}{PATH_SEPARATOR}{name}" if parent else name,
            "lineage": f"{parent['lineage'] if parent else '/'}{ident}/",
            "depth": parent["depth"] + 1 if parent else 0, "created_at": stamp,
            "capacity": None, "length_mm": None, "x": None, "y": None, **extra,
        }
        places.append(row)
        return row

    for room_index, (room_name, room_x) in enumerate(ROOMS):
        room = add(room_name, "room", None, x=room_x, y=0.0)
        for u in range(1, size.units_per_room + 1):
            unit = add(f"Unit {u:02d}", "unit", room, x=room_x + u * 1.2, y=2.0 + room_index)
            for side_name in ("A", "B"):
                side = add(side_name, "side", unit)
                for s in range(1, size.sections + 1):
                    section = add(f"Section {s}", "section", side)
                    for h in range(1, size.shelves + 1):
                        shelf = add(f"Shelf {h}", "shelf", section, length_mm=900)
                        for t in range(1, size.slots_per_shelf + 1):
                            slot = add(f"Slot {t}", "slot", shelf, capacity=size.slot_capacity)
                            slots.append(slot["id"])
    _insert(session, Location, places)
    if on_progress:
        on_progress("locations", len(places))

    next_box = _next_id(session, Box)
    box_ids = list(range(next_box, next_box + size.boxes))
    box_rows = []
    for i, ident in enumerate(box_ids):
        slot = slots[(i // size.slot_capacity) % len(slots)] if slots else None
        placed = slot is not None and i < len(slots) * size.slot_capacity and rng.random() > 0.03
        box_rows.append({
            "id": ident, "code": scheme.box_code(ident), "epc": scheme.box_epc(ident),
            "size": "A4-60mm", "width_mm": 60, "status": "on_shelf" if placed else "in_transit",
            "home_id": slot, "location_id": slot if placed else None,
            "last_seen_at": stamp if placed else None, "last_seen_by": "sample" if placed else None,
            "created_at": stamp,
        })
    _insert(session, Box, box_rows)
    if on_progress:
        on_progress("boxes", len(box_rows))

    written = 0
    first_record = _next_id(session, Record)
    # Index the new records in one pass at the end rather than row by row through triggers.
    paused = search.pause_sqlite_trigger(session)
    for chunk in _record_rows(size.records, box_ids, rng, first_record, stamp):
        _insert(session, Record, chunk)
        written += len(chunk)
        if on_progress:
            on_progress("records", written)
    search.resume_sqlite_trigger(session, paused, after_id=first_record - 1)
    _fix_sequences(session)
    counts = {"locations": len(places), "boxes": len(box_rows), "records": written}
    audit.record(session, actor="system", action="seed", entity="archive", entity_id="sample",
                 after=counts)
    return counts


def _record_rows(total: int, box_ids: list[int], rng: random.Random, first: int,
                 stamp) -> Iterator[list[dict]]:
    counters: dict[tuple[str, int, str], int] = {}
    rows: list[dict] = []
    for i in range(total):
        prefix, fonds_name, titles = SERIES[i % len(SERIES)]
        year = 1990 + rng.randrange(35)
        mark, retention = RETENTIONS[rng.randrange(len(RETENTIONS))]
        key = (prefix, year, mark)
        counters[key] = counters.get(key, 0) + 1
        n = counters[key]
        title = rng.choice(titles).format(year=year, n=n)
        rows.append({
            "id": first + i,
            "reference_code": f"{prefix}·{year}·{mark}·{n:04d}",
            "title": title,
            "description": f"{fonds_name} {year}",
            "fonds": "X001",
            "series": prefix,
            "year": year,
            "retention": retention,
            "retention_years": None,
            "classification": CLASSIFICATIONS[rng.randrange(len(CLASSIFICATIONS))],
            "extra": {"pages": rng.randrange(1, 400)},
            "box_id": box_ids[i % len(box_ids)] if box_ids else None,
            "created_at": stamp,
            "updated_at": stamp,
        })
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def _fix_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("locations", "boxes", "records"):
        session.exec(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))


def is_empty(session: Session) -> bool:
    """True when the archive has no locations yet."""
    return session.exec(select(Location.id).limit(1)).first() is None


def register_devices(session: Session, *, actor: str = "system") -> list[str]:
    """Register the sample archive's devices: a shelf reader per unit side (an antenna per
    shelf), a door gate, a handheld scanner and a climate sensor in each room."""
    from server.models.devices import Device, DeviceCreate
    from server.services import devices

    made: list[str] = []

    def add(spec: DeviceCreate) -> None:
        if session.get(Device, spec.id) is None:
            devices.register(session, spec, actor=actor)
            made.append(spec.id)

    rooms = session.exec(select(Location).where(Location.kind == "room").order_by(Location.id)).all()
    for r, room in enumerate(rooms, start=1):
        add(DeviceCreate(id=f"gate-r{r}", type="reader", role="gate", room=room.code))
        add(DeviceCreate(id=f"hh-r{r}", type="scanner"))
        add(DeviceCreate(id=f"th-r{r}", type="sensor", room=room.code, report_interval_s=30))
        sides = session.exec(
            select(Location).where(Location.kind == "side",
                                   Location.lineage.startswith(room.lineage))
            .order_by(Location.path)
        ).all()
        for side in sides:
            shelves = session.exec(
                select(Location).where(Location.kind == "shelf",
                                       Location.lineage.startswith(side.lineage))
                .order_by(Location.id)
            ).all()
            unit = side.path.split(PATH_SEPARATOR)[-2].replace("Unit ", "u")
            add(DeviceCreate(
                id=f"shelf-r{r}-{unit}{side.name.lower()}", type="reader", role="shelf",
                antennas={str(n): shelf.code for n, shelf in enumerate(shelves[:64], start=1)},
                report_interval_s=10,
            ))
    return made
