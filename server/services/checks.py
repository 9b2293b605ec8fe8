"""The four-property check of DA/T 70-2018 (四性检测): authenticity, integrity, usability and
security of electronic records, at filing (归档), transfer (移交) or preservation (长期保存).

A check runs over a scope (a register import, a fonds, a year, or a list of records; nothing
given: everything the caller may see), item by item. Each item passes, fails with the
objects that failed, or says why it was not checked. The result is stored and kept.
"""

from __future__ import annotations

import logging
import re
import socket
import struct
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import now
from server.models.copies import ElectronicCopy
from server.models.description import CheckRequest, FourPropertyCheck, RegisterImport
from server.models.holdings import Record
from server.services import reference_codes, register_terms
from server.services.copies import HEAD, CopyStore, hash_file, identify
from server.services.errors import NotFound
from server.services.people import CLEARANCE_ORDER, clearance_levels

log = logging.getLogger(__name__)

STAGES = ("filing", "transfer", "preservation")
MAX_FAILURES = 500
# DA/T 18-2022 file level: the items every file-level description carries.
REQUIRED_ITEMS = {"level": "著录层级", "reference_code": "档号", "title": "题名", "date": "日期",
                  "creator": "责任者", "retention": "保管期限", "access": "开放标识"}
_EXTENSIONS = {".pdf": "PDF", ".ofd": "OFD", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG",
               ".jpeg": "JPEG", ".png": "PNG", ".xml": "XML", ".txt": "plain text"}
_STAND_INS = str.maketrans({".": "·", "•": "·", "・": "·"})
_SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


@dataclass(slots=True)
class Item:
    """One item of the check and what it found."""

    property: str
    item: str
    result: str = "pass"
    why: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, record: str | None, reason: str, copy: int | None = None) -> None:
        """Note one object that fails this item."""
        self.result = "fail"
        if len(self.failures) < MAX_FAILURES:
            self.failures.append({"record": record, "copy": copy, "reason": reason})

    def not_checked(self, why: str) -> None:
        """Say why the item could not be checked."""
        self.result, self.why = "not_checked", why

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as stored and answered."""
        return {"property": self.property, "item": self.item, "result": self.result,
                "why": self.why, "failures": self.failures}


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check needs besides the database: the store, the formats allowed, clamd."""

    store: CopyStore
    allowed_formats: tuple[str, ...]
    clamd: str | None = None
    backups: Path | None = None  # where backups are written: the preservation stage tries one


def _scope_records(session: Session, request: CheckRequest, clearance: str
                   ) -> tuple[list[Record], RegisterImport | None]:
    scope = request.scope
    query = select(Record).where(col(Record.classification).in_(clearance_levels(clearance)))
    register = None
    if scope.import_ is not None:
        register = session.get(RegisterImport, scope.import_)
        if register is None:
            raise NotFound("no register import {import_}", import_=scope.import_, field="import")
        query = query.where(col(Record.reference_code).in_(register.references))
    if scope.fonds:
        query = query.where(Record.fonds == scope.fonds)
    if scope.year is not None:
        query = query.where(Record.year == scope.year)
    if scope.records:
        query = query.where(col(Record.reference_code).in_(scope.records))
    return list(session.exec(query.order_by(col(Record.reference_code))).all()), register


def run_check(session: Session, request: CheckRequest, *, context: CheckContext, actor: str,
              clearance: str) -> FourPropertyCheck:
    """Run the four-property check over the scope and store it."""
    started = now()
    rows, register = _scope_records(session, request, clearance)
    ids = [r.id for r in rows]
    copies = list(session.exec(select(ElectronicCopy).where(
        col(ElectronicCopy.record_id).in_(ids)).order_by(col(ElectronicCopy.id))).all()) if ids else []
    ref_of = {r.id: r.reference_code for r in rows}
    files = _FileFacts(context.store)

    items = [
        _digests(copies, ref_of, files),
        _metadata_values(rows),
        _reference_format(session, rows),
        _reference_duplicates(session, rows),
        _file_properties(copies, ref_of, files),
        _register_count(session, request, register, rows),
        _required_items(rows),
        _access_reviewed(request.stage, rows),
        _item_gaps(session, rows),
        _copies_present(rows, copies, ref_of, files),
        _formats_allowed(copies, ref_of, files, context.allowed_formats),
        _files_open(copies, ref_of, files),
        _backup_restores(request.stage, context.backups),
        _virus_scan(copies, ref_of, files, context.clamd),
        _access_control(rows),
    ]
    check = FourPropertyCheck(
        stage=request.stage, scope=request.scope.model_dump(by_alias=True, exclude_none=True),
        items=[i.as_dict() for i in items], records=len(rows), copies=len(copies),
        by_user=actor, started_at=started, finished_at=now(),
    )
    session.add(check)
    session.flush()
    log.info("four-property check %s by %s: %s records, %s copies, %s failed items", check.id,
             actor, len(rows), len(copies), sum(i.result == "fail" for i in items))
    return check


