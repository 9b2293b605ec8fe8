"""The scan endpoint: any code to what it names."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import Reader, SchemeDep, SessionDep
from server.models.scans import ScanResult
from server.services import scan

router = APIRouter(prefix="/api/scan", tags=["scan"])


@router.get(
    "/{code:path}",
    response_model=ScanResult,
    responses={404: {"description": "the code names nothing"}, 422: {"description": "not a code"}},
)
def resolve(code: str, session: SessionDep, scheme: SchemeDep, user: Reader) -> ScanResult:
    """Resolve a box or location code, its QR URL, an EPC (hex or URI) or a reference code."""
    return scan.resolve(session, code, scheme=scheme, clearance=user.clearance)
