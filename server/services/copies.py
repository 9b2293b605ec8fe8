"""Electronic copies: the content-addressed store, the four-property check, attach and download.

The store keeps each distinct file once, under its SHA-256 (`ab/cd/abcd…`). An upload is
written to a temporary file in the store while it is hashed, then renamed into place, so a
half-written or refused upload never looks like a stored file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.copies import CopyCheck, ElectronicCopy, ElectronicCopyPublic, PropertyCheck
from server.models.holdings import Record
from server.models.people import User
from server.services import audit, downloads, records
from server.services.errors import DomainError, Forbidden, NotFound
from server.services.listing import page
from server.services.people import clearance_levels, may_see

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
HEAD = 8192
PROPERTIES = ("authenticity", "integrity", "usability", "security")


class TooLarge(DomainError):
    """An upload is bigger than the configured limit (413)."""


# --- the store --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A file now in the store: its hash, size and where it lies."""

    sha256: str
    size: int
    path: Path


class Intake:
    """One upload on its way into the store: write chunks, then finish or discard."""

    def __init__(self, store: CopyStore, max_bytes: int) -> None:
        self._store = store
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        store.incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=store.incoming)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._temp = Path(name)

    def write(self, chunk: bytes) -> None:
        """Add bytes; over the limit the upload is dropped and TooLarge raised."""
        if self._file is None:
            raise RuntimeError("this upload is already finished")
        self.size += len(chunk)
        if self.size > self._max:
            self.discard()
            raise TooLarge("the file is larger than the limit of {_max:,} bytes",
                           _max=self._max)
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> Stored:
        """Put the bytes in place under their hash (or drop them if already held)."""
        if self._file is None:
            raise RuntimeError("this upload is already finished")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        digest = self._hash.hexdigest()
        target = self._store.path_of(digest)
        if target.exists():
            self._temp.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._temp, target)
        return Stored(digest, self.size, target)

    def discard(self) -> None:
        """Forget this upload and remove what was written."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._temp.unlink(missing_ok=True)


class CopyStore:
    """Content-addressed files under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / "incoming"

    def path_of(self, sha256: str) -> Path:
        """Where the file with this hash lives (whether or not it is there)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def intake(self, max_bytes: int) -> Intake:
        """Start receiving one upload."""
        return Intake(self, max_bytes)

    def put_bytes(self, data: bytes, max_bytes: int) -> Stored:
        """Store bytes already in memory (imports, tests)."""
        intake = self.intake(max_bytes)
        intake.write(data)
        return intake.finish()


def hash_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- formats and the four-property check ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Format:
    """A file format identified from its first bytes."""

    name: str
    media_type: str
    executable: bool = False


_MAGIC: tuple[tuple[bytes, int, Format], ...] = (
    (b"%PDF-", 0, Format("PDF", "application/pdf")),
    (b"\x89PNG\r\n\x1a\n", 0, Format("PNG", "image/png")),
    (b"\xff\xd8\xff", 0, Format("JPEG", "image/jpeg")),
    (b"GIF87a", 0, Format("GIF", "image/gif")),
    (b"GIF89a", 0, Format("GIF", "image/gif")),
    (b"II*\x00", 0, Format("TIFF", "image/tiff")),
    (b"MM\x00*", 0, Format("TIFF", "image/tiff")),
    (b"BM", 0, Format("BMP", "image/bmp")),
    (b"\x7fELF", 0, Format("ELF executable", "application/x-executable", executable=True)),
    (b"MZ", 0, Format("Windows executable", "application/vnd.microsoft.portable-executable",
                      executable=True)),
    (b"\xfe\xed\xfa\xce", 0, Format("Mach-O executable", "application/x-mach-binary", True)),
    (b"\xfe\xed\xfa\xcf", 0, Format("Mach-O executable", "application/x-mach-binary", True)),
    (b"\xce\xfa\xed\xfe", 0, Format("Mach-O executable", "application/x-mach-binary", True)),
    (b"\xcf\xfa\xed\xfe", 0, Format("Mach-O executable", "application/x-mach-binary", True)),
    (b"\xca\xfe\xba\xbe", 0, Format("Mach-O universal binary", "application/x-mach-binary", True)),
    (b"#!", 0, Format("script", "text/x-script", executable=True)),
    (b"PK\x03\x04", 0, Format("ZIP container", "application/zip")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, Format("OLE2 (legacy Office)",
                                                     "application/x-ole-storage")),
)
_ZIP_KINDS = (
    (b"word/", Format("Word (OOXML)",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")),
    (b"xl/", Format("Excel (OOXML)",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
    (b"ppt/", Format("PowerPoint (OOXML)",
                     "application/vnd.openxmlformats-officedocument.presentationml.presentation")),
    (b"OFD.xml", Format("OFD", "application/ofd")),
)
UNKNOWN = Format("unknown", "application/octet-stream")
TEXT = Format("plain text", "text/plain; charset=utf-8")
_SCRIPT_MARKERS = (b"<script", b"javascript:", b"vbscript:")


def identify(head: bytes) -> Format:
    """The format of a file from its first bytes (never from its name)."""
    if head[4:8] == b"ftyp":
        return Format("MP4/QuickTime", "video/mp4")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Format("WebP", "image/webp")
    for magic, offset, found in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if found.name == "ZIP container":
                return next((kind for marker, kind in _ZIP_KINDS if marker in head), found)
            return found
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return Format("HTML", "text/html; charset=utf-8")
    if head.lstrip().startswith(b"<?xml"):
        return Format("XML", "application/xml")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end of the head is fine.
        if exc.start < len(head) - 4:
            return UNKNOWN
    if b"\x00" in head:
        return UNKNOWN
    return TEXT


def _pdf_usable(path: Path, size: int) -> tuple[bool, str, bool]:
    """(opens, detail, complete) for a PDF: header, cross-reference and end-of-file marker."""
    with path.open("rb") as stream:
        head = stream.read(1024)
        stream.seek(max(0, size - 2048))
        tail = stream.read()
    if not head.startswith(b"%PDF-"):
        return False, "no %PDF- header", False
    complete = b"%%EOF" in tail
    has_xref = b"startxref" in tail
    if not complete:
        return False, "the PDF ends without %%EOF: the file is cut short", False
    if not has_xref:
        return False, "the PDF has no startxref: its cross-reference is missing", True
    version = head[5:8].decode("ascii", "replace")
    return True, f"PDF {version}: header, startxref and %%EOF present", True


def _image_usable(path: Path) -> tuple[bool, str, bool]:
    """(opens, detail, complete) for an image: Pillow must decode every pixel."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            size, mode, kind = image.size, image.mode, image.format
            image.load()
    except Exception as exc:  # any decoder failure means the image does not open
        return False, f"the image does not open: {exc}", False
    return True, f"{kind} image {size[0]}×{size[1]} ({mode}) opens", True