def by_id(session: Session, check_id: int) -> FourPropertyCheck:
    """One stored check, or NotFound."""
    check = session.get(FourPropertyCheck, check_id)
    if check is None:
        raise NotFound("no four-property check {check_id}", check_id=check_id)
    return check


def of_scope(session: Session, *, fonds: str | None = None, register: int | None = None,
             record: str | None = None, limit: int = 200) -> list[FourPropertyCheck]:
    """Stored checks, newest first; with fonds, register or record, those whose scope names it."""
    found = []
    for check in session.exec(select(FourPropertyCheck).order_by(
            col(FourPropertyCheck.finished_at).desc(), col(FourPropertyCheck.id).desc())):
        if fonds is not None and check.scope.get("fonds") != fonds:
            continue
        if register is not None and check.scope.get("import") != register:
            continue
        if record is not None and record not in (check.scope.get("records") or ()):
            continue
        found.append(check)
        if len(found) == limit:
            break
    return found


def link(check: FourPropertyCheck) -> dict[str, Any]:
    """How a scope (a fonds, a register) points at one of its checks."""
    return {"id": check.id, "stage": check.stage, "finished_at": check.finished_at,
            "passed": all(i["result"] != "fail" for i in check.items),
            "url": f"/api/checks/{check.id}", "report_url": f"/api/checks/{check.id}/report.pdf"}


# --- facts about stored files, read once per check ----------------------------------------


class _FileFacts:
    def __init__(self, store: CopyStore) -> None:
        self.store = store
        self._hash: dict[str, str | None] = {}

    def path(self, copy: ElectronicCopy) -> Path:
        return self.store.path_of(copy.sha256)

    def present(self, copy: ElectronicCopy) -> bool:
        return self.path(copy).is_file()

    def digest(self, copy: ElectronicCopy) -> str | None:
        if copy.sha256 not in self._hash:
            self._hash[copy.sha256] = hash_file(self.path(copy)) if self.present(copy) else None
        return self._hash[copy.sha256]

    def head(self, copy: ElectronicCopy) -> bytes:
        with self.path(copy).open("rb") as stream:
            return stream.read(HEAD)


# --- 真实性 authenticity -------------------------------------------------------------------


def _digests(copies: list[ElectronicCopy], ref_of: dict, files: _FileFacts) -> Item:
    item = Item("authenticity", "固化信息 digests match what was recorded at filing")
    for copy in copies:
        actual = files.digest(copy)
        if actual is not None and actual != copy.sha256:
            item.fail(ref_of[copy.record_id], f"the stored bytes hash to {actual[:16]}…, not the "
                      f"SHA-256 {copy.sha256[:16]}… recorded at filing", copy.id)
    if not copies:
        item.not_checked("no electronic copies in the scope")
    return item


