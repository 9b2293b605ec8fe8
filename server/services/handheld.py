"""Handheld scanning: scan a location, then box, box, box — each box is shelved there."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlmodel import Session, select

from labels.identifiers import BOX, InvalidIdentifier, identify
from server.models.places import Location
from server.services import boxes
from server.services.codes import CodeScheme
from server.services.errors import DomainError

TARGET_TTL_S = 30 * 60  # a target forgotten after half an hour of silence


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What a scan did, said so the person holding the scanner can act on it."""

    device: str
    code: str
    ok: bool
    action: str  # "target", "shelved", "already_there", "refused"
    message: str
    box: str | None = None
    location: str | None = None


class ScanTargets:
    """Each scanner's current target location (the last location code it scanned)."""

    def __init__(self) -> None:
        self._targets: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def set(self, device: str, code: str, path: str) -> None:
        """Remember the location the scanner scanned last."""
        with self._lock:
            self._targets[device] = (code, path, time.monotonic())

    def get(self, device: str) -> tuple[str, str] | None:
        """The scanner's target (code, path), unless it went stale."""
        with self._lock:
            found = self._targets.get(device)
            if found is None or time.monotonic() - found[2] > TARGET_TTL_S:
                self._targets.pop(device, None)
                return None
            return found[0], found[1]


def handle_scan(
    session: Session, targets: ScanTargets, *, device: str, code: str, operator: str | None,
    scheme: CodeScheme,
) -> ScanOutcome:
    """Apply one scanned code: a location becomes the target, a box is shelved at the target."""
    def refused(message: str, **extra) -> ScanOutcome:
        return ScanOutcome(device, code, False, "refused", message, **extra)

    try:
        found = identify(code, company_prefix=scheme.company_prefix, site_number=scheme.site_number)
    except InvalidIdentifier as exc:
        return refused(f"not a valid code: {exc}")
    if found is None:
        return refused(f"{code.strip()} is not a box or location code; scan the box's label")
    if found.kind != BOX:
        place = session.exec(select(Location).where(Location.code == found.code)).first()
        if place is None:
            return refused(f"{found.code} is a location code, but no location has it")
        targets.set(device, place.code, place.path)
        return ScanOutcome(device, code, True, "target", f"now shelving into {place.path}",
                           location=place.code)
    target = targets.get(device)
    if target is None:
        return refused("scan a location first, then the boxes to put there", box=found.code)
    try:
        box, moved = boxes.move_box(session, found.code, to=target[0], reason="scan",
                                    user=operator, device=device)
    except DomainError as exc:
        return refused(exc.message, box=found.code, location=target[0])
    if moved is None:
        return ScanOutcome(device, code, True, "already_there", f"{box.code} is already in {target[1]}",
                           box=box.code, location=target[0])
    return ScanOutcome(device, code, True, "shelved", f"{box.code} shelved in {target[1]}",
                       box=box.code, location=target[0])
