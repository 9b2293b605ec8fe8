"""The archivists' record pages: describe a new record, correct one, attach electronic copies
and run the DA/T 70 four-property check over a record.

The rules are the services' (server/services/records.py, reference_codes.py, copies.py,
checks.py); this module reads the form as people write it (register_terms: 定期30年, D30,
机密, 20240315, 12页), hands it to them and shows what they say, next to the field. Every
form redirects (303) when it worked; a refused one is shown again, status 4xx, values kept.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from dashboard.pages import Page, PageRefused, page_for, render
from server.models.description import CheckRequest, CheckScope
from server.models.holdings import Box, Record, RecordCreate, RecordUpdate
from server.services import check_report, checks, copies, records, register_terms, security
from server.services.copies import CopyStore, TooLarge
from server.services.errors import Conflict, DomainError, NotFound
from server.services.people import CLEARANCE_ORDER, may_see

router = APIRouter(include_in_schema=False)
ArchivistPage = Annotated[Page, Depends(page_for(*security.ARCHIVISTS))]

# The form's fields, in the order of DA/T 22-2015's 归档文件目录 and DA/T 18-2022's file level.
TEXT_FIELDS = ("title", "fonds", "category", "series", "year", "item", "retention",
               "classification", "classification_term", "access", "level", "date", "creator",
               "document_number", "pages", "box", "volume", "note", "description")
ACCESS_LEVELS = register_terms.ACCESS_LEVELS
LEVELS = register_terms.LEVELS
READ_CHUNK = 1024 * 1024


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _url(reference_code: str, tail: str = "") -> str:
    return "/records/" + quote(reference_code, safe="") + tail


def _visible(page: Page, reference_code: str) -> Record:
    """The record, or a 404 page when it does not exist for this person (clearance)."""
    try:
        return records.by_reference(page.session, reference_code,
                                    clearance=page.person.clearance)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc


def _levels_allowed(page: Page) -> list[str]:
    """The classifications this person may give: a record above them would vanish for them."""
    return [c for c in CLEARANCE_ORDER if may_see(page.person.clearance, c)]



class RecordForm(BaseModel):
    """A record's form as typed: text in every field, read by register_terms afterwards."""

    reference_code: str = Field(default="", max_length=100)
    title: str = Field(default="", max_length=500)
    fonds: str = Field(default="", max_length=50)
    category: str = Field(default="", max_length=2)
    series: str = Field(default="", max_length=50)
    year: str = Field(default="", max_length=10)
    item: str = Field(default="", max_length=10)
    retention: str = Field(default="", max_length=40)
    classification: str = Field(default="", max_length=20)
    classification_term: str = Field(default="", max_length=20)
    access: str = Field(default="", max_length=20)
    level: str = Field(default="", max_length=20)
    date: str = Field(default="", max_length=30)
    creator: str = Field(default="", max_length=200)
    document_number: str = Field(default="", max_length=100)
    pages: str = Field(default="", max_length=20)
    box: str = Field(default="", max_length=20)
    volume: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=2000)
    description: str = Field(default="", max_length=20_000)