def _metadata_values(rows: list[Record]) -> Item:
    item = Item("authenticity", "元数据 metadata length, type, value sets and special characters")
    for r in rows:
        ref = r.reference_code
        if r.retention not in register_terms.RETENTIONS:
            item.fail(ref, f"保管期限 {r.retention!r} is none of {register_terms.RETENTIONS}")
        if r.classification not in CLEARANCE_ORDER:
            item.fail(ref, f"密级 {r.classification!r} is none of the five levels")
        if r.access not in register_terms.ACCESS_LEVELS:
            item.fail(ref, f"开放标识 {r.access!r} is none of {register_terms.ACCESS_LEVELS}")
        if r.level not in register_terms.LEVELS:
            item.fail(ref, f"著录层级 {r.level!r} is none of {register_terms.LEVELS}")
        if r.category and r.category not in reference_codes.CATEGORIES:
            item.fail(ref, f"门类 {r.category!r} is none of the DA/T 13 codes")
        if r.year is not None and not 1000 <= r.year <= 2999:
            item.fail(ref, f"年度 {r.year} is not a four-digit year")
        if r.date and r.year and r.date.year != r.year:
            item.fail(ref, f"日期 {r.date.isoformat()} is not in 年度 {r.year}")
        for name in ("title", "creator", "reference_code", "description"):
            value = getattr(r, name) or ""
            if _SPECIAL.search(value) or value != unicodedata.normalize("NFC", value):
                item.fail(ref, f"{name} holds control or replacement characters")
        if len(r.title) > 500:
            item.fail(ref, "题名 is longer than 500 characters")
    return item


def _reference_format(session: Session, rows: list[Record]) -> Item:
    item = Item("authenticity", "档号 format (DA/T 13-2022)")
    for r in rows:
        parts = reference_codes.parse(r.reference_code)
        if parts is None:
            item.fail(r.reference_code, "not of the form [全宗号-]门类·年度·保管期限[·机构]-件号")
            continue
        template = reference_codes.template_for(session, r.fonds, parts.category)
        if template and not reference_codes.conforms(r.reference_code, template):
            item.fail(r.reference_code, f"not of the form {template.pattern} set for its fonds")
            continue
        wrong = reference_codes.disagreement(parts, year=r.year, retention=r.retention,
                                             retention_years=r.retention_years)
        if wrong:
            item.fail(r.reference_code, wrong[1])
        elif len(parts.item_text) < reference_codes.ITEM_DIGITS and template is None:
            item.fail(r.reference_code, f"件号 {parts.item_text} is not zero-padded to "
                      f"{reference_codes.ITEM_DIGITS} digits")
    return item


def _reference_duplicates(session: Session, rows: list[Record]) -> Item:
    item = Item("authenticity", "档号 unique")
    # Codes are unique as stored; two that differ only by case, width or separator stand-ins
    # still name one record for a reader, so they count as duplicates.
    seen: dict[str, str] = {}
    for r in rows:
        key = unicodedata.normalize("NFKC", r.reference_code).upper().translate(_STAND_INS)
        if key in seen:
            item.fail(r.reference_code, f"the same code as {seen[key]}")
        else:
            seen[key] = r.reference_code
    return item


def _file_properties(copies: list[ElectronicCopy], ref_of: dict, files: _FileFacts) -> Item:
    item = Item("authenticity", "file properties against metadata (size, format)")
    for copy in copies:
        if not files.present(copy):
            continue
        size = files.path(copy).stat().st_size
        if size != copy.size_bytes:
            item.fail(ref_of[copy.record_id], f"{size:,} bytes stored, {copy.size_bytes:,} described",
                      copy.id)
        fmt = identify(files.head(copy))
        if fmt.name != copy.format_name:
            item.fail(ref_of[copy.record_id], f"the bytes are {fmt.name}, described as "
                      f"{copy.format_name}", copy.id)
        named = _EXTENSIONS.get(Path(copy.file_name).suffix.lower())
        if named and named != fmt.name:
            item.fail(ref_of[copy.record_id], f"named {copy.file_name}, but the bytes are "
                      f"{fmt.name}", copy.id)
    if not copies:
        item.not_checked("no electronic copies in the scope")
    return item


# --- 完整性 integrity ----------------------------------------------------------------------


def _register_count(session: Session, request: CheckRequest, register: RegisterImport | None,
                    rows: list[Record]) -> Item:
    item = Item("integrity", "count against the filing register")
    if register is None:
        item.not_checked("the scope is not a register import: there is no filing register to "
                         "count against")
        return item
    held = {r.reference_code for r in rows}
    everywhere = set(session.exec(select(Record.reference_code).where(
        col(Record.reference_code).in_(register.references))).all())
    for ref in register.references:
        if ref not in everywhere:
            item.fail(ref, "in the filing register, not in the archive")
        elif ref not in held:
            item.fail(ref, "in the filing register, above your clearance: not counted")
    return item


