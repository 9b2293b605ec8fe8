"""Archival description over HTTP: fonds and their 档号 templates, four-property checks
(DA/T 70) and EEP packages (DA/T 48)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from server.api.deps import Archivist, Reader, RowId, SessionDep, SettingsDep
from server.clock import now
from server.models.description import (
    CheckLink,
    CheckPublic,
    CheckRequest,
    Fonds,
    FondsCreate,
    FondsPublic,
    FourPropertyCheck,
    ReferenceTemplate,
    ReferenceTemplateCreate,
    ReferenceTemplatePublic,
    RegisterImport,
    RegisterImportPublic,
)
from server.models.holdings import Record, RecordPublic
from server.services import (
    audit,
    boxes,
    check_report,
    checks,
    packages,
    printed_forms,
    records,
    reference_codes,
)
from server.services import register_terms as terms
from server.services.copies import CopyStore
from server.services.errors import Conflict, Invalid, NotFound
from server.services.people import clearance_levels
from server.settings import Settings

fonds_router = APIRouter(prefix="/api/fonds", tags=["description"])
check_router = APIRouter(prefix="/api/checks", tags=["description"])
package_router = APIRouter(tags=["description"])


def _fonds_public(session: Session, fonds: Fonds) -> FondsPublic:
    count = session.exec(select(func.count()).select_from(Record).where(
        Record.fonds == fonds.code)).one()
    templates = session.exec(select(ReferenceTemplate).where(
        ReferenceTemplate.fonds == fonds.code).order_by(col(ReferenceTemplate.category))).all()
    newest = checks.of_scope(session, fonds=fonds.code, limit=1)
    return FondsPublic(code=fonds.code, name=fonds.name, archive_code=fonds.archive_code,
                       note=fonds.note, records=count,
                       templates=[ReferenceTemplatePublic.model_validate(t, from_attributes=True)
                                  for t in templates],
                       last_check=CheckLink(**checks.link(newest[0])) if newest else None,
                       checks_url=f"/api/checks?fonds={quote(fonds.code)}")


def _fonds(session: Session, code: str) -> Fonds:
    fonds = session.exec(select(Fonds).where(Fonds.code == code.strip())).first()
    if fonds is None:
        raise NotFound("no fonds has the code {code}", code=code.strip())
    return fonds


@fonds_router.post("", response_model=FondsPublic, status_code=status.HTTP_201_CREATED)
def create_fonds(data: FondsCreate, session: SessionDep, user: Archivist):
    """Register a fonds (全宗号, 全宗名称, 档案馆代码): the top level of description."""
    if session.exec(select(Fonds.id).where(Fonds.code == data.code)).first():
        raise Conflict("a fonds with the code {code} already exists",
                       code=data.code, field="code")
    fonds = Fonds(**data.model_dump(), created_at=now())
    session.add(fonds)
    session.flush()
    audit.record(session, actor=user.username, action="create", entity="fonds",
                 entity_id=fonds.code, after=data.model_dump())
    session.commit()
    return _fonds_public(session, fonds)


@fonds_router.get("", response_model=dict)
def list_fonds(session: SessionDep, user: Reader):
    """Every fonds, by code."""
    rows = session.exec(select(Fonds).order_by(col(Fonds.code))).all()
    items = [_fonds_public(session, f).model_dump() for f in rows]
    return {"items": items, "total": len(items)}


@fonds_router.get("/{code}", response_model=FondsPublic)
def read_fonds(code: str, session: SessionDep, user: Reader):
    """One fonds with its 档号 templates and how many records it holds."""
    return _fonds_public(session, _fonds(session, code))


@fonds_router.put("/{code}/templates/{category}", response_model=ReferenceTemplatePublic)
def set_template(code: str, category: str, data: ReferenceTemplateCreate, session: SessionDep,
                 user: Archivist):
    """Set how the 档号 of this fonds and 门类 are formed; codes are checked and built by it."""
    fonds = _fonds(session, code)
    if category != data.category:
        raise Invalid("the path names 门类 {category}, the body {data_category}",
                      category=category, data_category=data.category, field="category")
    if category not in reference_codes.CATEGORIES:
        raise Invalid("门类 {category!r} is none of {categories}",
                      category=category, categories=', '.join(reference_codes.CATEGORIES),
                      field="category")
    template = session.exec(select(ReferenceTemplate).where(
        ReferenceTemplate.fonds == fonds.code, ReferenceTemplate.category == category)).first()
    if template is None:
        template = ReferenceTemplate(fonds=fonds.code, category=category, pattern=data.pattern,
                                     item_digits=data.item_digits)
        session.add(template)
    else:
        template.pattern, template.item_digits = data.pattern, data.item_digits
    session.flush()
    audit.record(session, actor=user.username, action="update", entity="reference_template",
                 entity_id=f"{fonds.code}/{category}", after=data.model_dump())
    session.commit()
    return ReferenceTemplatePublic.model_validate(template, from_attributes=True)


@package_router.get("/api/imports/{register_id}", response_model=RegisterImportPublic,
                    tags=["imports"])
def read_register(register_id: RowId, session: SessionDep, user: Reader):
    """One imported register (归档登记): what it held and the checks run over it."""
    register = session.get(RegisterImport, register_id)
    if register is None:
        raise NotFound("no register import {register_id}",
                       register_id=register_id)
    allowed = set(session.exec(select(Record.reference_code).where(
        col(Record.reference_code).in_(register.references),
        col(Record.classification).in_(clearance_levels(user.clearance)))).all())
    return RegisterImportPublic(
        id=register_id, file_name=register.file_name, sha256=register.sha256, rows=register.rows,
        records=[r for r in register.references if r in allowed], by=register.by_user,
        at=register.at,
        checks=[CheckLink(**checks.link(c)) for c in checks.of_scope(session, register=register_id)])


# --- four-property checks ------------------------------------------------------------------


def _check_public(check: FourPropertyCheck) -> CheckPublic:
    return CheckPublic.model_validate({
        "id": check.id, "stage": check.stage, "state": check.state, "scope": check.scope,
        "records": check.records, "copies": check.copies, "by": check.by_user,
        "started_at": check.started_at, "finished_at": check.finished_at,
        "passed": all(i["result"] != "fail" for i in check.items), "items": check.items,
        "report_url": f"/api/checks/{check.id}/report.pdf",
    })


def _context(settings: Settings) -> checks.CheckContext:
    return checks.CheckContext(store=CopyStore(settings.copies_path),
                               allowed_formats=tuple(settings.allowed_formats),
                               clamd=settings.clamd, backups=settings.backups_path)


@check_router.post("", response_model=CheckPublic, status_code=status.HTTP_201_CREATED,
                   response_model_by_alias=True)
def run_check(data: CheckRequest, session: SessionDep, settings: SettingsDep, user: Archivist):
    """Run the DA/T 70 four-property check over a scope; the result is stored."""
    check = checks.run_check(session, data, context=_context(settings), actor=user.username,
                             clearance=user.clearance)
    session.commit()
    return _check_public(check)


@check_router.get("", response_model=dict)
def list_checks(session: SessionDep, user: Reader, fonds: str | None = None,
                register: int | None = Query(None, alias="import")):
    """Stored checks, newest first; `fonds` or `import` picks those of one scope."""
    items = checks.of_scope(session, fonds=fonds, register=register)
    return {"items": [_check_public(c).model_dump(mode="json", by_alias=True) for c in items],
            "total": len(items)}


@check_router.get("/{check_id}", response_model=CheckPublic, response_model_by_alias=True)
def read_check(check_id: RowId, session: SessionDep, user: Reader):
    """One stored check, item by item."""
    return _check_public(checks.by_id(session, check_id))


@check_router.get("/{check_id}/report.pdf", response_class=Response)
def check_report_pdf(check_id: RowId, request: Request, session: SessionDep, user: Reader,
                     lang: str | None = Query(None, pattern="^(en|zh)$")):
    """The check as a printed report, in Chinese or English (?lang=, else Accept-Language)."""
    language = lang or terms.language_of(request.headers.get("accept-language"))
    pdf = check_report.render(checks.by_id(session, check_id), language)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="four-property-check-{check_id}.pdf"'})


# --- EEP packages ----------------------------------------------------------------------------


@package_router.get("/api/records/{reference_code}/package", response_class=Response,
                    tags=["description"])
def export_package(reference_code: str, session: SessionDep, settings: SettingsDep,
                   user: Archivist):
    """The record and its copies as a DA/T 48-2009 EEP package (XML)."""
    data = packages.export_record(session, CopyStore(settings.copies_path), reference_code,
                                  clearance=user.clearance)
    name = quote(f"{reference_code}.eep.xml")
    return Response(data, media_type="application/xml", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@package_router.post("/api/packages", response_model=RecordPublic,
                     status_code=status.HTTP_201_CREATED,
                     responses={422: {"description": "a document's digest or size does not match"}})
def import_package(session: SessionDep, settings: SettingsDep, user: Archivist,
                   file: Annotated[UploadFile, File(description="an EEP package (XML)")]):
    """Create a record with its copies from an EEP package; refused whole if any digest fails."""
    data = file.file.read(settings.upload_max_bytes * 2 + 1)
    if len(data) > settings.upload_max_bytes * 2:
        raise HTTPException(413, detail="the package is larger than twice the upload limit")
    record = packages.import_package(session, CopyStore(settings.copies_path), data,
                                     actor=user.username, max_bytes=settings.upload_max_bytes)
    session.commit()
    return records.present(session, [record])[0]


# --- printed forms (DA/T 22-2015) ------------------------------------------------------------

forms_router = APIRouter(tags=["description"])


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"})


@forms_router.get("/api/forms/catalogue.pdf", response_class=Response)
def catalogue(session: SessionDep, user: Reader, fonds: str | None = None,
              year: int | None = Query(None, ge=1000, le=2999), box: str | None = None):
    """归档文件目录 (A4 landscape) of a fonds, a year or a box, in 档号 order."""
    box_row = boxes.by_code(session, box) if box else None
    rows = printed_forms.select_records(session, clearance=user.clearance, fonds=fonds,
                                        year=year, box_id=box_row.id if box_row else None)
    heading = "  ".join(x for x in (f"全宗号 {fonds}" if fonds else "",
                                    f"年度 {year}" if year else "",
                                    f"盒号 {box_row.code}" if box_row else "") if x)
    return _pdf(printed_forms.catalogue_pdf(rows, heading=heading), "归档文件目录.pdf")


@forms_router.get("/api/boxes/{code}/record-sheet.pdf", response_class=Response)
def record_sheet(code: str, session: SessionDep, user: Reader,
                 arranged_by: str | None = Query(None, max_length=50, description="整理人"),
                 arranged_on: date | None = Query(None, description="整理日期"),
                 checked_by: str | None = Query(None, max_length=50, description="检查人"),
                 checked_on: date | None = Query(None, description="检查日期")):
    """备考表 of a box: what it holds, who arranged and who checked it."""
    box = boxes.by_code(session, code)
    rows = printed_forms.select_records(session, clearance=user.clearance, box_id=box.id)
    signers = printed_forms.SheetSigners(arranged_by, arranged_on, checked_by, checked_on)
    return _pdf(printed_forms.record_sheet_pdf(box, rows, signers), f"备考表-{box.code}.pdf")


@forms_router.get("/api/forms/filing-stamps.pdf", response_class=Response)
def filing_stamps(session: SessionDep, user: Reader, fonds: str | None = None,
                  year: int | None = Query(None, ge=1000, le=2999), box: str | None = None,
                  records: str | None = Query(None, description="reference codes, comma-separated"),
                  layout: str = Query("a4-3x8", description="label stock, as for labels")):
    """归档章 (全宗号, 年度, 件号 / 机构, 保管期限, 页数) for each record, on a label sheet."""
    box_row = boxes.by_code(session, box) if box else None
    wanted = [r.strip() for r in records.split(",") if r.strip()] if records else None
    rows = printed_forms.select_records(session, clearance=user.clearance, fonds=fonds,
                                        year=year, box_id=box_row.id if box_row else None,
                                        references=wanted)
    return _pdf(printed_forms.filing_stamps_pdf(rows, layout=layout), "归档章.pdf")
