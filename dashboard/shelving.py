"""The Shelve page's scans: the one scan pipeline in shelve mode, committed and told to the feed."""

from __future__ import annotations

from sqlmodel import Session

from server.services import boxes, scan
from server.services.codes import CodeScheme
from server.services.live import feed
from server.services.scan import ScanOutcome


def shelve_scan(
    session: Session, code: str, *, target: str | None, scheme: CodeScheme, clearance: str,
    user: str,
) -> ScanOutcome:
    """Handle one scan on the shelving page; commits a move and tells the live feed about it."""
    outcome = scan.handle(session, code, mode=scan.SHELVE, target=target, scheme=scheme,
                          clearance=clearance, user=user)
    session.commit()
    if outcome.action == scan.MOVED:
        box = boxes.by_code(session, outcome.box)
        feed.publish("box", boxes.news(box, location=outcome.location, path=outcome.location_path,
                                       at=outcome.at, reason="scan", by=user))
    return outcome
