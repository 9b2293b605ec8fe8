"""The scan endpoints: any code to what it names, and one scan in a mode."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server.api.deps import Mover, Reader, SchemeDep, SessionDep, SettingsDep
from server.models.devices import Device
from server.models.scans import ScanIn, ScanOutcomePublic, ScanResult
from server.services import scan
from server.services.errors import Invalid
from server.services.requests import Policy

router = APIRouter(prefix="/api/scan", tags=["scan"])

_NOT_A_CODE = (
    "the text cannot be a code: characters no code holds (spaces inside, control characters, "
    '< > " { } | \\ ^ `), more than 300 characters, or a malformed or another organisation\'s '
    "identifier; `detail` says what a code looks like"
)


@router.post(
    "",
    response_model=ScanOutcomePublic,
    responses={422: {"description": _NOT_A_CODE + "; the body is the refused outcome too"}},
)
def scan_in_mode(body: ScanIn, session: SessionDep, scheme: SchemeDep,
                 user: Mover, settings: SettingsDep) -> ScanOutcomePublic | JSONResponse:
    """Scan one code in a mode (`shelve`: a location sets the target, a box is moved to it;
    `stocktake` with `stocktake`: a location sets where boxes are seen, a box is counted;
    `pick`, `checkout`, `return` for lending: docs/lending.md).

    With `device`, a handheld that counts an open stocktake, the scan counts for that
    stocktake and moves nothing, whatever the mode (`action` counted or duplicate).

    Lending modes (`pick`, `checkout`, `return`) take box codes: the box is picked for, or
    checked out on, its approved request, or taken back. In `shelve`, a lent box is returned
    first (`returned_and_shelved`), so no loan stays open on a shelved box.

    The answer is the scan's outcome, in the words every scanner hears: `action` is target,
    moved, already_there or refused, and a refusal's `reason` is unknown, no_target, record,
    full, disposed or other (200 all of them: the scan was heard, the archive said no).
    Text that cannot be a code, or a malformed identifier, is refused with reason `invalid`
    and answers 422 with `detail` and `field: "code"`. The caller keeps the target: send
    back the `location` of a `target` outcome with the boxes after it.
    """
    if body.device and session.get(Device, body.device) is None:
        raise Invalid("no device is registered with the id {device!r}",
                      device=body.device, field="device")
    outcome = scan.handle(session, body.code, mode=body.mode, target=body.target, scheme=scheme,
                          clearance=user.clearance, user=user.username, device=body.device,
                          stocktake_id=body.stocktake, policy=Policy.from_settings(settings))
    session.commit()
    shown = ScanOutcomePublic(**outcome.as_dict())
    if outcome.reason == scan.INVALID:
        return JSONResponse(status_code=422, content={
            **shown.model_dump(mode="json"), "detail": outcome.message, "field": "code"})
    return shown


@router.get(
    "/{code:path}",
    response_model=ScanResult,
    responses={404: {"description": "the code names nothing"}, 422: {"description": _NOT_A_CODE}},
)
def resolve(code: str, session: SessionDep, scheme: SchemeDep, user: Reader) -> ScanResult:
    """Resolve a box or location code, its QR URL, an EPC (hex or URI) or a reference code.

    What can be a code (labels.identifiers.scannable): after surrounding whitespace is
    removed, 1 to 300 printable characters with no space inside and none of
    `< > " { } | \\ ^ \\``. Anything else answers 422 with `field: "code"`, as does a
    malformed or foreign identifier (B123, another organisation's EPC); a well-formed code
    that names nothing answers 404.
    """
    return scan.resolve(session, code, scheme=scheme, clearance=user.clearance)

