"""Electronic copies over HTTP: upload (streamed), list per record, download, checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlmodel import Session

from server.api.deps import (
    Archivist,
    Limit,
    Offset,
    Reader,
    RowId,
    SessionDep,
    SettingsDep,
    Watcher,
    WritingSessionDep,
)
from server.api.paging import Page
from server.models.copies import (
    CheckOutcome,
    CopyCheckPublic,
    ElectronicCopyPublic,
    FixityState,
)
from server.services import copies, records
from server.services.copies import CopyStore, Intake, TooLarge
from server.services.fixity import verify_copies
from server.settings import Settings

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

record_router = APIRouter(prefix="/api/records", tags=["copies"])
router = APIRouter(prefix="/api/copies", tags=["copies"])

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }}},
    }
}


class _FilePart:
    """Feeds the `file` part of a multipart body into an Intake as it arrives."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.file_name: str | None = None
        self.found = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin, "on_header_field": self._field,
            "on_header_value": self._value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
        }

    def _begin(self) -> None:
        self._headers, self._in_file = {}, False

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") == b"file" and not self.found:
            self.found = self._in_file = True
            raw = params.get(b"filename", b"")
            self.file_name = raw.decode("utf-8", "replace") if raw else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.intake.write(data[start:end])


async def _arriving(request: Request, timeout_s: float) -> AsyncIterator[bytes]:
    """The body's chunks; TimeoutError when none arrives for `timeout_s` (a slow upload
    would otherwise hold a temporary file and a descriptor open for ever)."""
    chunks = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout_s)
        except StopAsyncIteration:
            return
        yield chunk


def _too_large(settings: Settings) -> HTTPException:
    return HTTPException(
        status_code=413,
        detail=f"the file is larger than the upload limit of {settings.upload_max_bytes:,} bytes",
    )


@record_router.post(
    "/{reference_code}/copies", response_model=ElectronicCopyPublic,
    status_code=status.HTTP_201_CREATED, openapi_extra=UPLOAD_SCHEMA,
)
async def upload_copy(reference_code: str, request: Request, settings: SettingsDep,
                      user: Archivist):
    """Attach a file (multipart field `file`); streamed to the store, hashed and checked."""
    engine, writer = request.app.state.engine, request.app.state.writer

    def record_exists() -> None:
        with Session(engine) as session:
            records.by_reference(session, reference_code, clearance=user.clearance)

    await run_in_threadpool(record_exists)
    kind, params = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPException(422,
                            detail="send the file as multipart/form-data in the field `file`")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.upload_max_bytes + MULTIPART_OVERHEAD:
        raise _too_large(settings)
    store = CopyStore(settings.copies_path)
    part = _FilePart(store.intake(settings.upload_max_bytes))
    parser = MultipartParser(params[b"boundary"], part.callbacks())
    try:
        async for chunk in _arriving(request, settings.upload_read_timeout_s):
            parser.write(chunk)
        parser.finalize()
    except TimeoutError as exc:
        part.intake.discard()
        raise HTTPException(408, detail=f"the upload sent nothing for "
                                        f"{settings.upload_read_timeout_s:g} s; send it again") from exc
    except TooLarge as exc:
        raise _too_large(settings) from exc
    except MultipartParseError as exc:
        part.intake.discard()
        raise HTTPException(422, detail=f"the multipart body is malformed: {exc}") from exc
    except BaseException:
        part.intake.discard()
        raise
    if not part.found:
        part.intake.discard()
        raise HTTPException(422,
                            detail="the form has no `file` field")
    stored = await run_in_threadpool(part.intake.finish)

    def attach() -> tuple[ElectronicCopyPublic, bool]:
        with Session(writer, expire_on_commit=False) as session:
            copy, held = copies.add_copy(
                session, reference_code=reference_code, stored=stored,
                file_name=part.file_name, actor=user.username,
                max_bytes=settings.upload_max_bytes,
            )
            session.commit()
            return copies.present(session, [copy], already_held=held)[0], held

    shown, _held = await run_in_threadpool(attach)
    return shown


@record_router.get("/{reference_code}/copies", response_model=Page[ElectronicCopyPublic])
def list_copies(reference_code: str, session: SessionDep, user: Reader, limit: Limit = 50,
                offset: Offset = 0):
    """The electronic copies of a record, with each one's four-property check and fixity."""
    rows, total = copies.list_copies(session, reference_code, clearance=user.clearance,
                                     limit=limit, offset=offset)
    return Page(items=copies.present(session, rows), total=total, limit=limit, offset=offset)


def content_disposition(file_name: str) -> str:
    """`attachment` with an ASCII fallback name and the real one in RFC 5987 form."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


@router.get("/{copy_id}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_copy(copy_id: RowId, session: WritingSessionDep, settings: SettingsDep, user: Reader):
    """The file itself, streamed; only for records at or below your clearance; audited.

    A borrower downloads copies of a record that is not public on an approved download
    request (POST /api/requests, mode download), until it expires: 403 says when it ended."""
    copy, path = copies.open_for_download(
        session, CopyStore(settings.copies_path), copy_id, clearance=user.clearance,
        actor=user.username, user=user,
    )
    session.commit()
    return FileResponse(
        path, media_type=copy.media_type,
        headers={"Content-Disposition": content_disposition(copy.file_name),
                 "ETag": f'"{copy.sha256}"', "X-Content-SHA256": copy.sha256},
    )


@router.get("/{copy_id}/checks", response_model=list[CopyCheckPublic])
def copy_checks(copy_id: RowId, session: SessionDep, user: Reader):
    """Every check of one copy: at ingest, and each fixity result that changed its state."""
    return [CopyCheckPublic.model_validate(c, from_attributes=True)
            for c in copies.checks_of(session, copy_id, clearance=user.clearance)]


@router.get("", response_model=Page[ElectronicCopyPublic])
def list_all(session: SessionDep, user: Watcher,
             fixity: FixityState | None = None, outcome: CheckOutcome | None = None,
             limit: Limit = 50, offset: Offset = 0):
    """Copies across the archive, e.g. `fixity=mismatch` for those whose bytes changed."""
    rows, total = copies.list_all(session, clearance=user.clearance, fixity=fixity,
                                  outcome=outcome, limit=limit, offset=offset)
    return Page(items=copies.present(session, rows), total=total, limit=limit, offset=offset)


@router.post("/verify", status_code=status.HTTP_200_OK)
def verify(request: Request, settings: SettingsDep, user: Archivist):
    """Re-hash every stored copy now (as the scheduled fixity job does); returns the counts."""
    report = verify_copies(request.app.state.engine, CopyStore(settings.copies_path),
                           actor=user.username)
    return report.as_dict()
