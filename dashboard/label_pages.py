"""The labels page: print a box, a shelf's boxes, a range of codes or locations, on a chosen stock.

The page only chooses what to print; what goes on a label is server.services.labelling's, and
drawing it is labels.render's, the same as the API's /api/labels.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from dashboard.pages import MOVERS, Page, page_for, render, templates
from labels.identifiers import identify
from labels.layouts import LAYOUTS, layout_for
from server.services import labelling
from server.services.errors import DomainError

router = APIRouter(include_in_schema=False)
# Who may print labels: whoever the API's label routes let through (server/api/labels.py, Mover).
LabelPage = Annotated[Page, Depends(page_for(*MOVERS))]
# 200: room for a scanned QR URL or EPC URI, not only a typed code.
Text = Annotated[str, Query(max_length=200)]

CHOICES = ("box", "shelf", "range", "locations")
OUTPUTS = ("pdf", "zpl")
# A range from this page is printed at once; more than this is most likely a typing slip
# (B00000010–B00001040), and a batch that large belongs to the API.
MAX_RANGE = 500
# The preview is an image of one label at screen resolution, not print resolution.
PREVIEW_DPI = 150


def may_print_labels(page: Page) -> bool:
    """Whether this person may print labels (box and location pages show theirs then)."""
    return page.user is not None and page.user.role in MOVERS


templates.env.globals["may_print_labels"] = may_print_labels


def _form(what: str, box: str, location: str, first: str, last: str, stock: str,
          output: str) -> dict[str, str]:
    return {"what": what if what in CHOICES else "box", "box": box.strip(),
            "location": location.strip(), "first": first.strip().upper(),
            "last": last.strip().upper(), "stock": stock.strip().lower() or "a4-3x8",
            "output": output if output in OUTPUTS else "pdf"}


class Refused(Exception):
    """A choice on the form cannot be printed: which field, and what to say there."""

    def __init__(self, field: str, said: str) -> None:
        super().__init__(said)
        self.field = field
        self.said = said


def _scanned(page: Page, text: str) -> str:
    """The code in what a scanner typed (a QR URL, an EPC) or a person typed; else the text."""
    scheme = page.request.app.state.scheme
    try:
        found = identify(text, company_prefix=scheme.company_prefix,
                         site_number=scheme.site_number)
    except ValueError:  # InvalidIdentifier, or an EPC of the wrong length
        return text.upper()
    return found.code if found is not None else text.upper()


def _codes(page: Page, form: dict[str, str]) -> list[str]:
    """The codes the form names, or Refused next to the field that is wrong."""
    t, session, what = page.t, page.session, form["what"]
    form["box"], form["location"] = _scanned(page, form["box"]), _scanned(page, form["location"])
    try:
        if what == "box":
            if not form["box"]:
                raise Refused("box", t("labels.need_box"))
            return [form["box"]]
        if what == "range":
            if not form["first"] or not form["last"]:
                raise Refused("range", t("labels.need_range"))
            try:
                return labelling.expand_range(form["first"], form["last"], at_most=MAX_RANGE)
            except DomainError as exc:
                if exc.template.startswith("at most"):
                    raise Refused("range", t("labels.range_too_long", limit=MAX_RANGE)) from exc
                raise Refused("range", page.say(exc)) from exc
        if not form["location"]:
            raise Refused("location", t("labels.need_location"))
        if what == "shelf":
            codes = labelling.boxes_within(session, form["location"])
            if not codes:
                raise Refused("location", t("labels.shelf_empty", code=form["location"]))
            return codes
        return labelling.places_within(session, form["location"])
    except DomainError as exc:
        field = {"box": "box", "range": "range"}.get(what, "location")
        raise Refused(field, page.say(exc)) from exc


def _checked(page: Page, form: dict[str, str]) -> tuple[list, str]:
    """The labels to print and the stock's name, or Refused."""
    try:
        stock = layout_for(form["stock"]).name
    except ValueError as exc:
        raise Refused("stock", str(exc)) from exc
    codes = _codes(page, form)
    try:
        found = labelling.labels_for(page.session, codes, scheme=page.request.app.state.scheme,
                                     clearance=page.person.clearance)
    except DomainError as exc:
        field = {"box": "box", "range": "range"}.get(form["what"], "location")
        raise Refused(field, page.say(exc)) from exc
    if form["what"] == "box" and found[0].code[0] != "B":
        raise Refused("box", page.t("labels.not_a_box", code=form["box"]))
    return found, stock


def _preview_url(code: str, stock: str) -> str:
    kind = "boxes" if code.startswith("B") else "locations"
    return f"/api/{kind}/{code}/label.png?layout={stock}&dpi={PREVIEW_DPI}"


def _page(page: Page, form: dict[str, str], *, errors: dict[str, str] | None = None,
          preview: str | None = None, count: int | None = None, status: int = 200) -> Response:
    return render(page, "labels.html", status=status, form=form, errors=errors or {},
                  choices=CHOICES, outputs=OUTPUTS, stocks=list(LAYOUTS), preview=preview,
                  count=count, max_range=MAX_RANGE)


@router.get("/labels")
def labels_page(page: LabelPage, what: Text = "box", box: Text = "", location: Text = "",
                first: Text = "", last: Text = "", stock: Text = "a4-3x8",
                output: Text = "pdf", show: Text = "") -> Response:
    """The form; with show=1, the first label of the choice as an image and how many there are."""
    form = _form(what, box, location, first, last, stock, output)
    if not show:
        return _page(page, form)
    try:
        found, chosen = _checked(page, form)
    except Refused as refused:
        return _page(page, form, errors={refused.field: refused.said}, status=422)
    return _page(page, form, preview=_preview_url(found[0].code, chosen), count=len(found))


@router.get("/labels/print")
def print_labels(page: LabelPage, what: Text = "box", box: Text = "", location: Text = "",
                 first: Text = "", last: Text = "", stock: Text = "a4-3x8",
                 output: Text = "pdf") -> Response:
    """The labels as a PDF to print on the stock, or a .zpl file for a Zebra printer."""
    # A GET: reloading it downloads the same file again and changes nothing.
    from labels.render import FORMATS
    from labels.render import render as draw

    form = _form(what, box, location, first, last, stock, output)
    try:
        found, chosen = _checked(page, form)
        body = draw(found, output=form["output"], layout=chosen)
    except Refused as refused:
        return _page(page, form, errors={refused.field: refused.said}, status=422)
    except ValueError as exc:  # a stock the output cannot print on
        return _page(page, form, errors={"stock": str(exc)}, status=422)
    fmt = FORMATS[form["output"]]
    name = f"labels-{found[0].code}-{len(found)}{fmt.suffix}"
    return Response(body, media_type=fmt.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
