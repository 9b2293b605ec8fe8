"""Batch import of records over HTTP: a CSV or XLSX register in, a report out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from server.api.deps import Archivist, SchemeDep, SessionDep, SettingsDep
from server.services import imports, register_terms

router = APIRouter(prefix="/api/imports", tags=["imports"])


class ProblemPublic(BaseModel):
    row: int
    column: str
    value: str
    message: str


class GapPublic(BaseModel):
    class_: str = Field(alias="class", description="门类·年度·保管期限(·机构), e.g. WS·2024·Y")
    missing: list[int]


class ImportReportPublic(BaseModel):
    imported: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    boxes_created: int
    locations_created: int
    problems: list[ProblemPublic]
    gaps: list[GapPublic] = []
    import_: int | None = Field(None, alias="import", description="the register's id (a check's scope)")


@router.post("", response_model=ImportReportPublic,
             responses={422: {"description": "nothing imported; the report lists every problem"}})
def import_register(
    request: Request, session: SessionDep, settings: SettingsDep, scheme: SchemeDep, user: Archivist,
    file: Annotated[UploadFile, File(description="a CSV (UTF-8 or GB18030) or XLSX register")],
    skip_invalid: Annotated[bool, Form(description="import the good rows, report the rest")] = False,
    create_missing: Annotated[bool, Form(description="create boxes and locations the file names")] = False,
) -> Any:
    """Import records; by default any bad row means nothing is imported (answered with 422)."""
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise HTTPException(413, detail=f"the file is larger than the upload limit of "
                                        f"{settings.upload_max_bytes:,} bytes")
    report = imports.import_records(
        session, data, scheme=scheme, actor=user.username, file_name=file.filename,
        skip_invalid=skip_invalid, create_missing=create_missing,
        language=register_terms.language_of(request.headers.get("accept-language")),
    )
    if not report.imported:
        session.rollback()
        body = report.as_dict()
        body["detail"] = (f"nothing was imported: {len(report.problems)} problem(s) in the file; "
                          "fix them or send skip_invalid=true to import the good rows")
        return JSONResponse(status_code=422, content=body)
    session.commit()
    return report.as_dict()
