"""Stocktakes: count what is really in a location subtree, compare it with the twin, apply it.

A stocktake counts one location and everything inside it (its scope). Scans and RFID reads
that count for it move nothing; they are sightings: where the stocktake saw each box first.
The result compares the sightings with the twin, position by position (docs/stocktake.md):

- found: seen at the location the twin has it, or at a location that contains it (a box
  whose twin slot lies on the shelf whose label was scanned: the count was coarser than
  the twin, and nothing contradicts it);
- misplaced: the twin has it inside the scope, it was seen inside the scope somewhere else
  (a slot of the shelf the twin has it on counts as somewhere else: applying records the
  slot);
- missing: the twin has it inside the scope and nobody saw it (a lent box is never missing);
- unexpected: seen inside the scope, the twin has it outside the scope or nowhere;
- on loan: lent boxes whose home or last location lies in the scope;
- duplicates: boxes scanned more than once (counted once; RFID hearing a tag again is not
  a duplicate scan, readers hear each tag many times).

Only boxes the twin has inside the scope can be missing, so a partial stocktake never marks
anything outside it. Applying moves misplaced and unexpected boxes where they were seen
(movements with reason `stocktake`, through boxes.move_box, so each is announced) and marks
the missing ones missing (boxes.tell_changed); a lent box seen is left for its return.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.devices import Device
from server.models.holdings import Box, BoxStatus
from server.models.loans import Loan
from server.models.places import Location
from server.models.stocktakes import (
    Stocktake,
    StocktakeCreate,
    StocktakePublic,
    StocktakeSighting,
    StocktakeState,
)
from server.services import alarms, audit, boxes, locations
from server.services.errors import Conflict, Invalid, NotFound
from server.services.translations import said

log = logging.getLogger(__name__)

REASON = "stocktake"  # the movements' reason (server.models.holdings.MoveReason)
SCAN, RFID = "scan", "rfid"

# What counting one box said (Counted.verdict): the result's group it falls in now.
FOUND, MISPLACED, UNEXPECTED, ON_LOAN = "found", "misplaced", "unexpected", "on_loan"
GROUPS = ("found", "misplaced", "missing", "unexpected", "on_loan", "duplicates")


@dataclass(frozen=True, slots=True)
class Counted:
    """What counting one box did: first seen, or a duplicate scan, and how it stands."""

    first: bool  # False: seen before in this stocktake
    duplicate: bool  # a scan of a box already seen (RFID re-hearing is neither)
    verdict: str  # FOUND, MISPLACED, UNEXPECTED or ON_LOAN, by where it was first seen
    expected: str | None  # where the twin has it (code)
    expected_path: str | None
    seen: str
    seen_path: str


# ---------------------------------------------------------------- finding stocktakes


def by_id(session: Session, stocktake_id: int, *, for_update: bool = False) -> Stocktake:
    """The stocktake with this id, or NotFound."""
    query = select(Stocktake).where(Stocktake.id == stocktake_id)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise NotFound("there is no stocktake {stocktake_id}",
                       stocktake_id=stocktake_id)
    return found


def open_by_id(session: Session, stocktake_id: int) -> Stocktake:
    """The open stocktake with this id (locked for the count); Conflict naming its state."""
    found = by_id(session, stocktake_id, for_update=True)
    _must_be_open(found)
    return found


def counting(session: Session, device: str) -> Stocktake | None:
    """The open stocktake this device counts for, if any: the one question every path asks.

    The scan pipeline (scanners over MQTT or serial, POST /api/scan with a device) and
    placement (handheld RFID readers) ask it; when it answers, what the device sends is
    counted for the stocktake and moves nothing.
    """
    return session.exec(
        select(Stocktake).where(Stocktake.device == device, Stocktake.state == StocktakeState.OPEN)
    ).first()


def list_stocktakes(session: Session, *, state: str | None = None, limit: int = 50,
                    offset: int = 0) -> tuple[list[Stocktake], int]:
    """Stocktakes, newest first."""
    query = select(Stocktake)
    if state:
        query = query.where(Stocktake.state == state)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Stocktake.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def _must_be_open(stocktake: Stocktake) -> None:
    if stocktake.state != StocktakeState.OPEN:
        raise Conflict("stocktake {id} is {state}: only an open stocktake counts scans, is "
                       "applied or is cancelled",
                       id=stocktake.id, state=stocktake.state, field="state")


# ---------------------------------------------------------------- starting one


def start(session: Session, data: StocktakeCreate, *, actor: str) -> Stocktake:
    """Open a stocktake of a location subtree, optionally counted by one handheld device."""
    scope = locations.by_code(session, data.scope, field="scope")
    device = data.device.strip() if data.device else None
    if device:
        registered = session.get(Device, device)
        if registered is None:
            raise Invalid("no device is registered with the id {device!r}; register the handheld "
                          "first (POST /api/devices)",
                          device=device, field="device")
        if not (registered.type == "scanner"
                or (registered.type == "reader" and registered.role == "handheld")):
            what = f"{registered.role or ''} {registered.type}".strip()
            raise Invalid("{device} is a {what}; a stocktake is counted by a scanner or a "
                          "handheld reader", device=device, what=what, field="device")
        busy = counting(session, device)
        if busy is not None:
            raise Conflict("{device} already counts for stocktake {id}; apply or cancel that one "
                           "first",
                           device=device, id=busy.id, field="device")
    inside = _inside(scope)
    expected = session.exec(
        select(func.count()).select_from(Box).where(
            col(Box.location_id).in_(inside), Box.status != BoxStatus.DISPOSED,
            Box.status != BoxStatus.ON_LOAN)
    ).one()
    stocktake = Stocktake(scope_id=saved_id(scope), device=device, state=StocktakeState.OPEN,
                          expected=expected, started_at=now(), started_by=actor)
    session.add(stocktake)
    session.flush()
    audit.record(session, actor=actor, action="start", entity="stocktake",
                 entity_id=str(stocktake.id),
                 after={"scope": scope.code, "device": device, "expected": expected})
    log.info("%s started stocktake %s of %s", actor, stocktake.id, scope.code)
    return stocktake


def _inside(scope: Location):
    return select(Location.id).where(col(Location.lineage).startswith(scope.lineage))


def scope_of(session: Session, stocktake: Stocktake) -> Location:
    """The location the stocktake counts."""
    scope = session.get(Location, stocktake.scope_id)
    assert scope is not None, "a stocktake's scope is a foreign key"
    return scope


def within(scope: Location, place: Location) -> bool:
    """True if place is the scope or lies inside it."""
    return place.lineage.startswith(scope.lineage)


def check_within(scope: Location, place: Location) -> None:
    """Refuse (Invalid) a location outside the scope: what is seen there is not counted."""
    if not within(scope, place):
        raise Invalid("{code} ({path}) is outside this stocktake's scope ({scope_code}, "
                      "{scope_path}): scan a location inside it",
                      code=place.code, path=place.path, scope_code=scope.code,
                      scope_path=scope.path, field="codes")


# ---------------------------------------------------------------- counting


def count(session: Session, stocktake: Stocktake, *, box: Box, seen: Location | None,
          source: str, by: str | None) -> Counted:
    """Count one box seen at `seen` (None: somewhere in the scope). Moves nothing."""
    session.refresh(stocktake, with_for_update=True)  # one count at a time; closed meanwhile?
    _must_be_open(stocktake)
    scope = scope_of(session, stocktake)
    place = seen or scope
    check_within(scope, place)
    sighting = session.exec(
        select(StocktakeSighting).where(StocktakeSighting.stocktake_id == stocktake.id,
                                        StocktakeSighting.box_id == box.id)
    ).first()
    first = sighting is None
    duplicate = False
    if sighting is None:
        sighting = StocktakeSighting(stocktake_id=saved_id(stocktake), box_id=saved_id(box),
                                     seen_id=saved_id(place), at=now(), by=by, source=source)
        session.add(sighting)
        session.flush()
    elif source == SCAN:
        sighting.repeats += 1
        duplicate = True
    counted_at = place if first else session.get(Location, sighting.seen_id)
    assert counted_at is not None
    twin = session.get(Location, box.location_id) if box.location_id else None
    verdict = _verdict(scope, box.status, twin, counted_at)
    return Counted(first, duplicate, verdict, twin.code if twin else None,
                   twin.path if twin else None, counted_at.code, counted_at.path)


def _verdict(scope: Location, status: str, twin: Location | None, seen: Location) -> str:
    if status == BoxStatus.ON_LOAN:
        return ON_LOAN
    if status == BoxStatus.DISPOSED:  # the twin says it is gone: its being here needs a look
        return UNEXPECTED
    if twin is None or not within(scope, twin):
        return UNEXPECTED
    if twin.id == seen.id or twin.lineage.startswith(seen.lineage):
        return FOUND
    return MISPLACED


# ---------------------------------------------------------------- the result


def result(session: Session, stocktake: Stocktake) -> dict[str, Any]:
    """The groups of the result: frozen once applied or cancelled, else against the twin now."""
    if stocktake.result is not None:
        return stocktake.result
    scope = scope_of(session, stocktake)
    inside = _inside(scope)
    sightings = {
        box_id: (seen_id, repeats)
        for box_id, seen_id, repeats in session.exec(
            select(StocktakeSighting.box_id, StocktakeSighting.seen_id, StocktakeSighting.repeats)
            .where(StocktakeSighting.stocktake_id == stocktake.id))
    }
    open_loans = select(Loan.box_id).where(col(Loan.returned_at).is_(None),
                                           col(Loan.taken_from_id).in_(inside))
    lent = set(session.exec(
        select(Box.id).where(Box.status == BoxStatus.ON_LOAN,
                             or_(col(Box.home_id).in_(inside), col(Box.id).in_(open_loans))))
    )
    # Subqueries, not lists of ids: a room's stocktake sees tens of thousands of boxes.
    sighted = select(StocktakeSighting.box_id).where(
        StocktakeSighting.stocktake_id == stocktake.id)
    rows = session.exec(
        select(Box.id, Box.code, Box.location_id, Box.status).where(
            or_(col(Box.location_id).in_(inside), col(Box.id).in_(sighted),
                col(Box.id).in_(list(lent))))
    ).all()
    places = {p.id: p for p in session.exec(
        select(Location).where(col(Location.lineage).startswith(scope.lineage)))}
    elsewhere = {r[2] for r in rows if r[2] is not None} - places.keys()  # the few unexpected
    if elsewhere:
        places.update((p.id, p) for p in session.exec(
            select(Location).where(col(Location.id).in_(list(elsewhere)))))
    found: list[str] = []
    misplaced: list[dict] = []
    missing: list[str] = []
    unexpected: list[dict] = []
    on_loan: list[str] = []
    duplicates: list[str] = []

    def entry(code: str, twin: Location | None, seen: Location) -> dict:
        return {"box": code, "expected": twin.code if twin else None, "seen": seen.code,
                "expected_path": twin.path if twin else None, "seen_path": seen.path}

    for box_id, code, location_id, status in sorted(rows, key=lambda r: r[1]):
        if status == BoxStatus.DISPOSED and box_id not in sightings:
            continue
        twin = places.get(location_id) if location_id is not None else None
        sighting = sightings.get(box_id) if box_id is not None else None
        if box_id in lent:
            on_loan.append(code)
        if sighting is None:
            if status not in (BoxStatus.ON_LOAN, BoxStatus.DISPOSED) and twin is not None \
                    and within(scope, twin):
                missing.append(code)
            continue
        seen_id, repeats = sighting
        if repeats:
            duplicates.append(code)
        seen = places[seen_id]
        verdict = _verdict(scope, status, twin, seen)
        if verdict == FOUND:
            found.append(code)
        elif verdict == MISPLACED:
            misplaced.append(entry(code, twin, seen))
        else:  # unexpected, or lent and seen here
            unexpected.append(entry(code, twin, seen))
    return {"seen": len(sightings), "found": found, "misplaced": misplaced, "missing": missing,
            "unexpected": unexpected, "on_loan": on_loan, "duplicates": duplicates}


def totals(session: Session, stocktake: Stocktake) -> tuple[int, int]:
    """(boxes seen, duplicate scans) so far."""
    seen, repeats = session.exec(
        select(func.count(), func.coalesce(func.sum(StocktakeSighting.repeats), 0))
        .where(StocktakeSighting.stocktake_id == stocktake.id)
    ).one()
    return int(seen), int(repeats)


def present(session: Session, stocktake: Stocktake) -> StocktakePublic:
    """A stocktake as the API shows it, with its result."""
    scope = scope_of(session, stocktake)
    groups = result(session, stocktake)
    return StocktakePublic(
        id=saved_id(stocktake), state=stocktake.state, scope=scope.code, scope_path=scope.path,
        device=stocktake.device, expected=stocktake.expected, seen=groups["seen"],
        started_at=stocktake.started_at, started_by=stocktake.started_by,
        closed_at=stocktake.closed_at, closed_by=stocktake.closed_by,
        found=groups["found"], misplaced=groups["misplaced"], missing=groups["missing"],
        unexpected=groups["unexpected"], on_loan=groups["on_loan"],
        duplicates=groups["duplicates"], moved=stocktake.moved,
        marked_missing=stocktake.marked_missing,
    )


# ---------------------------------------------------------------- applying, cancelling


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a stocktake changed."""

    moved: int
    marked_missing: int
    found_again: int
    left: list[dict[str, str]]


