"""Fixity: re-hash every stored copy and raise an alarm for any whose bytes no longer match.

Each distinct file is hashed once (copies of several records may share it); each file is
checked in its own transaction, so one unreadable file never aborts the run, and running it
twice changes nothing more (alarms are raised once while active).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from server.clock import now
from server.db import writing
from server.models.columns import saved_id
from server.models.copies import CopyCheck, ElectronicCopy
from server.models.holdings import Record
from server.services import alarms
from server.services.copies import CopyStore, hash_file

log = logging.getLogger(__name__)

ALARM_KIND = "fixity_mismatch"


@dataclass(slots=True)
class FixityReport:
    """What one run found."""

    files: int = 0
    copies: int = 0
    ok: int = 0
    mismatched: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as plain data (for the CLI and logs)."""
        return {"files": self.files, "copies": self.copies, "ok": self.ok,
                "mismatched": self.mismatched, "missing": self.missing, "errors": self.errors}


def subject_of(copy: ElectronicCopy, reference_code: str) -> str:
    """The alarm subject naming one copy."""
    return f"copy {copy.id} of {reference_code}"[:100]


def _check_file(session: Session, store: CopyStore, sha256: str, actor: str,
                report: FixityReport) -> None:
    path = store.path_of(sha256)
    if not path.is_file():
        state, detail = "missing", "the file is missing from the store"
    else:
        actual = hash_file(path)
        if actual == sha256:
            state, detail = "ok", "the stored bytes match the recorded SHA-256"
        else:
            state, detail = "mismatch", f"the stored bytes now hash to {actual}"
    stamp = now()
    rows = session.exec(
        select(ElectronicCopy, Record.reference_code)
        .join(Record, col(Record.id) == ElectronicCopy.record_id)
        .where(ElectronicCopy.sha256 == sha256)
    ).all()
    for copy, reference_code in rows:
        report.copies += 1
        changed = copy.fixity != state
        copy.fixity, copy.fixity_checked_at = state, stamp
        copy.fixity_detail = None if state == "ok" else detail
        subject = subject_of(copy, reference_code)
        if state == "ok":
            report.ok += 1
            if changed and alarms.clear_condition(session, kind=ALARM_KIND, subject=subject):
                log.info("fixity of %s restored", subject)
        else:
            (report.missing if state == "missing" else report.mismatched).append(saved_id(copy))
            alarms.raise_alarm(
                session, kind=ALARM_KIND, subject=subject, severity="critical",
                message=f"{copy.file_name}: {detail} (recorded {sha256})"[:500],
            )
        if changed:
            session.add(CopyCheck(copy_id=saved_id(copy), kind="fixity", at=stamp, actor=actor,
                                  outcome="passed" if state == "ok" else "failed",
                                  detail=f"{state}: {detail}"[:500]))


def verify_copies(engine: Engine, store: CopyStore, *, actor: str = "system",
                  on_progress: Callable[[int, int], None] | None = None) -> FixityReport:
    """Re-hash every distinct stored file; record the result per copy and alarm on mismatch."""
    report = FixityReport()
    with Session(engine) as session:
        hashes = list(session.exec(
            select(ElectronicCopy.sha256).group_by(ElectronicCopy.sha256)
            .order_by(func.min(ElectronicCopy.id))
        ).all())
    total = len(hashes)
    writer = writing(engine)  # each file's results are written in a transaction of its own
    for done, sha256 in enumerate(hashes, start=1):
        try:
            with Session(writer, expire_on_commit=False) as session:
                _check_file(session, store, sha256, actor, report)
                session.commit()
        except Exception as exc:  # one bad file must not stop the run
            log.exception("fixity check of %s failed", sha256)
            report.errors.append(f"{sha256}: {type(exc).__name__}: {exc}")
        report.files += 1
        if on_progress:
            on_progress(done, total)
    log.info("fixity run: %s files, %s copies ok, %s mismatched, %s missing, %s errors",
             report.files, report.ok, len(report.mismatched), len(report.missing),
             len(report.errors))
    return report
