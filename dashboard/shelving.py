"""Shelving by scanner: a location scan sets the target, each box scan after it moves the box there."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlmodel import Session

from server.services import boxes, scan
from server.services.codes import CodeScheme
from server.services.errors import Conflict, DomainError, Invalid, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShelveOutcome:
    """What one scan did: set the target, moved a box, or was refused (and why)."""

    code: str
    outcome: str  # "target", "moved", "already", "refused"
    reason: str | None = None  # for refusals: full, unknown, invalid, no_target, record, disposed
    detail: str | None = None  # the service's own words
    target: str | None = None
    target_path: str | None = None
    box: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the scan was refused."""
        return self.outcome != "refused"

    def as_dict(self) -> dict:
        """For the JSON answer."""
        return {**asdict(self), "ok": self.ok}


def shelve_scan(
    session: Session, code: str, *, target: str | None, scheme: CodeScheme, clearance: str,
    user: str,
) -> ShelveOutcome:
    """Handle one scan on the shelving page; commits a move and tells the live feed about it."""
    typed = code.strip()
    try:
        found = scan.resolve(session, typed, scheme=scheme, clearance=clearance)
    except NotFound as exc:
        return ShelveOutcome(typed, "refused", "unknown", exc.message, target=target)
    except Invalid as exc:
        return ShelveOutcome(typed, "refused", "invalid", exc.message, target=target)
    if found.kind == "location":
        place = found.location
        return ShelveOutcome(found.code, "target", target=place.code, target_path=place.path)
    if found.kind == "record":
        return ShelveOutcome(found.code, "refused", "record", target=target)
    if not target:
        return ShelveOutcome(found.code, "refused", "no_target", box=found.code)
    try:
        box, movement = boxes.move_box(
            session, found.code, to=target, reason="scan", user=user
        )
    except Conflict as exc:
        session.rollback()
        # check_room_for names the field "to"; the other conflict is a disposed box.
        reason = "full" if exc.field == "to" else "disposed"
        return ShelveOutcome(found.code, "refused", reason, exc.message, target=target,
                             box=found.code)
    except DomainError as exc:
        session.rollback()
        return ShelveOutcome(found.code, "refused", "other", exc.message, target=target,
                             box=found.code)
    shown = boxes.present(session, [box], scheme=scheme)[0]
    target_path, box_place = shown.location_path, shown.location
    session.commit()
    if movement is None:
        return ShelveOutcome(found.code, "already", target=box_place, target_path=target_path,
                             box=box.code)
    log.info("%s shelved %s at %s", user, box.code, box_place)
    return ShelveOutcome(found.code, "moved", target=box_place, target_path=target_path,
                         box=box.code)