def _pdf_has_active_content(path: Path) -> str | None:
    with path.open("rb") as stream:
        data = stream.read(16 * CHUNK)
    for marker in (b"/JavaScript", b"/Launch", b"/EmbeddedFile"):
        if marker in data:
            return marker.decode()
    return None


def assess(path: Path, *, sha256: str, size: int, file_name: str, added_by: str,
           max_bytes: int) -> tuple[Format, dict[str, PropertyCheck], str]:
    """The four-property check (authenticity, integrity, usability, security) of a stored file."""
    with path.open("rb") as stream:
        head = stream.read(HEAD)
    fmt = identify(head)
    actual_size = path.stat().st_size
    actual_hash = hash_file(path)

    authentic = actual_hash == sha256
    authenticity = PropertyCheck(
        ok=authentic and bool(added_by),
        detail=(f"SHA-256 {sha256} recorded at ingest by {added_by}" if authentic
                else f"stored bytes hash to {actual_hash}, not the recorded {sha256}"),
    )

    if fmt.name == "PDF":
        opens, usable_detail, complete = _pdf_usable(path, actual_size)
    elif fmt.media_type.startswith("image/"):
        opens, usable_detail, complete = _image_usable(path)
    elif fmt is UNKNOWN:
        opens, usable_detail, complete = False, "the format cannot be identified from its bytes", True
    else:
        opens, usable_detail, complete = True, f"identified as {fmt.name}", True
    usability = PropertyCheck(ok=opens and not fmt.executable,
                              detail=usable_detail if not fmt.executable
                              else f"{fmt.name} is not an archival format")

    missing = [name for name, value in (("file name", file_name), ("media type", fmt.media_type),
                                        ("added by", added_by)) if not value]
    whole = complete and actual_size == size
    problems = []
    if actual_size != size:
        problems.append(f"{actual_size} bytes stored, {size} received")
    if not complete:
        problems.append("the file is incomplete")
    if missing:
        problems.append("missing metadata: " + ", ".join(missing))
    integrity = PropertyCheck(
        ok=whole and not missing,
        detail="; ".join(problems) or f"{size:,} bytes complete; name, type and provenance recorded",
    )

    threats = []
    if fmt.executable:
        threats.append(f"executable content ({fmt.name})")
    if fmt.name == "PDF" and (marker := _pdf_has_active_content(path)):
        threats.append(f"active content in the PDF ({marker})")
    if fmt.name in ("HTML", "XML", "plain text") and any(m in head.lower() for m in _SCRIPT_MARKERS):
        threats.append("script in the document")
    if actual_size > max_bytes:
        threats.append(f"larger than the limit of {max_bytes:,} bytes")
    security = PropertyCheck(
        ok=not threats,
        detail="; ".join(threats) or "no executable or active content; size within limits",
    )

    checks = {"authenticity": authenticity, "integrity": integrity, "usability": usability,
              "security": security}
    if not (authenticity.ok and integrity.ok and security.ok):
        outcome = "failed"
    elif not usability.ok:
        outcome = "warning" if fmt is UNKNOWN else "failed"
    else:
        outcome = "passed"
    return fmt, checks, outcome


