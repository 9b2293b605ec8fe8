"""Records: archival files and volumes with their reference codes, filed in boxes."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, or_
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from server.clock import now
from server.models.holdings import Box, BoxStatus, Record, RecordCreate, RecordPublic, RecordUpdate
from server.models.places import Location
from server.services import audit, locations, reference_codes, search
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import MAX_PAGE
from server.services.people import (
    CLEARANCE_ORDER,
    HIGHEST_CLEARANCE,
    clearance_levels,
    may_see,
)

# Keyboard-wedge scanners cannot type "·"; accept the usual stand-ins for it.
# The table's own columns: search.unindexed reads a column's name and type.
_COLUMNS = sa_inspect(Record).columns
_SEPARATOR_STAND_INS = str.maketrans({"-": "·", ".": "·", "•": "·", "・": "·"})


def by_reference(session: Session, reference_code: str, *, clearance: str = HIGHEST_CLEARANCE
                 ) -> Record:
    """The record with this reference code that the clearance allows, or NotFound."""
    wanted = reference_code.strip()
    record = session.exec(select(Record).where(Record.reference_code == wanted)).first()
    if record is None and "·" not in wanted:
        alt = wanted.translate(_SEPARATOR_STAND_INS)
        if alt != wanted:
            record = session.exec(select(Record).where(Record.reference_code == alt)).first()
    if record is None or not may_see(clearance, record.classification):
        raise NotFound("no record with the reference code {wanted} (that you may see)",
                       wanted=wanted)
    return record


def _box_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    box = session.exec(select(Box).where(Box.code == code.strip().upper())).first()
    if box is None:
        raise Invalid("no box has the code {code}", code=code.strip().upper(), field="box")
    return box.id


def _volume_id(session: Session, code: str | None, *, level: str) -> int | None:
    """The id of the 案卷 a record of this level is put in (a record of level volume), or None."""
    if not code or not code.strip():
        return None
    if level == "volume":
        raise Invalid("a volume is not put in another volume", field="volume")
    volume = session.exec(select(Record).where(Record.reference_code == code.strip())).first()
    if volume is None:
        raise Invalid("no volume has the reference code {code}",
                      code=code.strip(), field="volume")
    if volume.level != "volume":
        raise Invalid("{reference_code} is a {level}, not a volume (案卷)",
                      reference_code=volume.reference_code, level=volume.level,
                      field="volume")
    return volume.id


def _check_retention(retention: str, years: int | None) -> None:
    if retention == "custom" and not years:
        raise Invalid("a custom retention needs retention_years", field="retention_years")
    if retention != "custom" and years:
        raise Invalid(
            "retention_years only goes with retention 'custom', not {retention!r}",
            retention=retention,
            field="retention_years",
        )


def create_record(session: Session, data: RecordCreate, *, actor: str) -> Record:
    """Add a record; its reference code must be new."""
    _check_retention(data.retention, data.retention_years)
    if not data.reference_code:
        data.reference_code = reference_codes.build(
            session, fonds=data.fonds, category=data.category, year=data.year,
            retention=data.retention, retention_years=data.retention_years)
    filled = reference_codes.check(
        session, code=data.reference_code, fonds=data.fonds, category=data.category,
        year=data.year, retention=data.retention, retention_years=data.retention_years,
        item=data.item, given=data.model_fields_set)
    for key, value in filled.items():
        setattr(data, key, value)
    if session.exec(select(Record.id).where(Record.reference_code == data.reference_code)).first():
        raise Conflict(
            "a record with the reference code {reference_code} already exists",
            reference_code=data.reference_code,
            field="reference_code",
        )
    stamp = now()
    record = Record(
        **data.model_dump(exclude={"meta", "box", "volume"}),
        extra=data.meta,
        box_id=_box_id(session, data.box),
        volume_id=_volume_id(session, data.volume, level=data.level),
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(record)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="record",
        entity_id=record.reference_code, after=snapshot(session, record),
    )
    return record


def update_record(session: Session, reference_code: str, data: RecordUpdate, *, actor: str) -> Record:
    """Change a record's description, classification, box or metadata."""
    record = by_reference(session, reference_code)
    before = snapshot(session, record)
    changes = data.model_dump(exclude_unset=True)
    for required in ("title", "retention", "classification"):
        if required in changes and changes[required] is None:
            raise Invalid("a record needs a {required}; leave it out to keep it",
                          required=required, field=required)
    if "box" in changes:
        record.box_id = _box_id(session, changes.pop("box"))
    if "volume" in changes:
        record.volume_id = _volume_id(session, changes.pop("volume"),
                                      level=changes.get("level", record.level))
    if "meta" in changes:
        record.extra = changes.pop("meta") or {}
    for key, value in changes.items():
        setattr(record, key, value)
    _check_retention(record.retention, record.retention_years)
    if {"year", "retention", "retention_years", "category", "fonds"} & changes.keys():
        reference_codes.check(
            session, code=record.reference_code, fonds=record.fonds, category=record.category,
            year=record.year, retention=record.retention, retention_years=record.retention_years)
    record.updated_at = now()
    session.flush()
    audit.record(
        session, actor=actor, action="update", entity="record",
        entity_id=record.reference_code, before=before, after=snapshot(session, record),
    )
    return record


