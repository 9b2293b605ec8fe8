"""What goes on a box or location label, gathered from the archive for labels/ to render."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from labels.content import BoxLabel, LocationLabel
from labels.identifiers import InvalidIdentifier, parse_code
from server.models.columns import saved_id
from server.models.holdings import Box, Record
from server.models.places import Location
from server.services.codes import CodeScheme
from server.services.errors import Invalid, NotFound
from server.services.people import CLEARANCE_ORDER, clearance_levels

MAX_BATCH = 5000
RETENTION_MARK = {"permanent": "永久 Permanent", "30y": "30年 30 years", "10y": "10年 10 years"}
CLASSIFICATION_MARK = {
    "public": "公开 Public",
    "internal": "内部 Internal",
    "confidential": "秘密 Confidential",
    "secret": "机密 Secret",
    "top_secret": "绝密 Top secret",
}
_RETENTION_RANK = {"10y": 0, "custom": 1, "30y": 2, "permanent": 3}


def expand_range(first: str, last: str, *, at_most: int = MAX_BATCH) -> list[str]:
    """Every code from first to last, inclusive, of one kind (at most at_most of them)."""
    try:
        kind_a, a = parse_code(first)
        kind_b, b = parse_code(last)
    except InvalidIdentifier as exc:
        raise Invalid(str(exc), field="range") from exc
    if kind_a != kind_b:
        raise Invalid("a range stays within one kind: {first} is a {kind_a}, {last} a {kind_b}",
                      first=first, kind_a=kind_a, last=last, kind_b=kind_b,
                      field="range")
    if b < a:
        raise Invalid("the range runs backwards: {last} comes before {first}",
                      last=last, first=first, field="range")
    if b - a + 1 > at_most:
        raise Invalid("at most {at_most} labels at once; {first}…{last} is {count}",
                      at_most=at_most, first=first, last=last, count=b - a + 1,
                      field="range")
    prefix = first.strip().upper()[0]
    return [f"{prefix}{n:08d}" for n in range(a, b + 1)]


def boxes_within(session: Session, code: str) -> list[str]:
    """Codes of the boxes now in a location or anywhere inside it, in shelf order."""
    place = _place(session, code)
    return list(session.exec(
        select(Box.code).join(Location, col(Box.location_id) == col(Location.id))
        .where(col(Location.lineage).startswith(place.lineage))
        .order_by(col(Location.path), col(Box.code))
    ).all())


def places_within(session: Session, code: str) -> list[str]:
    """Codes of a location and every location inside it (its slots), in path order."""
    place = _place(session, code)
    return list(session.exec(
        select(Location.code).where(col(Location.lineage).startswith(place.lineage))
        .order_by(col(Location.path))
    ).all())


def _place(session: Session, code: str) -> Location:
    wanted = code.strip().upper()
    place = session.exec(select(Location).where(Location.code == wanted)).first()
    if place is None:
        raise NotFound("no location has the code {code}", code=wanted, field="location")
    return place


def labels_for(session: Session, codes: list[str], *, scheme: CodeScheme,
               clearance: str) -> list[BoxLabel | LocationLabel]:
    """Labels for these box and location codes, in the order given; unknown codes refused."""
    if not codes:
        raise Invalid("name at least one box or location code", field="codes")
    if len(codes) > MAX_BATCH:
        raise Invalid("at most {MAX_BATCH} labels at once, not {count}",
                      MAX_BATCH=MAX_BATCH, count=len(codes), field="codes")
    wanted = [c.strip().upper() for c in codes]
    boxes = {b.code: b for b in session.exec(select(Box).where(col(Box.code).in_(wanted)))}
    places = {p.code: p for p in session.exec(select(Location).where(col(Location.code).in_(wanted)))}
    unknown = [c for c in wanted if c not in boxes and c not in places]
    if unknown:
        listed = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise NotFound("{count} code(s) name nothing registered: {listed}",
                       count=len(unknown), listed=listed)
    summaries = _box_summaries(session, [saved_id(b) for b in boxes.values()], clearance)
    homes = _paths(session, {b.home_id for b in boxes.values() if b.home_id})
    result: list[BoxLabel | LocationLabel] = []
    for code in wanted:
        if code in boxes:
            box = boxes[code]
            result.append(BoxLabel(code=box.code, qr_url=scheme.qr(box.code), epc_hex=box.epc,
                                   home_path=homes.get(box.home_id, "") if box.home_id else "",
                                   **summaries.get(saved_id(box), {})))
        else:
            place = places[code]
            result.append(LocationLabel(code=place.code, qr_url=scheme.qr(place.code),
                                        epc_hex=scheme.location_epc(saved_id(place)), path=place.path))
    return result


def _paths(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Location.id, Location.path).where(col(Location.id).in_(ids))).all()
    return {location_id: path for location_id, path in rows if location_id is not None}


def _box_summaries(session: Session, box_ids: list[int], clearance: str) -> dict[int, dict]:
    """Fonds, years, first title (that the printer may see), count, longest retention, highest class."""
    if not box_ids:
        return {}
    # Every query below keeps to these boxes, so no row's box_id is None.
    in_boxes = col(Record.box_id).in_(box_ids)
    stats = {
        box_id: (lo, hi, count)
        for box_id, lo, hi, count in session.exec(
            select(Record.box_id, func.min(Record.year), func.max(Record.year), func.count())
            .where(in_boxes).group_by(col(Record.box_id))
        ).all()
        if box_id is not None
    }
    fonds: dict[int, set[str]] = {}
    for box_id, name in session.exec(select(Record.box_id, Record.fonds).where(in_boxes).distinct()):
        if name and box_id is not None:
            fonds.setdefault(box_id, set()).add(name)
    marks = session.exec(
        select(Record.box_id, Record.retention, Record.retention_years, Record.classification)
        .where(in_boxes)
    ).all()
    retention: dict[int, tuple[str, int | None]] = {}
    classification: dict[int, str] = {}
    for box_id, ret, years, cls in marks:
        if box_id is None:
            continue
        if box_id not in retention or _RETENTION_RANK[ret] > _RETENTION_RANK[retention[box_id][0]]:
            retention[box_id] = (ret, years)
        if box_id not in classification or CLEARANCE_ORDER[cls] > CLEARANCE_ORDER[classification[box_id]]:
            classification[box_id] = cls
    titles = dict(session.exec(
        select(Record.box_id, func.min(Record.reference_code))
        .where(col(Record.box_id).in_(box_ids),
               col(Record.classification).in_(clearance_levels(clearance)))
        .group_by(col(Record.box_id))
    ).all())
    first_titles = dict(session.exec(
        select(Record.reference_code, Record.title).where(col(Record.reference_code).in_(list(titles.values())))
    ).all()) if titles else {}
    result: dict[int, dict] = {}
    for box_id, (lo, hi, count) in stats.items():
        ret, years = retention[box_id]
        title_code = titles.get(box_id)
        result[box_id] = {
            "fonds": " ".join(sorted(fonds.get(box_id, ()))),
            "years": "" if lo is None else (str(lo) if lo == hi else f"{lo}–{hi}"),
            "first_title": first_titles.get(title_code, "") if title_code is not None else "",
            "record_count": count,
            "retention": RETENTION_MARK.get(ret) or f"{years}年 {years} years",
            "classification": CLASSIFICATION_MARK[classification[box_id]],
        }
    return result