# --- copies of records ------------------------------------------------------------------------


def clean_file_name(name: str | None) -> str:
    """A file name safe to keep and send back: no folders, no control characters."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    return name[:255] or "copy"


def add_copy(session: Session, *, reference_code: str, stored: Stored, file_name: str | None,
             actor: str, max_bytes: int) -> tuple[ElectronicCopy, bool]:
    """Attach stored bytes to a record, checked; returns (copy, already held by this record)."""
    record = records.by_reference(session, reference_code)
    held = session.exec(
        select(ElectronicCopy).where(ElectronicCopy.record_id == record.id,
                                     ElectronicCopy.sha256 == stored.sha256)
    ).first()
    if held is not None:
        return held, True
    name = clean_file_name(file_name)
    fmt, checks, outcome = assess(stored.path, sha256=stored.sha256, size=stored.size,
                                  file_name=name, added_by=actor, max_bytes=max_bytes)
    stamp = now()
    copy = ElectronicCopy(
        record_id=saved_id(record), sha256=stored.sha256, size_bytes=stored.size, file_name=name,
        media_type=fmt.media_type, format_name=fmt.name, added_by=actor, added_at=stamp,
        outcome=outcome, checks={k: v.model_dump() for k, v in checks.items()},
        checked_at=stamp, fixity="ok", fixity_checked_at=stamp,
    )
    session.add(copy)
    session.flush()
    failed = [k for k, v in checks.items() if not v.ok]
    session.add(CopyCheck(
        copy_id=saved_id(copy), kind="ingest", at=stamp, outcome=outcome, actor=actor,
        detail=("all four properties hold" if not failed
                else "; ".join(f"{k}: {checks[k].detail}" for k in failed))[:500],
    ))
    audit.record(session, actor=actor, action="attach", entity="copy", entity_id=str(copy.id),
                 after={"record": record.reference_code, "sha256": stored.sha256,
                        "file_name": name, "size_bytes": stored.size, "outcome": outcome})
    if outcome == "failed":
        log.warning("copy %s of %s failed its check: %s", copy.id, record.reference_code, failed)
    return copy, False


def list_copies(session: Session, reference_code: str, *, clearance: str, limit: int = 50,
                offset: int = 0) -> tuple[list[ElectronicCopy], int]:
    """The copies of a record the caller may see, oldest first."""
    record = records.by_reference(session, reference_code, clearance=clearance)
    query = select(ElectronicCopy).where(ElectronicCopy.record_id == record.id)
    return page(session, query.order_by(col(ElectronicCopy.id)), limit=limit, offset=offset)


def list_all(session: Session, *, clearance: str, fixity: str | None = None,
             outcome: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[ElectronicCopy], int]:
    """Copies of records the clearance allows, optionally by fixity state or check outcome."""
    query = (select(ElectronicCopy).join(Record, col(Record.id) == ElectronicCopy.record_id)
             .where(col(Record.classification).in_(clearance_levels(clearance))))
    if fixity:
        query = query.where(ElectronicCopy.fixity == fixity)
    if outcome:
        query = query.where(ElectronicCopy.outcome == outcome)
    return page(session, query.order_by(col(ElectronicCopy.id)), limit=limit, offset=offset)


class _AboveClearance(NotFound):
    """A copy of a record above the clearance: answered exactly as a missing copy."""


def get_copy(session: Session, copy_id: int, *, clearance: str) -> tuple[ElectronicCopy, Record]:
    """One copy and its record; NotFound, the same as for a missing copy, when the record is
    above the clearance (a different answer would tell that the record exists)."""
    copy = session.get(ElectronicCopy, copy_id)
    if copy is None:
        raise NotFound("no electronic copy has the id {copy_id}",
                       copy_id=copy_id)
    record = session.get(Record, copy.record_id)
    if record is None or not may_see(clearance, record.classification):
        raise _AboveClearance("no electronic copy has the id {copy_id}",
                              copy_id=copy_id)
    return copy, record


def open_for_download(session: Session, store: CopyStore, copy_id: int, *, clearance: str,
                      actor: str, user: User | None = None) -> tuple[ElectronicCopy, Path]:
    """Check the clearance (and, for a borrower, the download grant: services/downloads.py),
    audit the download (or the refusal) and give the file's path."""
    try:
        copy, record = get_copy(session, copy_id, clearance=clearance)
    except _AboveClearance:
        audit.record(session, actor=actor, action="download_refused", entity="copy",
                     entity_id=str(copy_id), after={"clearance": clearance})
        session.commit()
        raise
    if user is not None:
        try:
            downloads.check(session, user, record)
        except Forbidden as exc:
            audit.record(session, actor=actor, action="download_refused", entity="copy",
                         entity_id=str(copy_id),
                         after={"record": record.reference_code, "why": exc.message})
            session.commit()
            raise
    path = store.path_of(copy.sha256)
    if not path.is_file():
        raise NotFound("the bytes of copy {copy_id} are missing from the store; run "
                       "`archive-twin copies verify`",
                       copy_id=copy_id)
    audit.record(session, actor=actor, action="download", entity="copy", entity_id=str(copy.id),
                 after={"record": record.reference_code, "sha256": copy.sha256,
                        "file_name": copy.file_name})
    return copy, path


def checks_of(session: Session, copy_id: int, *, clearance: str) -> list[CopyCheck]:
    """Every check recorded for a copy, oldest first."""
    get_copy(session, copy_id, clearance=clearance)
    return list(session.exec(
        select(CopyCheck).where(CopyCheck.copy_id == copy_id).order_by(col(CopyCheck.id))
    ).all())


def present(session: Session, copies: list[ElectronicCopy], *,
            already_held: bool = False) -> list[ElectronicCopyPublic]:
    """Copies as the API shows them."""
    ids = {c.record_id for c in copies}
    refs = dict(session.exec(select(Record.id, Record.reference_code)
                             .where(col(Record.id).in_(ids))).all()) if ids else {}
    return [
        ElectronicCopyPublic(
            **copy.model_dump(exclude={"record_id", "checks"}),
            record=refs.get(copy.record_id, ""),
            checks={k: PropertyCheck(**v) for k, v in (copy.checks or {}).items()},
            download_url=f"/api/copies/{copy.id}",
            already_held=already_held,
        )
        for copy in copies
    ]
