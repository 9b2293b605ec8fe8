"""The one scan pipeline: resolve any code, then do what the scan's mode says with it.

Every scanner goes through here: MQTT and serial scanners (through ingest), the dashboard's
Shelve page and the API (`GET /api/scan/{code}` resolves; `POST /api/scan` scans in a mode).
As InvenTree's scan_barcode + handle_barcode: `resolve()` says what a code names, and each mode
is one small action registered in ACTIONS: "shelve"; "stocktake" (counting; it moves nothing);
and for lending "pick", "checkout" and "return" (services/requests.py and services/loans.py hold
their rules). A device that counts an open stocktake (server.services.stocktake.counting) scans
in stocktake mode whatever mode it asked for.

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
from server.models.stocktakes import Stocktake
from server.services import boxes, loans, locations, records, requests, stocktake
from server.services.codes import CodeScheme
from server.services.errors import Conflict, DomainError, Invalid, NotFound
from server.services.translations import Message, message_of, said

log = logging.getLogger(__name__)

# What a scan did (ScanOutcome.action).
TARGET = "target"  # a location was scanned: the boxes scanned next go there
MOVED = "moved"  # the box was moved to the target
ALREADY_THERE = "already_there"  # the box was at the target already; nothing changed
REFUSED = "refused"  # nothing changed; `reason` says why
RETURNED_AND_SHELVED = "returned_and_shelved"  # shelve mode: a lent box, returned, then shelved
PICKED = "picked"  # pick mode: the box is being retrieved for its approved request
CHECKED_OUT = "checked_out"  # check-out mode: the box went out on its approved request
RETURNED = "returned"  # return mode: the loan ended; the box is in transit to its home
LENDING_ACTIONS = (RETURNED_AND_SHELVED, PICKED, CHECKED_OUT, RETURNED)
COUNTED = "counted"  # stocktake: the box was counted where it was seen (moved nothing)
DUPLICATE = "duplicate"  # stocktake: the box had been counted already; counted once
ACTION_WORDS = (TARGET, MOVED, ALREADY_THERE, REFUSED, COUNTED, DUPLICATE, *LENDING_ACTIONS)

# Why a scan was refused (ScanOutcome.reason).
INVALID = "invalid"  # the text cannot be a code, or is a malformed / foreign identifier
UNKNOWN = "unknown"  # a well-formed code that names nothing (you may see)
NO_TARGET = "no_target"  # a box before any location was scanned
RECORD = "record"  # a record's reference code where a box was wanted
FULL = "full"  # the target location has no room for the box
DISPOSED = "disposed"  # the box was disposed of and moves no more
OTHER = "other"  # any other refusal of the archive; the message says which
NO_REQUEST = "no_request"  # pick / check out: no approved request waits for this box
NOT_ON_LOAN = "not_on_loan"  # return: the box is not out
NOT_A_BOX = "not_a_box"  # pick, check out, return: a location was scanned, a box was wanted
LENDING_REASONS = (NO_REQUEST, NOT_ON_LOAN, NOT_A_BOX)
REASONS = (INVALID, UNKNOWN, NO_TARGET, RECORD, FULL, DISPOSED, OTHER, *LENDING_REASONS)

SHELVE = "shelve"
STOCKTAKE = "stocktake"
PICK = "pick"
CHECK_OUT = "checkout"
RETURN = "return"
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
    said: Message  # with the specifics (which slot is full, and of what); `message` in English
    reason: str | None = None  # one of REASONS when refused
    box: str | None = None
    location: str | None = None  # the target in force after this scan
    location_path: str | None = None
    at: datetime | None = None  # when the box moved
    # stocktake mode: how the counted box stands (stocktake.FOUND, MISPLACED, UNEXPECTED,
    # ON_LOAN) and where the twin has it
    verdict: str | None = None
    expected: str | None = None
    expected_path: str | None = None
    stocktake: int | None = None

    @property
    def message(self) -> str:
        """What the scan did, in English (MQTT, the JSON API, logs)."""
        return self.said.english

    @property
    def ok(self) -> bool:
        """True unless the scan was refused."""
        return self.action != REFUSED

    def as_dict(self) -> dict:
        """The outcome as JSON: every field, plus `ok`."""
        return {"code": self.code, "mode": self.mode, "action": self.action, "ok": self.ok,
                "reason": self.reason, "message": self.message, "box": self.box,
                "location": self.location, "location_path": self.location_path,
                "at": as_utc(self.at).isoformat() if self.at else None,
                "verdict": self.verdict, "expected": self.expected,
                "expected_path": self.expected_path, "stocktake": self.stocktake}


@dataclass(frozen=True, slots=True)
class Scanning:
    """Who scans, how and toward what: what an action needs besides the code's meaning."""

    mode: str
    target: Location | None
    asked_target: str | None  # the target as the caller sent it (it may name no location)
    user: str | None
    device: str | None
    scheme: CodeScheme
    counting: Stocktake | None = None  # stocktake mode: the stocktake the scans count for
    policy: requests.Policy = requests.DEFAULT_POLICY

    @property
    def actor(self) -> str:
        """Who did it, for loans and the audit log: the person, else the device."""
        return self.user or self.device or "scanner"

    def refused(self, code: str, reason: str, why: Message | DomainError, *,
                box: str | None = None) -> ScanOutcome:
        """A refusal that leaves the target as it was."""
        message = why if isinstance(why, Message) else message_of(why)
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
            raise NotFound("{code} is a box code, but no box is registered under it",
                           code=found.code)
        return ScanResult(
            kind="box", code=box.code, matched=found.form,
            box=boxes.present(session, [box], scheme=scheme, clearance=clearance)[0],
        )
    place = session.exec(_LOCATION_BY_CODE, params={"code": found.code}).first()
    if place is None:
        raise NotFound("{code} is a location code, but no location has it",
                       code=found.code)
    return ScanResult(
        kind="location", code=place.code, matched=found.form,
        location=locations.present(session, [place], scheme=scheme)[0],
    )


