"""The Shelve page's scans: the one scan pipeline in shelve mode, committed (its news with it)."""

from __future__ import annotations

from sqlmodel import Session

from server.services import scan
from server.services.codes import CodeScheme
from server.services.requests import Policy
from server.services.scan import ScanOutcome


def shelve_scan(
    session: Session, code: str, *, target: str | None, scheme: CodeScheme, clearance: str,
    user: str, mode: str = scan.SHELVE, policy: Policy | None = None,
) -> ScanOutcome:
    """Handle one scan on the shelving page and commit what it did (a move announces itself).

    The page's modes are the pipeline's: shelve, and for lending pick, check out and return.
    """
    outcome = scan.handle(session, code, mode=mode, target=target, scheme=scheme,
                          clearance=clearance, user=user, policy=policy)
    session.commit()
    return outcome
