"""Batch import of a register of records from CSV or XLSX.

Every row is checked before anything is written. By default one bad row means nothing is
imported and the report lists every problem (row, column, value, what is wrong); with
`skip_invalid` the good rows go in. Importing the same file again changes nothing: rows are
matched by reference code, unchanged ones are left alone and changed ones are updated (and
audited like any other change).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session, col, select

from server.clock import now
from server.models.description import RegisterImport
from server.models.holdings import Box, BoxStatus, Record, RecordCreate, RecordUpdate
from server.models.places import LOCATION_KINDS, Location, LocationCreate
from server.services import audit, boxes, locations, records, reference_codes, register_terms
from server.services.codes import CodeScheme
from server.services.errors import Conflict, DomainError, Invalid
from server.services.people import may_see

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# Headers and values are read by server.services.register_terms (one home for both).
RECORD_FIELDS = ("reference_code", "title", "description", "fonds", "series", "year", "retention",
                 "retention_years", "classification", "classification_term", "access", "level",
                 "category", "item", "date", "creator", "document_number", "pages", "note")
BOX_CODE = re.compile(r"^B\d{8}$")
LOCATION_CODE = re.compile(r"^L\d{8}$")
PATH_SPLIT = re.compile(r"\s*(?:›|>|/)\s*")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one cell (or row) of the file."""

    row: int
    column: str
    value: str
    message: str


@dataclass(frozen=True, slots=True)
class Line:
    """What one row of the register does: create, update or leave a record (or is refused)."""

    row: int
    reference_code: str | None  # None: numbered when written, by its class's template
    title: str
    action: str  # "create", "update", "unchanged" or "refused"


@dataclass(slots=True)
class ImportReport:
    """What an import did, or would have done, and every problem found."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    boxes_created: int = 0
    locations_created: int = 0
    imported: bool = False
    problems: list[Problem] = field(default_factory=list)
    gaps: list[reference_codes.Gap] = field(default_factory=list)
    import_id: int | None = None
    lines: list[Line] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and the CLI."""
        return {
            "imported": self.imported, "rows": self.rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped,
            "boxes_created": self.boxes_created, "locations_created": self.locations_created,
            "problems": [
                {"row": p.row, "column": p.column, "value": p.value, "message": p.message}
                for p in self.problems
            ],
            "gaps": [{"class": g.klass, "missing": g.missing} for g in self.gaps],
            "import": self.import_id,
        }


# --- reading the file ---------------------------------------------------------------------


def decode_register(data: bytes) -> str:
    """Text of a CSV file in UTF-8 (with or without BOM) or GB18030; anything else is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 2:
        raise Invalid("the file is UTF-16; save it as CSV UTF-8 (or GB18030) and import again",
                      field="file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        decoded = data.decode("gb18030")
    except UnicodeDecodeError:
        decoded = None
    if decoded is not None and _looks_like_gb_text(data):
        return decoded
    raise Invalid(
        "the file is neither UTF-8 nor GB18030 (it may be Latin-1, Big5 or Shift-JIS); "
        "save it as CSV UTF-8 and import again", field="file",
    )


def _looks_like_gb_text(data: bytes) -> bool:
    """GB18030 decodes almost anything; real Chinese text is mostly in the common GB2312 block."""
    pairs = common = 0
    i = 0
    while i < len(data):
        byte = data[i]
        if byte < 0x80:
            i += 1
            continue
        if i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x39:  # four-byte sequence
            pairs += 1
            i += 4
            continue
        pairs += 1
        if 0xA1 <= byte <= 0xF7 and i + 1 < len(data) and data[i + 1] >= 0xA1:
            common += 1
        i += 2
    return pairs > 0 and common / pairs >= 0.8


def read_rows(data: bytes, file_name: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, {header: value}) for each non-empty row of a CSV or XLSX file."""
    if data.startswith(b"PK\x03\x04") or (file_name or "").lower().endswith(".xlsx"):
        yield from _xlsx_rows(data)
        return
    reader = csv.reader(io.StringIO(decode_register(data), newline=""))
    header = next(reader, None)
    if not header:
        raise Invalid("the file is empty: the first row must name the columns", field="file")
    header = [h.strip() for h in header]
    for number, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            yield number, dict(zip(header, cells, strict=False))


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken workbook: say so rather than fail
        raise Invalid("the file is not a readable XLSX workbook: {exc}", exc=exc, field="file") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise Invalid("the sheet is empty: the first row must name the columns", field="file")
        names = [str(h).strip() if h is not None else "" for h in header]
        for number, cells in enumerate(rows, start=2):
            if any(c not in (None, "") for c in cells):
                yield number, dict(zip(names, cells, strict=False))
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):  # a date cell of a workbook: the day is what counts
        value = value.date().isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    return str(value).strip()