class Found(NamedTuple):
    """One page of a record search, the total and whether counting stopped at the cap."""

    rows: list[Record]
    total: int
    total_is_estimate: bool


def search_records(
    session: Session,
    *,
    clearance: str,
    q: str | None = None,
    fonds: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    classification: str | None = None,
    box: str | None = None,
    location: str | None = None,
    on_loan: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Found:
    """Records the clearance allows, matching text (ranked) and filters, else by reference code.

    The total is exact up to search.TOTAL_CAP; beyond it `total_is_estimate` is True and the
    total says "at least this many".
    """
    allowed = [c for c in clearance_levels(clearance) if classification in (None, "", c)]
    if not allowed:
        return Found([], 0, False)
    match = search.text_match(session, q)
    sqlite = session.get_bind().dialect.name == "sqlite"
    # On SQLite the full-text hits must drive a text search, not a filter's index (see
    # search.unindexed); without a text, the reference code index rather than classification's.
    plain = search.unindexed if sqlite and match is not None else _as_is
    filtered = bool(fonds or year_from is not None or year_to is not None or box or location
                    or on_loan is not None)
    if match is not None:
        # Rank narrow rows (ids), then load the page's records: sorting whole records
        # (description, metadata) for every hit costs more than the ranking itself.
        query, ranking = match.ids(allowed, filtered=filtered)
    else:
        query, ranking = select(Record), [col(Record.reference_code)]
        if len(allowed) < len(CLEARANCE_ORDER):
            level = search.unindexed(_COLUMNS.classification) if sqlite else col(Record.classification)
            query = query.where(level.in_(allowed))
    if fonds:
        query = query.where(plain(_COLUMNS.fonds) == fonds)
    if year_from is not None:
        query = query.where(plain(_COLUMNS.year) >= year_from)
    if year_to is not None:
        query = query.where(plain(_COLUMNS.year) <= year_to)
    if box:
        query = query.where(col(Record.box_id) == _box_id(session, box))
    if location:
        place = locations.by_code(session, location, field="location")
        inside = select(Location.id).where(col(Location.lineage).startswith(place.lineage))
        query = query.where(
            plain(_COLUMNS.box_id).in_(select(Box.id).where(col(Box.location_id).in_(inside)))
        )
    if on_loan is not None:
        lent = select(Box.id).where(Box.status == BoxStatus.ON_LOAN)
        query = query.where(
            plain(_COLUMNS.box_id).in_(lent) if on_loan
            else or_(plain(_COLUMNS.box_id).is_(None), plain(_COLUMNS.box_id).not_in(lent))
        )
    limit = max(1, min(limit, MAX_PAGE))
    rows = session.exec(query.order_by(*ranking).offset(max(0, offset)).limit(limit)).all()
    total, capped = search.capped_total(session, query)
    if match is not None:
        by_id = {r.id: r for r in session.exec(select(Record).where(col(Record.id).in_(rows)))}
        rows = [by_id[i] for i in rows]
    return Found(list(rows), total, capped)


def files_of(session: Session, volume: Record) -> list[Record]:
    """The files put in a volume, in 档号 order."""
    return list(session.exec(select(Record).where(Record.volume_id == volume.id)
                             .order_by(col(Record.reference_code))).all())


def _as_is(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return column


def present(session: Session, records: list[Record]) -> list[RecordPublic]:
    """Records as the API shows them, with box and location (one query for all)."""
    box_ids = {r.box_id for r in records if r.box_id}
    boxes = {b.id: b for b in session.exec(select(Box).where(col(Box.id).in_(box_ids)))} if box_ids else {}
    loc_ids = {b.location_id for b in boxes.values() if b.location_id}
    places = (
        {p.id: p for p in session.exec(select(Location).where(col(Location.id).in_(loc_ids)))}
        if loc_ids
        else {}
    )
    volume_ids = {r.volume_id for r in records if r.volume_id}
    volumes = dict(session.exec(select(Record.id, Record.reference_code).where(
        col(Record.id).in_(volume_ids))).all()) if volume_ids else {}
    shown = []
    for record in records:
        box = boxes.get(record.box_id)
        place = places.get(box.location_id) if box else None
        shown.append(
            RecordPublic(
                **record.model_dump(exclude={"id", "extra", "box_id", "volume_id"}),
                metadata=record.extra or {},
                box=box.code if box else None,
                volume=volumes.get(record.volume_id),
                location=place.code if place else None,
                location_path=place.path if place else None,
            )
        )
    return shown


def snapshot(session: Session, record: Record) -> dict:
    """What the audit log keeps of a record."""
    box = session.get(Box, record.box_id) if record.box_id else None
    data = record.model_dump(exclude={"id", "box_id", "volume_id", "created_at", "updated_at",
                                      "extra"})
    volume = session.get(Record, record.volume_id) if record.volume_id else None
    return {**data, "metadata": record.extra, "box": box.code if box else None,
            **({"volume": volume.reference_code} if volume else {})}