def apply(session: Session, stocktake_id: int, *, actor: str) -> tuple[Stocktake, Applied]:
    """Make the twin what the stocktake saw: move the misplaced and unexpected boxes where
    they were seen, mark the missing ones missing, take found-again boxes off the missing list."""
    stocktake = open_by_id(session, stocktake_id)
    groups = result(session, stocktake)
    moved = marked = found_again = 0
    left: list[dict[str, str]] = []
    for item in [*groups["misplaced"], *groups["unexpected"]]:
        box = boxes.by_code(session, item["box"], for_update=True)
        if box.status == BoxStatus.ON_LOAN:
            left.append({"box": box.code, "why": "on_loan"})
            continue
        if box.status == BoxStatus.DISPOSED:
            left.append({"box": box.code, "why": "disposed"})
            continue
        was_missing = box.status == BoxStatus.MISSING
        _, movement = boxes.move_box(session, box.code, to=item["seen"], reason=REASON,
                                     user=actor, check_capacity=False)
        if movement is not None:
            moved += 1
        if was_missing:
            found_again += _found_again(session, box, actor)
    for code in groups["found"]:
        box = boxes.by_code(session, code, for_update=True)
        if box.status == BoxStatus.MISSING:
            found_again += _found_again(session, box, actor)
    scope = scope_of(session, stocktake)
    for code in groups["missing"]:
        box = boxes.by_code(session, code, for_update=True)
        if box.status in (BoxStatus.MISSING, BoxStatus.ON_LOAN, BoxStatus.DISPOSED):
            continue
        before = boxes.snapshot(session, box)
        box.status = BoxStatus.MISSING
        session.flush()
        boxes.tell_changed(session, box, reason=REASON, by=actor)
        alarms.raise_alarm(session, kind="box_missing", subject=box.code, severity="warning",
                           message=said("box {code} was not found in stocktake {id} of {path}",
                                        code=box.code, id=stocktake.id, path=scope.path))
        audit.record(session, actor=actor, action="mark_missing", entity="box",
                     entity_id=box.code, before=before, after=boxes.snapshot(session, box))
        marked += 1
    _close(stocktake, StocktakeState.APPLIED, actor, groups)
    stocktake.moved, stocktake.marked_missing = moved, marked
    session.flush()
    audit.record(session, actor=actor, action="apply", entity="stocktake",
                 entity_id=str(stocktake.id),
                 after={"scope": scope.code, "moved": moved, "marked_missing": marked,
                        "found_again": found_again, "left": left,
                        **{g: len(groups[g]) for g in GROUPS}})
    log.info("%s applied stocktake %s: %d moved, %d marked missing", actor, stocktake.id, moved,
             marked)
    return stocktake, Applied(moved, marked, found_again, left)