# --- checking the rows --------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    number: int
    data: RecordCreate
    columns: dict[str, str]  # field → header as written in the file
    raw: dict[str, str]  # field → cell text
    location: str | None = None
    existing: Record | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def _parse_row(number: int, cells: dict[str, Any], language: str = "en"
               ) -> tuple[_Row | None, list[Problem]]:
    known: dict[str, Any] = {}
    columns: dict[str, str] = {}
    raw: dict[str, str] = {}
    meta: dict[str, str] = {}
    for header, value in cells.items():
        text_value = _cell(value)
        target = register_terms.header_field(header or "")
        if target is None:
            if header and text_value:
                meta[header] = text_value
            continue
        columns[target], raw[target] = header, text_value
        if text_value:
            known[target] = text_value
    location = known.pop("location", None)
    problems: list[Problem] = []
    numbered = "category" in columns and "year" in columns  # codes can be built
    for required in ("reference_code", "title"):
        if required not in columns and not (required == "reference_code" and numbered):
            problems.append(Problem(number, required, "", f"the file has no {required} column"))
    known, unread = register_terms.read_each_term(known)
    for term in unread:
        problems.append(Problem(number, columns.get(term.field, term.field), term.value,
                                term.message(language)))
    if unread:
        return None, problems
    try:
        data = RecordCreate.model_validate({**known, "metadata": meta})
    except ValidationError as exc:
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, register_terms.TermError):
                problems.append(Problem(number, columns.get(cause.field, cause.field),
                                        cause.value, cause.message(language)))
                continue
            name = str(error["loc"][0]) if error["loc"] else "row"
            problems.append(Problem(number, columns.get(name, name), raw.get(name, ""),
                                    error["msg"]))
        return None, problems
    try:
        filled = reference_codes.check(
            None, code=data.reference_code, fonds=data.fonds, category=data.category,
            year=data.year, retention=data.retention, retention_years=data.retention_years,
            item=data.item, given=data.model_fields_set) if data.reference_code else {}
        for key, value in filled.items():
            setattr(data, key, value)
    except Invalid as exc:
        name = exc.field or "reference_code"
        problems.append(Problem(number, columns.get(name, name), raw.get(name, ""),
                                _in_language(exc, language, prefix=data.reference_code)))
    try:
        records._check_retention(data.retention, data.retention_years)
    except Invalid as exc:
        name = exc.field or "retention"
        problems.append(Problem(number, columns.get(name, name), raw.get(name, ""), exc.message))
    if location and not data.box:
        problems.append(Problem(number, columns.get("location", "location"), location,
                                "a location needs a box: the location is where the box stands"))
    if problems:
        return None, problems
    return _Row(number, data, columns, raw, location=location), []


def _changes(session: Session, row: _Row, record: Record) -> dict[str, Any]:
    """What a row would change in an existing record (empty: nothing)."""
    # Only the columns the file has are compared: a register without a description column
    # leaves descriptions alone; extra columns are merged into the metadata.
    given = {f for f in RECORD_FIELDS if f in row.columns} - {"reference_code"}
    # A column carries its companion: 机密★10年 its term, 定期5年 its years.
    if "classification" in given:
        given.add("classification_term")
    if "retention" in given:
        given.add("retention_years")
    wanted = row.data.model_dump(include=given)
    changes = {k: v for k, v in wanted.items() if getattr(record, k) != v}
    merged = {**(record.extra or {}), **row.data.meta}
    if (record.extra or {}) != merged:
        changes["meta"] = merged
    if "box" in row.columns:
        box = session.get(Box, record.box_id) if record.box_id else None
        current_box = box.code if box else None  # the foreign key keeps a record's box there
        if current_box != row.data.box:
            changes["box"] = row.data.box
    return changes


