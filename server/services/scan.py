"""The one scan pipeline: resolve any code, then do what the scan's mode says with it.

Every scanner goes through here: MQTT and serial scanners (through ingest), the dashboard's
Shelve page and the API (`GET /api/scan/{code}` resolves; `POST /api/scan` scans in a mode).
As InvenTree's scan_barcode + handle_barcode: `resolve()` says what a code names, and each mode
is one small action registered in ACTIONS. Only "shelve" exists yet; pick, check out, return and
stocktake come with lending, each one more function in that dict.

Whatever the mode, a scan ends in one ScanOutcome whose `action` is one of ACTION_WORDS and,
when refused, whose `reason` is one of REASONS. Those words are what the MQTT scan result,
the API and the dashboard say, so one situation is called the same everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from labels.identifiers import BOX, InvalidIdentifier, identify, scannable
from server.clock import as_utc
from server.models.holdings import Box, BoxStatus
from server.models.places import Location
from server.models.scans import ScanResult
from server.services import boxes, locations, records
from server.services.codes import CodeScheme
from server.services.errors import Conflict, DomainError, Invalid, NotFound

log = logging.getLogger(__name__)

# What a scan did (ScanOutcome.action).
TARGET = "target"  # a location was scanned: the boxes scanned next go there
MOVED = "moved"  # the box was moved to the target
ALREADY_THERE = "already_there"  # the box was at the target already; nothing changed
REFUSED = "refused"  # nothing changed; `reason` says why
ACTION_WORDS = (TARGET, MOVED, ALREADY_THERE, REFUSED)

# Why a scan was refused (ScanOutcome.reason).
INVALID = "invalid"  # the text cannot be a code, or is a malformed / foreign identifier
UNKNOWN = "unknown"  # a well-formed code that names nothing (you may see)
NO_TARGET = "no_target"  # a box before any location was scanned
RECORD = "record"  # a record's reference code where a box was wanted
FULL = "full"  # the target location has no room for the box
DISPOSED = "disposed"  # the box was disposed of and moves no more
OTHER = "other"  # any other refusal of the archive; the message says which
REASONS = (INVALID, UNKNOWN, NO_TARGET, RECORD, FULL, DISPOSED, OTHER)

SHELVE = "shelve"
# A device's operator is a name it sends, not a signed-in person: it sees public records only,
# so a scanner never reveals that a classified record exists.
DEVICE_CLEARANCE = "public"
TARGET_TTL_S = 30 * 60  # a scanner's target is forgotten after half an hour of silence

# Built once (the scan is the hottest path there is; see boxes.present).
_BOX_BY_CODE = select(Box).where(Box.code == bindparam("code"))
_LOCATION_BY_CODE = select(Location).where(Location.code == bindparam("code"))


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What one scan did, said so the person holding the scanner can act on it."""

    code: str  # the code it named (canonical), or the text as scanned when it named nothing
    mode: str
    action: str  # one of ACTION_WORDS
    message: str  # in English, with the specifics (which slot is full, and of what)
    reason: str | None = None  # one of REASONS when refused
    box: str | None = None
    location: str | None = None  # the target in force after this scan
    location_path: str | None = None
    at: datetime | None = None  # when the box moved

    @property
    def ok(self) -> bool:
        """True unless the scan was refused."""
        return self.action != REFUSED

    def as_dict(self) -> dict:
        """The outcome as JSON: every field, plus `ok`."""
        return {"code": self.code, "mode": self.mode, "action": self.action, "ok": self.ok,
                "reason": self.reason, "message": self.message, "box": self.box,
                "location": self.location, "location_path": self.location_path,
                "at": as_utc(self.at).isoformat() if self.at else None}


@dataclass(frozen=True, slots=True)
class Scanning:
    """Who scans, how and toward what: what an action needs besides the code's meaning."""

    mode: str
    target: Location | None
    asked_target: str | None  # the target as the caller sent it (it may name no location)
    user: str | None
    device: str | None
    scheme: CodeScheme

    def refused(self, code: str, reason: str, message: str, *, box: str | None = None) -> ScanOutcome:
        """A refusal that leaves the target as it was."""
        return ScanOutcome(code, self.mode, REFUSED, message, reason, box=box,
                           location=self.target.code if self.target else None,
                           location_path=self.target.path if self.target else None)


Action = Callable[[Session, ScanResult, Scanning], ScanOutcome]


def resolve(session: Session, text: str, *, scheme: CodeScheme, clearance: str) -> ScanResult:
    """Say what a scanned or typed code names: a box, a location or a record.

    Raises Invalid (422) for text that cannot be any code (labels.identifiers.scannable says
    what a code looks like) or that is a malformed or another organisation's identifier, and
    NotFound (404) for a code that names nothing the caller may see.
    """
    try:
        wanted = scannable(text)
        found = identify(
            wanted, company_prefix=scheme.company_prefix, site_number=scheme.site_number
        )
    except InvalidIdentifier as exc:
        raise Invalid(str(exc), field="code") from exc
    if found is None:
        record = records.by_reference(session, wanted, clearance=clearance)
        return ScanResult(
            kind="record", code=record.reference_code, matched="reference_code",
            record=records.present(session, [record])[0],
        )
    if found.kind == BOX:
        box = session.exec(_BOX_BY_CODE, params={"code": found.code}).first()
        if box is None:
            raise NotFound(f"{found.code} is a box code, but no box is registered under it")
        return ScanResult(
            kind="box", code=box.code, matched=found.form,
            box=boxes.present(session, [box], scheme=scheme, clearance=clearance)[0],
        )
    place = session.exec(_LOCATION_BY_CODE, params={"code": found.code}).first()
    if place is None:
        raise NotFound(f"{found.code} is a location code, but no location has it")
    return ScanResult(
        kind="location", code=place.code, matched=found.form,
        location=locations.present(session, [place], scheme=scheme)[0],
    )