def _found_again(session: Session, box: Box, actor: str) -> int:
    if box.status == BoxStatus.MISSING:
        place = session.get(Location, box.location_id) if box.location_id else None
        box.status = (BoxStatus.ON_SHELF if place is not None and place.kind in boxes.SHELVED_KINDS
                      else BoxStatus.IN_TRANSIT)
        session.flush()
        boxes.tell_changed(session, box, reason=REASON, by=actor)
    alarms.clear_condition(session, kind="box_missing", subject=box.code)
    return 1


def cancel(session: Session, stocktake_id: int, *, actor: str) -> Stocktake:
    """Stop a stocktake without changing the twin; its result is kept as it stood."""
    stocktake = open_by_id(session, stocktake_id)
    _close(stocktake, StocktakeState.CANCELLED, actor, result(session, stocktake))
    session.flush()
    audit.record(session, actor=actor, action="cancel", entity="stocktake",
                 entity_id=str(stocktake.id), after={"state": stocktake.state})
    return stocktake


def _close(stocktake: Stocktake, state: StocktakeState, actor: str, groups: dict) -> None:
    stocktake.state = state
    stocktake.closed_at = now()
    stocktake.closed_by = actor
    stocktake.result = groups


# ---------------------------------------------------------------- the report

REPORT_COLUMNS = ("group", "box", "expected", "expected_path", "seen", "seen_path")