@dataclass(slots=True)
class _Plan:
    rows: list[_Row] = field(default_factory=list)
    new_boxes: set[str] = field(default_factory=set)
    new_paths: set[str] = field(default_factory=set)
    places: dict[str, Location | str] = field(default_factory=dict)  # cell → location or path


def _plan(session: Session, cells: list[tuple[int, dict[str, Any]]], *, create_missing: bool,
          report: ImportReport, language: str = "en", clearance: str | None = None) -> _Plan:
    plan = _Plan()
    seen: dict[str, int] = {}
    box_places: dict[str, tuple[str, int]] = {}
    parsed: list[_Row] = []
    for number, row_cells in cells:
        row, problems = _parse_row(number, row_cells, language)
        report.problems.extend(problems)
        if row is None:
            continue
        ref = row.data.reference_code
        if not ref:
            parsed.append(row)  # numbered when written, per the class's template
            continue
        try:
            reference_codes.check(
                session, code=ref, fonds=row.data.fonds, category=row.data.category,
                year=row.data.year, retention=row.data.retention,
                retention_years=row.data.retention_years, item=row.data.item,
                given=row.data.model_fields_set)
        except Invalid as exc:
            report.problems.append(Problem(number, row.columns.get("reference_code", "reference_code"),
                                           ref, _in_language(exc, language)))
            continue
        if ref in seen:
            report.problems.append(Problem(number, row.columns["reference_code"], ref,
                                           f"the same reference code is already on row {seen[ref]}"))
            continue
        seen[ref] = number
        parsed.append(row)

    box_codes = {r.data.box.strip().upper() for r in parsed if r.data.box}
    known_boxes = set(session.exec(select(Box.code).where(col(Box.code).in_(box_codes))).all())
    existing = {r.reference_code: r for r in session.exec(
        select(Record).where(col(Record.reference_code).in_(list(seen))))}
    for row in parsed:
        bad = False
        if row.data.box:
            code = row.data.box = row.data.box.strip().upper()
            column = row.columns.get("box", "box")
            if code not in known_boxes:
                if not BOX_CODE.match(code):
                    report.problems.append(Problem(row.number, column, code,
                                                   "a box code is B and 8 digits, e.g. B00000123"))
                    bad = True
                elif create_missing:
                    plan.new_boxes.add(code)
                else:
                    report.problems.append(Problem(
                        row.number, column, code,
                        f"no box has the code {code}; import with create-missing to create it"))
                    bad = True
        if row.location:
            bad |= _plan_location(session, row, plan, create_missing, report)
            if row.data.box and not bad:
                where = row.location.strip().upper()
                earlier = box_places.setdefault(row.data.box, (where, row.number))
                if earlier[0] != where:
                    report.problems.append(Problem(
                        row.number, row.columns.get("location", "location"), row.location,
                        f"box {row.data.box} is put at {earlier[0]} on row {earlier[1]}"))
                    bad = True
        if bad:
            continue
        row.existing = existing.get(row.data.reference_code) if row.data.reference_code else None
        if clearance is not None and _above(clearance, row, report, language):
            continue
        if row.existing is not None:
            row.changes = _changes(session, row, row.existing)
        plan.rows.append(row)
    return plan


def _above(clearance: str, row: _Row, report: ImportReport, language: str) -> bool:
    """True (and a problem noted) when the row reaches above the importer's clearance: a record
    they may not see is not theirs to change, nor one they could no longer see to make."""
    if row.existing is not None and not may_see(clearance, row.existing.classification):
        # Said as create_record says a taken code: no more than the API tells.
        report.problems.append(Problem(
            row.number, row.columns.get("reference_code", "reference_code"),
            row.data.reference_code,
            f"档号 {row.data.reference_code} 已被使用" if language == "zh" else
            f"a record with the reference code {row.data.reference_code} already exists"))
        return True
    if not may_see(clearance, row.data.classification):
        report.problems.append(Problem(
            row.number, row.columns.get("classification", "classification"),
            row.raw.get("classification", row.data.classification),
            f"密级 {register_terms.CLASSIFICATION_ZH.get(row.data.classification)} 高于您的权限 "
            f"{register_terms.CLASSIFICATION_ZH.get(clearance, clearance)}" if language == "zh" else
            f"the classification {row.data.classification} is above your clearance {clearance}"))
        return True
    return False