def handle(
    session: Session, code: str, *, mode: str = SHELVE, target: str | None = None,
    scheme: CodeScheme, clearance: str, user: str | None = None, device: str | None = None,
    stocktake_id: int | None = None, policy: requests.Policy | None = None,
) -> ScanOutcome:
    """Resolve one scanned code and apply the mode's action; a refusal is an outcome, not an error.

    The action runs in a savepoint: a refused scan leaves nothing behind, and the caller's
    transaction (ingest's batch, the page's request) goes on. The caller commits.
    A scan from a device that counts an open stocktake is counted for it (stocktake mode);
    stocktake mode otherwise needs `stocktake_id` (NotFound, or Conflict when it is not open).
    """
    counting = None
    if device and mode != STOCKTAKE:
        counting = stocktake.counting(session, device)
        if counting is not None:
            mode = STOCKTAKE
    if mode == STOCKTAKE and counting is None:
        if stocktake_id is not None:
            counting = stocktake.open_by_id(session, stocktake_id)
        elif device:
            counting = stocktake.counting(session, device)
        if counting is None:
            raise Invalid("stocktake mode counts for a stocktake: say which one",
                          field="stocktake")
    action = ACTIONS.get(mode)
    if action is None:
        raise Invalid("no scan mode {mode!r}; the modes are {actions}",
                      mode=mode, actions=', '.join(ACTIONS), field="mode")
    place = None
    if target:
        place = session.exec(_LOCATION_BY_CODE, params={"code": target.strip().upper()}).first()
    scanning = Scanning(mode, place, target.strip() if target else None, user, device, scheme,
                        counting, policy or requests.DEFAULT_POLICY)
    typed = code.strip()
    try:
        found = resolve(session, typed, scheme=scheme, clearance=clearance)
    except Invalid as exc:
        return scanning.refused(typed, INVALID, exc)
    except NotFound as exc:
        return scanning.refused(typed, UNKNOWN, exc)
    try:
        with session.begin_nested():
            return action(session, found, scanning)
    except DomainError as exc:
        return scanning.refused(found.code, OTHER, exc,
                                box=found.code if found.kind == "box" else None)