def report_rows(shown: StocktakePublic) -> Iterable[tuple[str, str, str, str, str, str]]:
    """One row per box, group by group, as the CSV and the PDF list them."""
    for code in shown.found:
        yield "found", code, "", "", "", ""
    for item in shown.misplaced:
        yield ("misplaced", item.box, item.expected or "", item.expected_path or "", item.seen,
               item.seen_path or "")
    for code in shown.missing:
        yield "missing", code, "", "", "", ""
    for item in shown.unexpected:
        yield ("unexpected", item.box, item.expected or "", item.expected_path or "", item.seen,
               item.seen_path or "")
    for code in shown.on_loan:
        yield "on_loan", code, "", "", "", ""
    for code in shown.duplicates:
        yield "duplicates", code, "", "", "", ""


def report_csv(shown: StocktakePublic) -> str:
    """The result as CSV (UTF-8; open it with a BOM-aware reader for Chinese paths)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    writer.writerows(report_rows(shown))
    return out.getvalue()


# Both languages on paper: a report is filed and read by whoever audits the count.
_HEADINGS = {
    "found": "Found 在位", "misplaced": "Misplaced 错位", "missing": "Missing 缺失",
    "unexpected": "Unexpected 多出", "on_loan": "On loan 借出", "duplicates": "Duplicates 重复扫描",
}


def report_pdf(shown: StocktakePublic) -> bytes:
    """The result on A4, in the labels' embedded Noto Sans SC (Chinese paths print)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from labels.typefaces import pdf_fonts

    regular, _ = pdf_fonts("embedded")
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    canvas.setTitle(f"Stocktake {shown.id} 盘点报告")
    canvas.setCreator("archive-twin")
    _, height = A4
    left, line = 18 * mm, 5.2 * mm
    y = height - 20 * mm

    def write(text: str, *, size: float = 9.5, font: str = regular, indent: float = 0) -> None:
        nonlocal y
        if y < 18 * mm:
            canvas.showPage()
            y = height - 20 * mm
        canvas.setFont(font, size)
        canvas.drawString(left + indent, y, text)
        y -= line * size / 9.5

    write(f"Stocktake 盘点 {shown.id}", size=15)
    write(f"Scope 范围: {shown.scope}  {shown.scope_path}")
    write(f"State 状态: {shown.state}    Started 开始: {shown.started_at:%Y-%m-%d %H:%M} UTC "
          f"by {shown.started_by}")
    if shown.closed_at:
        write(f"Closed 结束: {shown.closed_at:%Y-%m-%d %H:%M} UTC by {shown.closed_by}")
    write(f"Expected 应有: {shown.expected}    Seen 实见: {shown.seen}    "
          + "    ".join(f"{_HEADINGS[g].split(' ')[0]}: {len(getattr(shown, g))}" for g in GROUPS))
    if shown.moved is not None:
        write(f"Applied 已应用: moved 移位 {shown.moved}, marked missing 标记缺失 "
              f"{shown.marked_missing}")
    for group in GROUPS:
        items = getattr(shown, group)
        y -= line / 2
        write(f"{_HEADINGS[group]} ({len(items)})", size=12)
        for item in items:
            if isinstance(item, str):
                write(item, indent=6 * mm)
            else:
                write(f"{item.box}   expected 应在: {item.expected or '—'} "
                      f"{item.expected_path or ''}", indent=6 * mm)
                write(f"seen 实见: {item.seen} {item.seen_path or ''}", indent=24 * mm)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