def _required_items(rows: list[Record]) -> Item:
    item = Item("integrity", "required description items (DA/T 18-2022, file level)")
    for r in rows:
        if r.level not in ("file", "volume"):
            continue
        # 密级 is required when classified; every record here carries one of the five levels.
        missing = [zh for name, zh in REQUIRED_ITEMS.items() if not getattr(r, name)]
        if missing:
            item.fail(r.reference_code, "missing " + "、".join(missing))
    return item


def _access_reviewed(stage: str, rows: list[Record]) -> Item:
    item = Item("integrity", "开放标识 reviewed before transfer (划控)")
    # Records go to the archive with their opening reviewed (Archives Law 2020, art. 27);
    # while filing, 未审核 is where every record starts.
    if stage != "transfer":
        item.not_checked(f"asked at the transfer stage only, this is {stage}")
        return item
    for r in rows:
        if r.access == "unreviewed":
            item.fail(r.reference_code, "开放标识 未审核: review it before the transfer")
    return item


def _item_gaps(session: Session, rows: list[Record]) -> Item:
    item = Item("integrity", "no gaps in 件号 (continuous numbering)")
    in_scope = [r.reference_code for r in rows]
    for gap in reference_codes.gaps(in_scope):
        numbers = ", ".join(f"{n:04d}" for n in gap.missing[:50])
        item.fail(gap.klass, f"件号 missing: {numbers}")
    return item


def _copies_present(rows: list[Record], copies: list[ElectronicCopy], ref_of: dict,
                    files: _FileFacts) -> Item:
    item = Item("integrity", "every described copy present")
    for copy in copies:
        if not files.present(copy):
            item.fail(ref_of[copy.record_id], f"the copy {copy.file_name} is not in the store",
                      copy.id)
    described = {r.reference_code: (r.extra or {}).get("copies") for r in rows}
    held: dict[str, int] = {}
    for copy in copies:
        held[ref_of[copy.record_id]] = held.get(ref_of[copy.record_id], 0) + 1
    for ref, count in described.items():
        if isinstance(count, int | str) and str(count).isdigit() and held.get(ref, 0) < int(count):
            item.fail(ref, f"described with {count} copies, {held.get(ref, 0)} held")
    return item


# --- 可用性 usability ----------------------------------------------------------------------


def _formats_allowed(copies: list[ElectronicCopy], ref_of: dict, files: _FileFacts,
                     allowed: tuple[str, ...]) -> Item:
    item = Item("usability", "format identified and on the allowed list")
    for copy in copies:
        if not files.present(copy):
            continue
        fmt = identify(files.head(copy))
        if fmt.name not in allowed:
            item.fail(ref_of[copy.record_id], f"{fmt.name} is not an allowed format "
                      f"({', '.join(allowed)})", copy.id)
    if not copies:
        item.not_checked("no electronic copies in the scope")
    return item


def opens(path: Path) -> str | None:
    """Why the file does not open with a real parser (None: it opens)."""
    with path.open("rb") as stream:
        head = stream.read(HEAD)
    fmt = identify(head)
    if fmt.name == "PDF":
        return _pdf_problem(path)
    if fmt.name == "OFD":
        return _ofd_problem(path)
    if fmt.media_type.startswith("image/"):
        from PIL import Image

        try:
            with Image.open(path) as image:
                image.load()
        except Exception as exc:  # any decoder failure means it does not open
            return f"the image does not decode: {exc}"
        return None
    if fmt.name == "ZIP container":
        return "a ZIP container of unknown content (a private compression)"
    return None


def _pdf_problem(path: Path) -> str | None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            return "the PDF is encrypted"
        pages = len(reader.pages)
        if pages:
            reader.pages[0].extract_text()
    except (PyPdfError, ValueError, KeyError, OSError, TypeError) as exc:
        return f"the PDF does not open: {exc}"
    if pages == 0:
        return "the PDF has no pages"
    return None


