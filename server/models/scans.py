"""What a scanned code turned out to name, and what a scan in a mode did."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel

from server.models.holdings import BoxPublic, RecordPublic
from server.models.places import LocationPublic

# The scan pipeline's one vocabulary (server.services.scan): what a scan did, and why not.
ScanAction = Literal["target", "moved", "already_there", "refused",
                     # stocktake
                     "counted", "duplicate",
                     # lending (issue 10)
                     "returned_and_shelved", "picked", "checked_out", "returned"]
RefusalReason = Literal["invalid", "unknown", "no_target", "record", "full", "disposed", "other",
                        # lending (issue 10)
                        "no_request", "not_on_loan", "not_a_box"]


class ScanResult(SQLModel):
    kind: Literal["box", "location", "record"]
    code: str
    matched: str  # which form was read: code, qr, epc_hex, epc_uri, epc_tag_uri, reference_code
    box: BoxPublic | None = None
    location: LocationPublic | None = None
    record: RecordPublic | None = None


class ScanIn(SQLModel):
    """One scan in a mode, as the API takes it: the code, and the target the scanner holds."""

    model_config = {"extra": "forbid"}
    code: str = Field(max_length=400, schema_extra={"examples": ["B00000123"]})
    mode: Literal["shelve", "stocktake", "pick", "checkout", "return"] = "shelve"
    target: str | None = Field(
        default=None, max_length=20,
        description="the location scanned before (shelve: where boxes go; stocktake: where "
                    "they are seen)",
        schema_extra={"examples": ["L00001042"]},
    )
    device: str | None = Field(
        default=None, max_length=64,
        description="the handheld that scanned: while it counts an open stocktake, the scan is "
                    "counted there and moves nothing", schema_extra={"examples": ["handheld-1"]})
    stocktake: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="stocktake mode: the stocktake to count for")


class ScanOutcomePublic(SQLModel):
    """What one scan did (server.services.scan.ScanOutcome): the same words on every path."""

    code: str
    mode: str
    action: ScanAction
    ok: bool
    reason: RefusalReason | None
    message: str
    box: str | None = None
    location: str | None = Field(default=None, description="the target in force after the scan")
    location_path: str | None = None
    at: datetime | None = None
    verdict: Literal["found", "misplaced", "unexpected", "on_loan"] | None = Field(
        default=None, description="stocktake mode: how the counted box stands")
    expected: str | None = Field(default=None, description="stocktake mode: where the twin has it")
    expected_path: str | None = None
    stocktake: int | None = None