def _read_form(page: Page, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed values with register_terms' reading applied, and an error per field."""
    given = {k: v.strip() for k, v in form.items() if k in TEXT_FIELDS}
    errors: dict[str, str] = {}
    if given.get("classification") and given["classification"] not in _levels_allowed(page):
        errors["classification"] = page.t("records.error.above_clearance")
    read, unread = register_terms.read_each_term(given)
    for term in unread:
        errors[term.field] = term.message(page.lang)
    # The years go with the retention written (定期5年): never a stale number from before.
    read["retention_years"] = read.get("retention_years") or None
    return read, errors


def _validation_errors(page: Page, exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, register_terms.TermError):
            errors[cause.field] = cause.message(page.lang)
            continue
        name = str(error["loc"][0]) if error["loc"] else "title"
        name = "retention" if name == "retention_years" else name
        kind = error["type"]
        if kind in ("missing", "string_too_short"):
            said = page.t("records.error.required")
        elif kind == "string_too_long":
            said = page.t("records.error.too_long", max=(error.get("ctx") or {}).get("max_length"))
        elif kind.startswith(("int_", "greater_than", "less_than")):
            said = page.t("records.error.number")
        elif kind.startswith(("date", "literal")):
            said = page.t("records.error.choice")
        else:
            said = page.t("records.error.invalid")
        errors.setdefault(name, said)
    return errors


def _domain_field(exc: DomainError, fallback: str) -> str:
    field = exc.field or fallback
    return "retention" if field == "retention_years" else field


def _form_page(page: Page, name: str, *, form: dict[str, str], errors: dict[str, str],
               status: int = 200, record: Record | None = None) -> Response:
    return render(page, name, status=status, form=form, errors=errors, record=record,
                  levels_allowed=_levels_allowed(page), access_levels=ACCESS_LEVELS,
                  description_levels=LEVELS,
                  retention_words=[register_terms.RETENTION_ZH["permanent"], "定期30年",
                                   "定期10年", "D30", "D10", page.t("retention.30y")])


def _as_written(page: Page, record: Record) -> dict[str, str]:
    """A record's values as the edit form shows them (and as register_terms reads them back)."""
    retention = (page.t("retention.custom", years=record.retention_years)
                 if record.retention == "custom" else page.t(f"retention.{record.retention}"))
    box = page.session.get(Box, record.box_id) if record.box_id else None
    volume = page.session.get(Record, record.volume_id) if record.volume_id else None
    shown = {name: getattr(record, name, None) for name in TEXT_FIELDS}
    shown.update(retention=retention, box=box.code if box else None,
                 volume=volume.reference_code if volume else None,
                 date=record.date.isoformat() if record.date else None)
    return {k: "" if v is None else str(v) for k, v in shown.items()}


# ---------------------------------------------------------------- a new record


@router.get("/records/new")
def new_record(page: ArchivistPage, box: str = "") -> Response:
    """The form for a new record, in the box it was asked for from (when one was)."""
    form = {name: "" for name in TEXT_FIELDS}
    form.update(box=box.strip().upper()[:20], retention=page.t("retention.permanent"),
                classification="internal" if "internal" in _levels_allowed(page) else "public",
                access="unreviewed", level="file", reference_code="")
    return _form_page(page, "record_new.html", form=form, errors={})


@router.post("/records")
def create_record(page: ArchivistPage, typed: Annotated[RecordForm, Form()]) -> Response:
    """Describe a new record; the 档号 is built when left empty (with 门类 and year given)."""
    form = typed.model_dump()
    reference_code = typed.reference_code
    read, errors = _read_form(page, form)
    data: RecordCreate | None = None
    if not errors:
        try:
            data = RecordCreate.model_validate(
                {k: v for k, v in read.items() if v not in ("", None)}
                | ({"reference_code": reference_code.strip()} if reference_code.strip() else {}))
        except ValidationError as exc:
            errors = _validation_errors(page, exc)
    if data is None:
        return _form_page(page, "record_new.html", form=form, errors=errors, status=422)
    try:
        made = records.create_record(page.session, data, actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        errors = {_domain_field(exc, "reference_code"): page.say(exc)}
        return _form_page(page, "record_new.html", form=form, errors=errors, status=status)
    page.session.commit()
    return _see_other(_url(made.reference_code))


# ---------------------------------------------------------------- correcting a record


@router.get("/records/{reference_code}/edit")
def edit_record(reference_code: str, page: ArchivistPage) -> Response:
    """Every field of a record but its 档号, which never changes once given (DA/T 13-2022)."""
    record = _visible(page, reference_code)
    return _form_page(page, "record_edit.html", form=_as_written(page, record), errors={},
                      record=record)


@router.post("/records/{reference_code}/edit")
def save_record(reference_code: str, page: ArchivistPage,
                typed: Annotated[RecordForm, Form()]) -> Response:
    """Save the corrections; the service checks the 档号 still agrees with year and retention."""
    form = typed.model_dump(exclude={"reference_code"})  # the 档号 never changes
    record = _visible(page, reference_code)
    read, errors = _read_form(page, form)
    for required in ("title", "retention", "classification"):
        if not form[required].strip():
            errors.setdefault(required, page.t("records.error.required"))
    data: RecordUpdate | None = None
    if not errors:
        try:
            # An emptied field is cleared; the required ones were refused above.
            data = RecordUpdate.model_validate({k: (v if v != "" else None)
                                                for k, v in read.items()})
        except ValidationError as exc:
            errors = _validation_errors(page, exc)
    if data is None:
        return _form_page(page, "record_edit.html", form=form, errors=errors, status=422,
                          record=record)
    try:
        records.update_record(page.session, record.reference_code, data,
                              actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        errors = {_domain_field(exc, "title"): page.say(exc)}
        return _form_page(page, "record_edit.html", form=form, errors=errors,
                          status=409 if isinstance(exc, Conflict) else 422,
                          record=record)
    page.session.commit()
    return _see_other(_url(record.reference_code))


# ---------------------------------------------------------------- copies and checks


def _copies_page(page: Page, record: Record, *, errors: dict[str, str] | None = None,
                 status: int = 200) -> Response:
    session = page.session
    rows, _ = copies.list_copies(session, record.reference_code,
                                 clearance=page.person.clearance, limit=200)
    latest = {}
    for copy in rows:
        assert copy.id is not None
        held = copies.checks_of(session, copy.id, clearance=page.person.clearance)
        latest[copy.id] = held[-1] if held else None
    found = checks.of_scope(session, record=record.reference_code, limit=1)
    last = found[0] if found else None
    return render(page, "record_copies.html", status=status, record=record,
                  copies=copies.present(session, rows), latest=latest, check=last,
                  check_items=_items_for(page, last, record, rows) if last else [],
                  errors=errors or {}, stages=checks.STAGES,
                  max_bytes=page.request.app.state.settings.upload_max_bytes)


def _items_for(page: Page, check, record: Record, rows: list) -> list[dict[str, Any]]:
    """The stored check's items as the page shows them: name in the page's language, and
    the failures of this record and its copies only."""
    ids = {c.id for c in rows}
    shown = []
    for item in check.items:
        name = check_report.ITEM_ZH.get(item["item"], item["item"]) if page.lang == "zh" \
            else item["item"]
        failures = [f for f in item.get("failures") or []
                    if f.get("record") == record.reference_code or f.get("copy") in ids]
        shown.append({"property": item["property"], "item": name, "result": item["result"],
                      "why": item.get("why"), "failures": failures})
    return shown


@router.get("/records/{reference_code}/copies")
def record_copies(reference_code: str, page: ArchivistPage) -> Response:
    """A record's electronic copies with each one's four-property result, the last DA/T 70
    check over the record, a form to attach a file and a button to check again."""
    return _copies_page(page, _visible(page, reference_code))


@router.post("/records/{reference_code}/copies")
def upload_copy(reference_code: str, page: ArchivistPage,
                      file: UploadFile | None = None) -> Response:
    """Attach a file: into the store by its hash, checked as the API checks it."""
    record = _visible(page, reference_code)
    settings = page.request.app.state.settings
    if file is None or not file.filename:
        return _copies_page(page, record, errors={"file": page.t("records.error.no_file")},
                            status=422)
    intake = CopyStore(settings.copies_path).intake(settings.upload_max_bytes)
    try:
        while chunk := file.file.read(READ_CHUNK):
            intake.write(chunk)
    except TooLarge:
        return _copies_page(page, record, status=413, errors={"file": page.t(
            "records.error.too_large", max=f"{settings.upload_max_bytes:,}")})
    except BaseException:
        intake.discard()
        raise
    stored = intake.finish()
    try:
        copies.add_copy(page.session, reference_code=record.reference_code, stored=stored,
                        file_name=file.filename, actor=page.person.username,
                        max_bytes=settings.upload_max_bytes)
    except DomainError as exc:
        page.session.rollback()
        return _copies_page(page, record, errors={"file": page.say(exc)}, status=422)
    page.session.commit()
    return _see_other(_url(record.reference_code, "/copies"))


@router.post("/records/{reference_code}/checks")
def run_check(reference_code: str, page: ArchivistPage,
              stage: Annotated[str, Form(max_length=20)] = "filing") -> Response:
    """Run the four-property check over this record and its copies; the result is kept."""
    record = _visible(page, reference_code)
    settings = page.request.app.state.settings
    if stage not in checks.STAGES:
        return _copies_page(page, record, errors={"stage": page.t("records.error.choice")},
                            status=422)
    context = checks.CheckContext(store=CopyStore(settings.copies_path),
                                  allowed_formats=tuple(settings.allowed_formats),
                                  clamd=settings.clamd, backups=settings.backups_path)
    request = CheckRequest.model_validate(
        {"stage": stage, "scope": CheckScope(records=[record.reference_code])})
    checks.run_check(page.session, request, context=context, actor=page.person.username,
                     clearance=page.person.clearance)
    page.session.commit()
    return _see_other(_url(record.reference_code, "/copies#last-check"))


@router.get("/records/{reference_code}/checks/{check_id}/report.pdf")
def check_pdf(reference_code: str, check_id: int, page: ArchivistPage) -> Response:
    """The check over this record as a printed report in the page's language."""
    record = _visible(page, reference_code)
    try:
        check = checks.by_id(page.session, check_id)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    if record.reference_code not in (check.scope.get("records") or ()):
        raise PageRefused("not_found")
    return Response(check_report.render(check, page.lang), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'inline; filename="four-property-check-{check_id}.pdf"'})