def _ofd_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as container:
            if container.testzip() is not None:
                return "the OFD container is damaged"
            names = set(container.namelist())
            if "OFD.xml" not in names:
                return "the OFD container has no OFD.xml"
            root = ElementTree.fromstring(container.read("OFD.xml"))
            doc_roots = [el.text for el in root.iter() if el.tag.endswith("DocRoot") and el.text]
            if not doc_roots:
                return "OFD.xml names no DocRoot"
            if any(flag.flag_bits & 0x1 for flag in container.infolist()):
                return "the OFD container is encrypted"
            for doc in doc_roots:
                if doc.strip().lstrip("/") not in names:
                    return f"OFD.xml names {doc} as DocRoot, which the container lacks"
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError) as exc:
        return f"the OFD does not open: {exc}"
    return None


def _files_open(copies: list[ElectronicCopy], ref_of: dict, files: _FileFacts) -> Item:
    item = Item("usability", "the file opens (real parser), not encrypted")
    for copy in copies:
        if not files.present(copy):
            continue
        problem = opens(files.path(copy))
        if problem:
            item.fail(ref_of[copy.record_id], problem, copy.id)
    if not copies:
        item.not_checked("no electronic copies in the scope")
    return item


def _backup_restores(stage: str, folder: Path | None) -> Item:
    item = Item("usability", "a backup restores (preservation stage)")
    if stage != "preservation":
        item.not_checked(f"asked at the preservation stage only, this is {stage}")
        return item
    from server.services import backups

    if folder is None:
        item.not_checked("no backup folder was given to this check")
        return item
    newest = backups.latest(folder) if folder.is_dir() else None
    if newest is None:
        item.fail(None, f"no backup in {folder}: take one with `archive-twin backup` (or set "
                        "ARCHIVE_TWIN_BACKUP_INTERVAL_HOURS for the scheduled one)")
        return item
    for problem in backups.trial(newest):
        item.fail(None, f"{newest.name}: {problem}")
    return item


# --- 安全性 security -----------------------------------------------------------------------


def clamd_scan(address: str, path: Path, timeout: float = 30.0) -> str | None:
    """clamd's verdict on one file over INSTREAM: None when clean, else the finding."""
    if address.startswith("/"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address
    else:
        host, _, port = address.rpartition(":")
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host or "127.0.0.1", int(port))
    conn.settimeout(timeout)
    with conn:
        conn.connect(target)
        conn.sendall(b"zINSTREAM\0")
        with path.open("rb") as stream:
            while chunk := stream.read(65536):
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
        conn.sendall(struct.pack("!L", 0))
        answer = b""
        while not answer.endswith(b"\0"):
            part = conn.recv(4096)
            if not part:
                break
            answer += part
    verdict = answer.rstrip(b"\0").decode("utf-8", "replace")
    return None if verdict.endswith("OK") else verdict.removeprefix("stream: ")


def _virus_scan(copies: list[ElectronicCopy], ref_of: dict, files: _FileFacts,
                clamd: str | None, scan: Callable[[str, Path], str | None] = clamd_scan) -> Item:
    item = Item("security", "virus scan (ClamAV clamd)")
    if not clamd:
        item.not_checked("no virus scanner is configured (ARCHIVE_TWIN_CLAMD)")
        return item
    if not copies:
        item.not_checked("no electronic copies in the scope")
        return item
    for copy in copies:
        if not files.present(copy):
            continue
        try:
            found = scan(clamd, files.path(copy))
        except OSError as exc:
            item.not_checked(f"clamd at {clamd} did not answer: {exc}")
            item.failures.clear()
            return item
        if found:
            item.fail(ref_of[copy.record_id], f"clamd: {found}", copy.id)
    return item


def _access_control(rows: list[Record]) -> Item:
    item = Item("security", "access control on classified records")
    for r in rows:
        if CLEARANCE_ORDER.get(r.classification, 0) >= CLEARANCE_ORDER["confidential"] and (
                r.access == "open"):
            item.fail(r.reference_code, f"密级 {register_terms.CLASSIFICATION_ZH[r.classification]}"
                      " but 开放标识 开放: a state secret cannot be open")
    return item


def counts(session: Session) -> int:
    """How many checks are stored."""
    return session.exec(select(func.count()).select_from(FourPropertyCheck)).one()