def handle(
    session: Session, code: str, *, mode: str = SHELVE, target: str | None = None,
    scheme: CodeScheme, clearance: str, user: str | None = None, device: str | None = None,
) -> ScanOutcome:
    """Resolve one scanned code and apply the mode's action; a refusal is an outcome, not an error.

    The action runs in a savepoint: a refused scan leaves nothing behind, and the caller's
    transaction (ingest's batch, the page's request) goes on. The caller commits.
    """
    action = ACTIONS.get(mode)
    if action is None:
        raise Invalid(f"no scan mode {mode!r}; the modes are {', '.join(ACTIONS)}", field="mode")
    place = None
    if target:
        place = session.exec(_LOCATION_BY_CODE, params={"code": target.strip().upper()}).first()
    scanning = Scanning(mode, place, target.strip() if target else None, user, device, scheme)
    typed = code.strip()
    try:
        found = resolve(session, typed, scheme=scheme, clearance=clearance)
    except Invalid as exc:
        return scanning.refused(typed, INVALID, exc.message)
    except NotFound as exc:
        return scanning.refused(typed, UNKNOWN, exc.message)
    try:
        with session.begin_nested():
            return action(session, found, scanning)
    except DomainError as exc:
        return scanning.refused(found.code, OTHER, exc.message,
                                box=found.code if found.kind == "box" else None)


def shelve(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Shelve mode: a location becomes the target; each box after it is moved there."""
    if found.kind == "location":
        place = found.location
        assert place is not None, "the resolver fills in the location it matched"
        return ScanOutcome(found.code, scanning.mode, TARGET, f"now shelving into {place.path}",
                           location=place.code, location_path=place.path)
    if found.kind == "record":
        assert found.record is not None, "the resolver fills in the record it matched"
        where = f" ({found.record.box})" if found.record.box else ""
        return scanning.refused(found.code, RECORD,
                                f"{found.code} is a record, not a box: scan its box's label{where}")
    target = scanning.target
    if target is None:
        stale = (f"the target {scanning.asked_target} is no location; "
                 if scanning.asked_target else "")
        return scanning.refused(found.code, NO_TARGET,
                                f"{stale}scan a location first, then the boxes to put there",
                                box=found.code)
    assert found.box is not None, "the resolver fills in the box it matched"
    if found.box.status == BoxStatus.DISPOSED:
        return scanning.refused(found.code, DISPOSED,
                                f"box {found.code} was disposed of; it cannot be shelved",
                                box=found.code)
    try:
        box, movement = boxes.move_box(session, found.code, to=target.code, reason="scan",
                                       user=scanning.user, device=scanning.device)
    except Conflict as exc:
        if exc.field != "to":  # check_room_for names the target: anything else is not "full"
            raise
        return scanning.refused(found.code, FULL, exc.message, box=found.code)
    if movement is None:
        return ScanOutcome(box.code, scanning.mode, ALREADY_THERE,
                           f"{box.code} is already in {target.path}", box=box.code,
                           location=target.code, location_path=target.path)
    log.info("%s shelved %s at %s", scanning.user or scanning.device, box.code, target.code)
    return ScanOutcome(box.code, scanning.mode, MOVED, f"{box.code} shelved in {target.path}",
                       box=box.code, location=target.code, location_path=target.path,
                       at=movement.at)


ACTIONS: dict[str, Action] = {SHELVE: shelve}


class ScanTargets:
    """Each scanner's current target location (the last location code it scanned)."""

    def __init__(self) -> None:
        self._targets: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def set(self, device: str, code: str) -> None:
        """Remember the location the scanner scanned last."""
        with self._lock:
            self._targets[device] = (code, time.monotonic())

    def get(self, device: str) -> str | None:
        """The scanner's target location code, unless it went stale."""
        with self._lock:
            found = self._targets.get(device)
            if found is None or time.monotonic() - found[1] > TARGET_TTL_S:
                self._targets.pop(device, None)
                return None
            return found[0]


def from_device(
    session: Session, targets: ScanTargets, *, device: str, code: str, operator: str | None,
    scheme: CodeScheme, mode: str = SHELVE,
) -> ScanOutcome:
    """One scan from a scanner on the wire (MQTT or serial); its target is kept per device."""
    outcome = handle(session, code, mode=mode, target=targets.get(device), scheme=scheme,
                     clearance=DEVICE_CLEARANCE, user=operator, device=device)
    if outcome.action == TARGET and outcome.location is not None:
        targets.set(device, outcome.location)
    return outcome

