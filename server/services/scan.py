"""The scan resolver: any code a person or a reader can produce, to the thing it names."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, select

from labels.identifiers import BOX, InvalidIdentifier, identify
from server.models.holdings import Box
from server.models.places import Location
from server.models.scans import ScanResult
from server.services import boxes, locations, records
from server.services.codes import CodeScheme
from server.services.errors import Invalid, NotFound

MAX_CODE_LENGTH = 300
# Built once (the scan is the hottest path there is; see boxes.present).
_BOX_BY_CODE = select(Box).where(Box.code == bindparam("code"))


def resolve(session: Session, text: str, *, scheme: CodeScheme, clearance: str) -> ScanResult:
    """Say what a scanned or typed code names: a box, a location or a record."""
    wanted = text.strip()
    if not wanted or len(wanted) > MAX_CODE_LENGTH or not wanted.isprintable():
        raise Invalid(
            "a code is printable text of 1 to 300 characters: a box (B00000123) or location "
            "(L00001042) code, its QR URL, an EPC, or a record's reference code",
            field="code",
        )
    try:
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
            box=boxes.present(session, [box], scheme=scheme)[0],
        )
    place = session.exec(select(Location).where(Location.code == found.code)).first()
    if place is None:
        raise NotFound(f"{found.code} is a location code, but no location has it")
    return ScanResult(
        kind="location", code=place.code, matched=found.form,
        location=locations.present(session, [place], scheme=scheme)[0],
    )
