"""The Shelve page's scans: the one scan pipeline in shelve or stocktake mode, committed (its
news with it)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from dashboard import i18n
from server.models.stocktakes import StocktakeState
from server.services import scan, stocktake, translations
from server.services.codes import CodeScheme
from server.services.errors import DomainError
from server.services.requests import Policy
from server.services.scan import ScanOutcome

# The Shelve page's modes: shelving, counting a stocktake, and the lending desk's pick, check
# out and return.
MODES = (scan.SHELVE, scan.STOCKTAKE, scan.PICK, scan.CHECK_OUT, scan.RETURN)


def shelve_scan(
    session: Session, code: str, *, target: str | None, scheme: CodeScheme, clearance: str,
    user: str, mode: str = scan.SHELVE, stocktake_id: int | None = None,
    policy: Policy | None = None,
) -> ScanOutcome:
    """Handle one scan on the shelving page and commit what it did (a move announces itself).

    The page's modes are the pipeline's: shelve; stocktake, where the scan counts for the
    chosen stocktake and moves nothing (a stocktake that is gone or closed is a refusal saying
    so); and for lending pick, check out and return.
    """
    try:
        outcome = scan.handle(session, code, mode=mode, target=target, scheme=scheme,
                              clearance=clearance, user=user, stocktake_id=stocktake_id,
                              policy=policy)
    except DomainError as exc:
        session.rollback()
        return ScanOutcome(code.strip(), mode, scan.REFUSED, translations.message_of(exc), scan.OTHER,
                           location=target or None)
    session.commit()
    return outcome


def said_in_stocktake(t: Callable[..., str], outcome: ScanOutcome) -> str | None:
    """What a stocktake-mode outcome says on the page, or None for the words every mode shares."""
    if outcome.mode != scan.STOCKTAKE or not outcome.ok:
        return None
    if outcome.action == scan.TARGET:
        return t("scan.counting_at", path=i18n.place_path(t, outcome.location_path))
    if outcome.action == scan.DUPLICATE:
        return t("scan.duplicate")
    where = i18n.place_path(t, outcome.location_path) or t("stocktake.somewhere")
    if outcome.verdict == "unexpected" and outcome.expected_path is None:
        return t("scan.counted.unexpected_nowhere", path=where)
    return t(f"scan.counted.{outcome.verdict}", path=where,
             expected=i18n.place_path(t, outcome.expected_path))


def open_stocktakes(session: Session) -> list[tuple[int, str]]:
    """The open stocktakes to count for: (id, scope path), newest first."""
    rows, _ = stocktake.list_stocktakes(session, state=StocktakeState.OPEN, limit=100)
    return [(s.id or 0, stocktake.scope_of(session, s).path) for s in rows]
