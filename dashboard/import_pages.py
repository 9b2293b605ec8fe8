"""Importing a register (归档登记) from the pages: upload it, read the row-by-row report of
what it would do, then commit it or cancel.

The file is held on the server between the report and the commit (never sent back through
the browser): in its own folder under the data directory, named by a random token, bound to
the person who uploaded it, at most the upload limit in size, a few per person, and removed
on commit, on cancel or when it is an hour old. The rules are server/services/imports.py's;
the commit is all or nothing: when the archive or the file would do anything other than the
report said, nothing is written and the new report is shown.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from dashboard.pages import Page, PageRefused, page_for, render
from server.models.description import RegisterImport
from server.models.holdings import Record
from server.services import imports, security
from server.services.errors import DomainError
from server.services.people import clearance_levels

router = APIRouter(include_in_schema=False)
ArchivistPage = Annotated[Page, Depends(page_for(*security.ARCHIVISTS))]

HELD_FOR_S = 3600
HELD_PER_PERSON = 3
SHOWN_REFERENCES = 200
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,40}$")


@dataclass(frozen=True, slots=True)
class HeldRegister:
    """An uploaded register waiting for its commit."""

    token: str
    owner: str
    file_name: str
    create_missing: bool
    data: bytes


class HeldRegisters:
    """Registers kept between the report and the commit: one folder, files named by token."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def hold(self, data: bytes, *, owner: str, file_name: str, create_missing: bool) -> str:
        """Keep the file for its owner; the token names it in the next pages' addresses."""
        if len(data) > self.max_bytes:
            raise ValueError("larger than the upload limit")
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep(owner)
        token = secrets.token_urlsafe(18)
        body, about = self.root / f"{token}.register", self.root / f"{token}.json"
        body.write_bytes(data)
        # The description is written last: a register without one is never offered.
        about.write_text(json.dumps({"owner": owner, "file_name": file_name,
                                     "create_missing": create_missing}), encoding="utf-8")
        return token

    def get(self, token: str, *, owner: str) -> HeldRegister | None:
        """The held register, or None when it is gone, old or someone else's."""
        if not _TOKEN.match(token):
            return None
        about = self.root / f"{token}.json"
        try:
            facts = json.loads(about.read_text(encoding="utf-8"))
            if facts["owner"] != owner or time.time() - about.stat().st_mtime > HELD_FOR_S:
                return None
            data = (self.root / f"{token}.register").read_bytes()
        except (OSError, ValueError, KeyError):
            return None
        return HeldRegister(token, owner, str(facts["file_name"]), bool(facts["create_missing"]),
                            data)

    def drop(self, token: str) -> None:
        """Forget a held register (committed or cancelled)."""
        if _TOKEN.match(token):
            for suffix in (".json", ".register"):
                (self.root / f"{token}{suffix}").unlink(missing_ok=True)

    def _sweep(self, owner: str) -> None:
        """Drop the old registers, and this person's beyond the few they may keep."""
        mine: list[tuple[float, str]] = []
        for about in self.root.glob("*.json"):
            try:
                age = time.time() - about.stat().st_mtime
                facts = json.loads(about.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if age > HELD_FOR_S:
                self.drop(about.stem)
            elif facts.get("owner") == owner:
                mine.append((about.stat().st_mtime, about.stem))
        for _, token in sorted(mine)[:max(0, len(mine) - HELD_PER_PERSON + 1)]:
            self.drop(token)
        for body in self.root.glob("*.register"):  # a body whose description was never written
            if not (self.root / f"{body.stem}.json").exists() and \
                    time.time() - body.stat().st_mtime > 60:
                body.unlink(missing_ok=True)


def held_registers(settings) -> HeldRegisters:
    """The store of held registers for these settings."""
    return HeldRegisters(settings.data_dir / "imports-held", max_bytes=settings.upload_max_bytes)


def _store(page: Page) -> HeldRegisters:
    return held_registers(page.request.app.state.settings)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _held(page: Page, token: str) -> HeldRegister:
    held = _store(page).get(token, owner=page.person.username)
    if held is None:
        raise PageRefused("not_found", message=page.t("import.gone"))
    return held


# ---------------------------------------------------------------- upload


def _upload_page(page: Page, *, errors: dict[str, str] | None = None, status: int = 200,
                 create_missing: bool = False, done: RegisterImport | None = None) -> Response:
    shown: list[str] = []
    if done is not None:
        # Of what the register wrote, the records this person may see.
        visible = page.session.exec(select(Record.reference_code).where(
            col(Record.reference_code).in_(done.references[:SHOWN_REFERENCES]),
            col(Record.classification).in_(clearance_levels(page.person.clearance)))).all()
        shown = sorted(visible)
    return render(page, "import.html", status=status, errors=errors or {},
                  create_missing=create_missing, done=done, written=shown,
                  max_bytes=page.request.app.state.settings.upload_max_bytes)


@router.get("/import")
def import_page(page: ArchivistPage, done: int | None = None) -> Response:
    """The upload form; after a commit, what the register wrote."""
    register = page.session.get(RegisterImport, done) if done else None
    if register is not None and register.by_user != page.person.username:
        register = None
    return _upload_page(page, done=register)


@router.post("/import")
def upload_register(page: ArchivistPage, file: UploadFile | None = None,
                          create_missing: Annotated[bool, Form()] = False) -> Response:
    """Hold the uploaded register and show what it would do (nothing is written yet)."""
    limit = page.request.app.state.settings.upload_max_bytes
    if file is None or not file.filename:
        return _upload_page(page, errors={"file": page.t("import.error.no_file")}, status=422,
                            create_missing=create_missing)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        return _upload_page(page, status=413, create_missing=create_missing, errors={
            "file": page.t("import.error.too_large", max=f"{limit:,}")})
    if not data.strip():
        return _upload_page(page, errors={"file": page.t("import.error.empty")}, status=422,
                            create_missing=create_missing)
    try:  # the file must at least read as a register before it is held
        imports.preview_records(page.session, data, file_name=file.filename,
                                create_missing=create_missing, language=page.lang,
                                clearance=page.person.clearance)
    except DomainError as exc:
        page.session.rollback()
        return _upload_page(page, errors={"file": page.say(exc)}, status=422,
                            create_missing=create_missing)
    token = _store(page).hold(data, owner=page.person.username, file_name=file.filename,
                              create_missing=create_missing)
    return _see_other(f"/import/{quote(token)}")



# ---------------------------------------------------------------- report, commit, cancel


def _preview_page(page: Page, held: HeldRegister, *, status: int = 200,
                  notice: str | None = None) -> Response:
    try:
        report = imports.preview_records(page.session, held.data, file_name=held.file_name,
                                         create_missing=held.create_missing, language=page.lang,
                                         clearance=page.person.clearance)
    except DomainError as exc:
        _store(page).drop(held.token)
        return _upload_page(page, errors={"file": page.say(exc)}, status=422)
    problems: dict[int, list[imports.Problem]] = {}
    for problem in report.problems:
        problems.setdefault(problem.row, []).append(problem)
    return render(page, "import_preview.html", status=status, held=held, report=report,
                  problems=problems, notice=notice)


@router.get("/import/{token}")
def preview(token: str, page: ArchivistPage) -> Response:
    """Row by row: which records the register would create or update, and which rows are
    refused and why; then commit or cancel."""
    return _preview_page(page, _held(page, token))


@router.post("/import/{token}/commit")
def commit(token: str, page: ArchivistPage) -> Response:
    """Import the rows the report accepted, all of them or none."""
    held = _held(page, token)
    session = page.session
    expected = imports.preview_records(session, held.data, file_name=held.file_name,
                                       create_missing=held.create_missing, language=page.lang,
                                         clearance=page.person.clearance)
    refused = {line.row for line in expected.lines if line.action == "refused"}
    if len(refused) == len(expected.lines):
        return _preview_page(page, held, status=422, notice=page.t("import.nothing_to_import"))
    try:
        report = imports.import_records(
            session, held.data, scheme=page.request.app.state.scheme,
            actor=page.person.username, file_name=held.file_name, skip_invalid=True,
            create_missing=held.create_missing, language=page.lang,
                                         clearance=page.person.clearance)
    except DomainError:
        session.rollback()
        return _preview_page(page, held, status=409, notice=page.t("import.changed"))
    # The rows refused now must be the rows the report refused: otherwise the archive
    # changed under the report and the person has not seen what would happen.
    if not report.imported or {p.row for p in report.problems} != refused:
        session.rollback()
        return _preview_page(page, held, status=409, notice=page.t("import.changed"))
    session.commit()
    _store(page).drop(held.token)
    return _see_other(f"/import?done={report.import_id}")


@router.post("/import/{token}/cancel")
def cancel(token: str, page: ArchivistPage) -> Response:
    """Forget the uploaded register; nothing was imported."""
    _store(page).drop(_held(page, token).token)
    return _see_other("/import")