def shelve(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Shelve mode: a location becomes the target; each box after it is moved there."""
    if found.kind == "location":
        place = found.location
        assert place is not None, "the resolver fills in the location it matched"
        return ScanOutcome(found.code, scanning.mode, TARGET,
                           said("now shelving into {path}", path=place.path),
                           location=place.code, location_path=place.path)
    if found.kind == "record":
        assert found.record is not None, "the resolver fills in the record it matched"
        return scanning.refused(found.code, RECORD, _a_record(found.code, found.record.box))
    target = scanning.target
    if target is None:
        why = (said("the target {target} is no location; scan a location first, then the boxes "
                    "to put there", target=scanning.asked_target) if scanning.asked_target
               else said("scan a location first, then the boxes to put there"))
        return scanning.refused(found.code, NO_TARGET, why, box=found.code)
    assert found.box is not None, "the resolver fills in the box it matched"
    if found.box.status == BoxStatus.DISPOSED:
        return scanning.refused(found.code, DISPOSED,
                                said("box {code} was disposed of; it cannot be shelved",
                                     code=found.code),
                                box=found.code)
    if found.box.status == BoxStatus.ON_LOAN:
        return _return_and_shelve(session, found.code, target, scanning)
    try:
        box, movement = boxes.move_box(session, found.code, to=target.code, reason="scan",
                                       user=scanning.user, device=scanning.device)
    except Conflict as exc:
        if exc.field != "to":  # check_room_for names the target: anything else is not "full"
            raise
        return scanning.refused(found.code, FULL, exc, box=found.code)
    if movement is None:
        return ScanOutcome(box.code, scanning.mode, ALREADY_THERE,
                           said("{code} is already in {path}", code=box.code, path=target.path),
                           box=box.code,
                           location=target.code, location_path=target.path)
    log.info("%s shelved %s at %s", scanning.user or scanning.device, box.code, target.code)
    return ScanOutcome(box.code, scanning.mode, MOVED,
                       said("{code} shelved in {path}", code=box.code, path=target.path),
                       box=box.code, location=target.code, location_path=target.path,
                       at=movement.at)


def count(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Stocktake mode: a location sets where the boxes after it are seen; a box is counted
    there (before any location: somewhere in the scope). Nothing moves."""
    counting = scanning.counting
    assert counting is not None, "handle() finds the stocktake before stocktake mode runs"
    scope = stocktake.scope_of(session, counting)
    if found.kind == "location":
        place = session.exec(_LOCATION_BY_CODE, params={"code": found.code}).one()
        stocktake.check_within(scope, place)
        return ScanOutcome(found.code, scanning.mode, TARGET,
                           said("counting at {path}", path=place.path),
                           location=place.code, location_path=place.path,
                           stocktake=counting.id)
    if found.kind == "record":
        assert found.record is not None, "the resolver fills in the record it matched"
        return scanning.refused(found.code, RECORD, _a_record(found.code, found.record.box))
    target = scanning.target
    if target is None and scanning.asked_target:
        return scanning.refused(found.code, NO_TARGET,
                                said("the location {target} is no location; scan a location "
                                     "inside the stocktake's scope",
                                     target=scanning.asked_target), box=found.code)
    if target is not None and not stocktake.within(scope, target):
        return scanning.refused(found.code, NO_TARGET,
                                said("{code} ({path}) is outside this stocktake's scope "
                                     "({scope}): scan a location inside it", code=target.code,
                                     path=target.path, scope=scope.path),
                                box=found.code)
    box = session.exec(_BOX_BY_CODE, params={"code": found.code}).one()
    counted = stocktake.count(session, counting, box=box, seen=target,
                              source=stocktake.SCAN, by=scanning.user or scanning.device)
    if counted.duplicate:
        action, words = DUPLICATE, said("{code} was counted already, at {seen}",
                                        code=box.code, seen=counted.seen_path)
    else:
        action, words = COUNTED, _counted_words(box.code, counted)
    return ScanOutcome(box.code, scanning.mode, action, words, box=box.code,
                       location=target.code if target else None,
                       location_path=target.path if target else None,
                       verdict=counted.verdict, expected=counted.expected,
                       expected_path=counted.expected_path, stocktake=counting.id)


def _a_record(code: str, box: str | None) -> Message:
    if box:
        return said("{code} is a record, not a box: scan its box's label ({box})", code=code,
                    box=box)
    return said("{code} is a record, not a box: scan its box's label", code=code)


def _counted_words(code: str, counted: stocktake.Counted) -> Message:
    seen = counted.seen_path
    if counted.verdict == stocktake.FOUND:
        return said("{code} counted: in place ({seen})", code=code, seen=seen)
    if counted.verdict == stocktake.MISPLACED:
        return said("{code} counted at {seen}; the twin has it at {expected}", code=code,
                    seen=seen, expected=counted.expected_path)
    if counted.verdict == stocktake.ON_LOAN:
        return said("{code} counted at {seen}; the twin has it on loan", code=code, seen=seen)
    if counted.expected_path is None:
        return said("{code} counted at {seen}; not expected here (the twin has it: nowhere)",
                    code=code, seen=seen)
    return said("{code} counted at {seen}; not expected here (the twin has it: {expected})",
                code=code, seen=seen, expected=counted.expected_path)


def count_all(session: Session, codes: list[str], *, stocktake_id: int, scheme: CodeScheme,
              clearance: str, user: str) -> tuple[int, int]:
    """Count a list of codes in the order scanned for a stocktake: (boxes seen first, duplicates).

    All or nothing: a code that is refused (names nothing, a record, a location outside the
    scope) raises Invalid naming it and its place in the list; the caller rolls back.
    """
    stocktake.open_by_id(session, stocktake_id)
    seen = duplicates = 0
    target: str | None = None
    for index, code in enumerate(codes):
        outcome = handle(session, code, mode=STOCKTAKE, target=target, scheme=scheme,
                         clearance=clearance, user=user, stocktake_id=stocktake_id)
        if not outcome.ok:
            raise Invalid("codes[{index}] {code!r}: {message}; nothing of this list was counted",
                          index=index, code=code.strip(), message=outcome.message, field="codes")
        if outcome.action == TARGET:
            target = outcome.location
        elif outcome.action == DUPLICATE:
            duplicates += 1
        else:
            seen += 1
    return seen, duplicates


def _return_and_shelve(session: Session, code: str, target: Location,
                       scanning: Scanning) -> ScanOutcome:
    # A lent box on a shelf with its loan still open is a ghost loan: shelving a lent box
    # first takes it back (the loan ends, the request is returned, the hold queue is told).
    try:
        box, loan = loans.give_back(session, code, to=target.code, actor=scanning.actor,
                                    light_seconds=scanning.policy.light_seconds)
    except Conflict as exc:
        if exc.field != "to":
            raise
        return scanning.refused(code, FULL, exc, box=code)
    log.info("%s returned %s from %s and shelved it at %s", scanning.actor, box.code,
             loan.borrower, target.code)
    return ScanOutcome(box.code, scanning.mode, RETURNED_AND_SHELVED,
                       said("{code} was on loan to {borrower}: returned, and shelved in {path}",
                            code=box.code, borrower=loan.borrower, path=target.path),
                       box=box.code, location=target.code,
                       location_path=target.path, at=loan.returned_at)


def _wants_box(found: ScanResult, scanning: Scanning) -> ScanOutcome | None:
    """For the lending modes: a refusal unless the code named a box."""
    if found.kind == "record":
        assert found.record is not None, "the resolver fills in the record it matched"
        return scanning.refused(found.code, RECORD, _a_record(found.code, found.record.box))
    if found.kind == "location":
        return scanning.refused(found.code, NOT_A_BOX,
                                said("{code} is a location: in this mode scan boxes",
                                     code=found.code))
    return None


def pick(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Pick mode: the box is taken off its shelf for its approved request."""
    refused = _wants_box(found, scanning)
    if refused is not None:
        return refused
    try:
        box, request = requests.pick(session, found.code, request_id=None, actor=scanning.actor)
    except Conflict as exc:
        if exc.field != "request":
            raise
        return scanning.refused(found.code, NO_REQUEST, exc, box=found.code)
    return ScanOutcome(box.code, scanning.mode, PICKED,
                       said("{code} picked for request {id} ({borrower})", code=box.code,
                            id=request.id, borrower=request.borrower),
                       box=box.code)


def check_out(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Check-out mode: the box goes out on its approved request."""
    refused = _wants_box(found, scanning)
    if refused is not None:
        return refused
    try:
        box, loan = loans.check_out(session, found.code, request_id=None,
                                    actor=scanning.actor, policy=scanning.policy)
    except Conflict as exc:
        if exc.field != "request":
            raise
        return scanning.refused(found.code, NO_REQUEST, exc, box=found.code)
    return ScanOutcome(box.code, scanning.mode, CHECKED_OUT,
                       said("{code} checked out to {borrower}, due back {due_on}",
                            code=box.code, borrower=loan.borrower, due_on=loan.due_on.isoformat()),
                       box=box.code, at=loan.lent_at)


def give_back(session: Session, found: ScanResult, scanning: Scanning) -> ScanOutcome:
    """Return mode: the loan ends; the box is in transit and its home slot lights up."""
    refused = _wants_box(found, scanning)
    if refused is not None:
        return refused
    assert found.box is not None
    if found.box.status != BoxStatus.ON_LOAN:
        return scanning.refused(found.code, NOT_ON_LOAN,
                                said("box {code} is not on loan", code=found.code),
                                box=found.code)
    box, loan = loans.give_back(session, found.code, to=None, actor=scanning.actor,
                                light_seconds=scanning.policy.light_seconds)
    words = (said("{code} returned from {borrower}; take it to {home}", code=box.code,
                  borrower=loan.borrower, home=found.box.home_path) if found.box.home_path
             else said("{code} returned from {borrower}", code=box.code, borrower=loan.borrower))
    return ScanOutcome(box.code, scanning.mode, RETURNED, words, box=box.code,
                       location_path=found.box.home_path, at=loan.returned_at)


ACTIONS: dict[str, Action] = {SHELVE: shelve, STOCKTAKE: count, PICK: pick,
                              CHECK_OUT: check_out, RETURN: give_back}


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
    """One scan from a scanner on the wire (MQTT or serial); its target is kept per device.

    While the device counts a stocktake its target (where boxes are seen) is kept apart from
    its shelving target, so a location shelved into before never counts for the stocktake.
    """
    counting = stocktake.counting(session, device)
    key = device if counting is None else f"{device}\nstocktake {counting.id}"
    outcome = handle(session, code, mode=STOCKTAKE if counting else mode, target=targets.get(key),
                     scheme=scheme, clearance=DEVICE_CLEARANCE, user=operator, device=device,
                     stocktake_id=counting.id if counting else None)
    if outcome.action == TARGET and outcome.location is not None:
        targets.set(key, outcome.location)
    return outcome
