"""What a scanned code turned out to name."""

from __future__ import annotations

from typing import Literal

from sqlmodel import SQLModel

from server.models.holdings import BoxPublic, RecordPublic
from server.models.places import LocationPublic


class ScanResult(SQLModel):
    kind: Literal["box", "location", "record"]
    code: str
    matched: str  # which form was read: code, qr, epc_hex, epc_uri, epc_tag_uri, reference_code
    box: BoxPublic | None = None
    location: LocationPublic | None = None
    record: RecordPublic | None = None
