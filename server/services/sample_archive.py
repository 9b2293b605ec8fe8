"""A realistic sample archive for demos and benchmarks, written by a fast bulk path."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from server.clock import now
from server.models.holdings import Box, BoxStatus, Record
from server.models.places import Location
from server.services import audit, reference_codes, search
from server.services.codes import CodeScheme
from server.services.locations import PATH_SEPARATOR, ensure_site

ROOMS = (("一号库房 Room 1", 12.0), ("二号库房 Room 2", 30.0))
# Record titles are put together like a real register's: an office, a subject, a kind of
# document, a year and a number, in Chinese or English; so a search word matches a realistic
# share of the archive (a kind of document such as 通知 ~5 %, a subject ~1-2 %, both far less).
SERIES = (("WS", "文书"), ("KJ", "会计"), ("JJ", "基建"), ("RS", "人事"), ("KY", "科研"))
OFFICES = (
    ("办公室", "General Office"), ("财务处", "Finance"), ("人事处", "Personnel"),
    ("基建处", "Estates"), ("档案馆", "Archives"), ("科技处", "Research Office"),
    ("后勤处", "Facilities"), ("法务部", "Legal"), ("审计处", "Audit"),
    ("信息中心", "IT Centre"), ("宣传部", "Communications"), ("工会", "Trade Union"),
    ("教务处", "Academic Affairs"), ("保卫处", "Security"), ("国际处", "International Office"),
)
SUBJECTS = (
    ("安全生产", "workplace safety"), ("年度预算", "the annual budget"),
    ("招标采购", "procurement"), ("职称评定", "promotions"), ("干部培训", "staff training"),
    ("信息化建设", "digitisation"), ("合同管理", "contract management"),
    ("消防检查", "fire inspection"), ("节能减排", "energy saving"), ("保密工作", "confidentiality"),
    ("档案工作", "records management"), ("资产清查", "asset inventory"),
    ("办公楼改造", "office refurbishment"), ("科研项目", "research projects"),
    ("工资调整", "salary review"), ("医疗保险", "health insurance"),
    ("车辆管理", "vehicle management"), ("食堂管理", "canteen management"),
    ("会计凭证", "accounting vouchers"), ("财务决算", "final accounts"),
    ("人事任免", "appointments"), ("职工花名册", "staff register"),
    ("竣工验收", "completion acceptance"), ("外事接待", "foreign visits"),
    ("党风廉政", "integrity"), ("网络安全", "network security"), ("学术交流", "academic exchange"),
    ("防汛抗旱", "flood control"), ("绿化养护", "grounds maintenance"), ("统计报表", "statistics"),
)
DOC_KINDS = (
    ("通知", "notice"), ("报告", "report"), ("请示", "request"), ("批复", "reply"),
    ("会议纪要", "minutes"), ("合同", "contract"), ("工作总结", "summary"), ("工作计划", "plan"),
    ("函", "letter"), ("决定", "decision"), ("登记表", "register"), ("图纸", "drawings"),
    ("意见", "opinion"), ("方案", "scheme"), ("协议", "agreement"), ("简报", "bulletin"),
    ("台账", "ledger"), ("审批表", "approval form"),
)
RETENTIONS = (("Y", "permanent"), ("D30", "30y"), ("D10", "10y"))
CLASSIFICATIONS = ("public", "internal", "internal", "internal", "confidential", "secret",
                   "top_secret")
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
    driver = session.connection().connection.driver_connection
    if driver is None:  # a pooled connection always has one while it is checked out
        raise RuntimeError("the database connection has no driver connection under it")
    cursor = driver.cursor()
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
        home = slots[(i // size.slot_capacity) % len(slots)] if slots else None
        placed = home is not None and i < len(slots) * size.slot_capacity and rng.random() > 0.03
        box_rows.append({
            "id": ident, "code": scheme.box_code(ident), "epc": scheme.box_epc(ident),
            "size": "A4-60mm", "width_mm": 60, "status": BoxStatus.ON_SHELF if placed else BoxStatus.IN_TRANSIT,
            "home_id": home, "location_id": home if placed else None,
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


def sample_title(rng: random.Random, year: int, n: int) -> str:
    """A register-like title: office, subject, kind of document, year and number."""
    office_cn, office_en = OFFICES[rng.randrange(len(OFFICES))]
    subject_cn, subject_en = SUBJECTS[rng.randrange(len(SUBJECTS))]
    kind_cn, kind_en = DOC_KINDS[rng.randrange(len(DOC_KINDS))]
    form = rng.randrange(10)
    if form < 3:
        return f"{office_cn}关于{year}年{subject_cn}的{kind_cn}"
    if form < 5:
        return f"{office_cn}{year}年度{subject_cn}{kind_cn}（第{n}号）"
    if form < 7:
        return f"关于{subject_cn}有关事项的{kind_cn}"
    if form < 9:
        return f"{office_en}: {kind_en} on {subject_en}, {year}"
    return f"{kind_en.capitalize()} no. {n}: {subject_en} ({office_en}, {year})"


def _record_rows(total: int, box_ids: list[int], rng: random.Random, first: int,
                 stamp) -> Iterator[list[dict]]:
    counters: dict[tuple[str, int, str], int] = {}
    rows: list[dict] = []
    for i in range(total):
        prefix, fonds_name = SERIES[i % len(SERIES)]
        year = 1990 + rng.randrange(35)
        mark, retention = RETENTIONS[rng.randrange(len(RETENTIONS))]
        key = (prefix, year, mark)
        counters[key] = counters.get(key, 0) + 1
        n = counters[key]
        title = sample_title(rng, year, n)
        classification = CLASSIFICATIONS[rng.randrange(len(CLASSIFICATIONS))]
        pages = rng.randrange(1, 400)
        # The DA/T 18 items, drawn without the random source so the rest stays as it was.
        rows.append({
            "id": first + i,
            "reference_code": f"{prefix}·{year}·{mark}·{n:04d}",
            "title": title,
            "description": f"{fonds_name} {year}",
            "fonds": "X001",
            "series": prefix,
            "level": "file",
            "category": prefix if prefix in reference_codes.CATEGORIES else None,
            "item": n,
            "year": year,
            "date": date(year, 1 + i % 12, 1 + i % 28),
            "creator": OFFICES[i % len(OFFICES)][0],
            "pages": pages,
            "access": ("open" if classification == "public" and year < 2000 else
                       "controlled" if classification != "public" else "unreviewed"),
            "retention": retention,
            "retention_years": None,
            "classification": classification,
            "extra": {"pages": pages},
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
        session.execute(text(
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

    rooms = session.exec(select(Location).where(Location.kind == "room").order_by(col(Location.id))).all()
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
                .order_by(col(Location.id))
            ).all()
            unit = side.path.split(PATH_SEPARATOR)[-2].replace("Unit ", "u")
            add(DeviceCreate(
                id=f"shelf-r{r}-{unit}{side.name.lower()}", type="reader", role="shelf",
                antennas={str(n): shelf.code for n, shelf in enumerate(shelves[:64], start=1)},
                report_interval_s=10,
            ))
    return made