def _plan_location(session: Session, row: _Row, plan: _Plan, create_missing: bool,
                   report: ImportReport) -> bool:
    """Resolve a location cell; True when it is a problem."""
    assert row.location is not None, "only rows that name a location are planned here"
    cell = row.location.strip()
    column = row.columns.get("location", "location")
    if cell in plan.places:
        return False
    if LOCATION_CODE.match(cell.upper()):
        place = session.exec(select(Location).where(Location.code == cell.upper())).first()
        if place is None:
            report.problems.append(Problem(
                row.number, column, cell,
                f"no location has the code {cell.upper()} (to create places, give their path, "
                "e.g. Room 1 › Unit 03 › A)"))
            return True
        plan.places[cell] = place
        return False
    parts = [p for p in PATH_SPLIT.split(cell) if p]
    path = locations.PATH_SEPARATOR.join(parts)
    if len(parts) > len(LOCATION_KINDS):
        report.problems.append(Problem(row.number, column, cell,
                                       f"a path has at most {len(LOCATION_KINDS)} levels"))
        return True
    place = session.exec(select(Location).where(Location.path == path)).first()
    if place is not None:
        plan.places[cell] = place
        return False
    if not create_missing:
        report.problems.append(Problem(
            row.number, column, cell,
            f"no location has the path {path}; import with create-missing to create it"))
        return True
    plan.places[cell] = path
    plan.new_paths.add(path)
    return False


# --- writing -----------------------------------------------------------------------------


def _create_path(session: Session, path: str, *, scheme: CodeScheme, actor: str) -> tuple[Location, int]:
    """The location at this path, creating what is missing (kinds follow the depth)."""
    parts = path.split(locations.PATH_SEPARATOR)
    parent: Location | None = None
    made = 0
    for depth, name in enumerate(parts):
        here = locations.PATH_SEPARATOR.join(parts[:depth + 1])
        place = session.exec(select(Location).where(Location.path == here)).first()
        if place is None:
            place = locations.create_location(
                session, LocationCreate(name=name, kind=LOCATION_KINDS[depth],
                                        parent=parent.code if parent else None),
                scheme=scheme, actor=actor)
            made += 1
        parent = place
    assert parent is not None
    return parent, made


def _create_box(session: Session, code: str, *, scheme: CodeScheme, actor: str) -> None:
    """A box with a code given by the file (its number is the code's digits)."""
    number = int(code[1:])
    session.add(Box(id=number, code=scheme.box_code(number), epc=scheme.box_epc(number),
                    status=BoxStatus.IN_TRANSIT, created_at=now()))
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # The id was given, not drawn: keep the sequence ahead of it.
        session.execute(text(
            "SELECT setval(pg_get_serial_sequence('boxes', 'id'), "
            "GREATEST((SELECT MAX(id) FROM boxes), 1))"))
    audit.record(session, actor=actor, action="create", entity="box", entity_id=code,
                 after={"code": code, "source": "import"})
    box = session.get(Box, number)
    assert box is not None
    boxes.tell_changed(session, box, reason="import", by=actor)


def _write_row(session: Session, row: _Row, plan: _Plan, *, actor: str,
               report: ImportReport) -> None:
    if row.existing is None:
        records.create_record(session, row.data, actor=actor)
        report.created += 1
    elif row.changes:
        records.update_record(session, row.data.reference_code,
                              RecordUpdate.model_validate(row.changes), actor=actor)
        report.updated += 1
    else:
        report.unchanged += 1
    if row.location and row.data.box:
        place = plan.places[row.location.strip()]
        assert isinstance(place, Location)
        box = boxes.by_code(session, row.data.box)
        if box.location_id != place.id:
            try:
                boxes.move_box(session, row.data.box, to=place.code, reason="import", user=actor)
            except DomainError as exc:
                raise Conflict(exc.template, field="location", **exc.params) from exc


