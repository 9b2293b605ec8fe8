"""Labels: one box or location as PDF, PNG, SVG or ZPL; a batch as one PDF or ZPL stream."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from labels.layouts import LAYOUT_HELP
from server.api.deps import Mover, SchemeDep, SessionDep
from server.services import labelling
from server.services.errors import Invalid

router = APIRouter(tags=["labels"])

SingleFormat = Literal["pdf", "png", "svg", "zpl"]
BatchFormat = Literal["pdf", "zpl"]
LayoutName = Annotated[str, StringConstraints(max_length=20)]


def _answer(labels, *, output: str, layout: str | None, dpi: int, rfid: bool,
            filename: str) -> Response:
    # Rendering (reportlab, Pillow, the barcode makers) is imported on the first label asked
    # for: a worker that never prints one saves their memory.
    from labels.render import FORMATS, render

    fmt = FORMATS[output]
    options: dict = {}
    if output == "png" or output == "zpl":
        options["dpi"] = dpi
    if output == "zpl":
        options["rfid"] = rfid
    if output == "zpl" and dpi not in (203, 300):
        raise Invalid("Zebra printers print at 203 or 300 dpi", field="dpi")
    try:
        body = render(labels, output=output, layout=layout, **options)
    except ValueError as exc:  # e.g. a layout that does not fit the output
        raise Invalid(str(exc), field="layout") from exc
    return Response(
        content=body, media_type=fmt.media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}{fmt.suffix}"'},
    )


def _single(kind: str):
    def label(code: str, fmt: SingleFormat, session: SessionDep, scheme: SchemeDep, user: Mover,
              layout: LayoutName | None = Query(
                  None, description=f"label stock, default per format: {LAYOUT_HELP}"),
              dpi: int = Query(300, ge=72, le=1200, description="PNG and ZPL resolution"),
              rfid: bool = Query(True, description="ZPL: write the EPC to the tag and read it back")):
        labels = labelling.labels_for(session, [code], scheme=scheme, clearance=user.clearance)
        if labels[0].code[0] != kind[0].upper():
            raise Invalid("{code} is not a {kind} code",
                          code=code.strip().upper(), kind=kind, field="code")
        single_layout = layout or ("100x50" if fmt == "pdf" else None)
        return _answer(labels, output=fmt, layout=single_layout, dpi=dpi, rfid=rfid,
                       filename=code.strip().upper())

    label.__doc__ = f"The label of one {kind}: PDF (one 100×50 label by default), PNG, SVG or ZPL."
    return label


router.add_api_route("/api/boxes/{code}/label.{fmt}", _single("box"), methods=["GET"],
                     response_class=Response, summary="Box label")
router.add_api_route("/api/locations/{code}/label.{fmt}", _single("location"), methods=["GET"],
                     response_class=Response, summary="Location label")


class LabelRange(BaseModel):
    first: str = Field(examples=["B00000001"])
    last: str = Field(examples=["B00000100"])


class LabelBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[str] = Field(default_factory=list, examples=[["B00000001", "L00000042"]])
    range: LabelRange | None = None
    format: BatchFormat = "pdf"
    layout: LayoutName | None = Field(
        default=None, description=f"default: a4-3x8 for PDF, 100x50 for ZPL; {LAYOUT_HELP}")
    dpi: int = Field(default=203, description="ZPL: 203 or 300")
    rfid: bool = True

    @model_validator(mode="after")
    def _one_selection(self) -> LabelBatch:
        if bool(self.codes) == bool(self.range):
            raise ValueError("give either codes or a range (first and last code), not both or neither")
        return self


@router.post("/api/labels", response_class=Response,
             responses={200: {"content": {"application/pdf": {}, "application/vnd.zebra-zpl": {}}}})
def batch(data: LabelBatch, session: SessionDep, scheme: SchemeDep, user: Mover):
    """Many labels at once: one PDF sheet run or one ZPL stream."""
    # The model's validator lets through exactly one of codes and range.
    wanted = data.range
    codes = data.codes if wanted is None else labelling.expand_range(wanted.first, wanted.last)
    labels = labelling.labels_for(session, codes, scheme=scheme, clearance=user.clearance)
    return _answer(labels, output=data.format, layout=data.layout, dpi=data.dpi, rfid=data.rfid,
                   filename=f"labels-{codes[0]}-{len(codes)}")