def preview_records(session: Session, data: bytes, *, file_name: str | None = None,
                    create_missing: bool = False, language: str = "en",
                    clearance: str | None = None) -> ImportReport:
    """Check every row and say, row by row, what an import would do; writes nothing.

    With a clearance, rows that reach above it (a record the importer may not see, or a
    classification higher than theirs) are refused.
    """
    report = ImportReport()
    cells = list(read_rows(data, file_name))
    report.rows = len(cells)
    plan = _plan(session, cells, create_missing=create_missing, report=report, language=language,
                 clearance=clearance)
    planned = {row.number: row for row in plan.rows}
    refused = {p.row for p in report.problems}
    for number, row_cells in cells:
        row = planned.get(number)
        if row is None or number in refused:
            title = next((_cell(v) for h, v in row_cells.items()
                          if register_terms.header_field(h or "") == "title"), "")
            report.lines.append(Line(number, None, title, "refused"))
            continue
        action = ("create" if row.existing is None
                  else "update" if row.changes else "unchanged")
        report.lines.append(Line(number, row.data.reference_code or None, row.data.title, action))
    report.skipped = len(refused)
    report.created = sum(line.action == "create" for line in report.lines)
    report.updated = sum(line.action == "update" for line in report.lines)
    report.unchanged = sum(line.action == "unchanged" for line in report.lines)
    report.boxes_created, report.locations_created = len(plan.new_boxes), len(plan.new_paths)
    return report


def import_records(
    session: Session,
    data: bytes,
    *,
    scheme: CodeScheme,
    actor: str,
    file_name: str | None = None,
    skip_invalid: bool = False,
    create_missing: bool = False,
    on_progress: Progress | None = None,
    language: str = "en",
    clearance: str | None = None,
) -> ImportReport:
    """Check every row, then import all of them (or, with skip_invalid, the good ones).

    The caller commits when `report.imported` is true; on refusal nothing was written.
    """
    report = ImportReport()
    cells = list(read_rows(data, file_name))
    report.rows = len(cells)
    if on_progress:
        on_progress("checked", 0, report.rows)
    plan = _plan(session, cells, create_missing=create_missing, report=report, language=language,
                 clearance=clearance)
    if on_progress:
        on_progress("checked", report.rows, report.rows)
    if report.problems and not skip_invalid:
        return report
    bad_rows = {p.row for p in report.problems}
    report.skipped = len(bad_rows)
    for path in sorted(plan.new_paths):
        place, made = _create_path(session, path, scheme=scheme, actor=actor)
        report.locations_created += made
        for cell, value in plan.places.items():
            if value == path:
                plan.places[cell] = place
    for code in sorted(plan.new_boxes):
        _create_box(session, code, scheme=scheme, actor=actor)
        report.boxes_created += 1
    for done, row in enumerate(plan.rows, start=1):
        try:
            with session.begin_nested():
                _write_row(session, row, plan, actor=actor, report=report)
        except DomainError as exc:
            column = row.columns.get(exc.field or "", exc.field or "row")
            report.problems.append(Problem(row.number, column, row.raw.get(exc.field or "", ""),
                                           exc.message))
            if not skip_invalid:
                session.rollback()
                report.created = report.updated = report.unchanged = 0
                report.boxes_created = report.locations_created = 0
                return report
            report.skipped += 1
        if on_progress and (done % 500 == 0 or done == len(plan.rows)):
            on_progress("imported", done, len(plan.rows))
    written = [r.data.reference_code for r in plan.rows if r.number not in bad_rows]
    register = RegisterImport(file_name=file_name, sha256=hashlib.sha256(data).hexdigest(),
                              rows=report.rows, references=written, by_user=actor, at=now())
    session.add(register)
    session.flush()
    report.import_id = register.id
    report.gaps = _gaps_around(session, written)
    report.imported = True
    log.info("import by %s: %s created, %s updated, %s unchanged, %s skipped", actor,
             report.created, report.updated, report.unchanged, report.skipped)
    return report


def _gaps_around(session: Session, written: list[str]) -> list[reference_codes.Gap]:
    """Gaps in 件号 of the classes the import wrote into (records held there included)."""
    years = {p.year for p in map(reference_codes.parse, written) if p is not None}
    if not years:
        return []
    held = session.exec(select(Record.reference_code).where(col(Record.year).in_(years))).all()
    classes = {reference_codes.class_label(p) for p in map(reference_codes.parse, written) if p}
    codes = [c for c in {*held, *written}
             if (p := reference_codes.parse(c)) and reference_codes.class_label(p) in classes]
    return reference_codes.gaps(codes)


def _in_language(exc: Invalid, language: str, prefix: str | None = None) -> str:
    """The problem's message in the import's language, when the error carries Chinese."""
    chinese = getattr(exc, "message_zh", None)
    if language == "zh" and chinese:
        return chinese
    return f"{prefix}: {exc.message}" if prefix else exc.message
