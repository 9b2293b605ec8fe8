"""The audit log: append an entry chained by SHA-256 to the one before; verify the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, not_, or_, text
from sqlmodel import Session, col, select

from server.clock import now
from server.models.audit import AuditEntry
from server.models.columns import saved_id
from server.services.listing import page

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the bytes the hash is taken over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's content and the previous entry's hash."""
    body = canonical(
        {
            "prev": entry.prev_hash,
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "before": entry.before,
            "after": entry.after,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry in the caller's transaction."""
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # Two writers must not both chain onto the same last entry.
        session.execute(text("SELECT pg_advisory_xact_lock(7219001)"))
    last = session.exec(select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    entry = AuditEntry(
        at=now(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        # Stored exactly as hashed: round-trip through canonical JSON.
        before=None if before is None else json.loads(canonical(before)),
        after=None if after is None else json.loads(canonical(after)),
        prev_hash=last or GENESIS,
        hash="",  # set below: it covers every other field
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place the chain does not hold, and why."""

    entry_id: int
    reason: str


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.id) > last_id).order_by(col(AuditEntry.id)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = saved_id(rows[-1])


def verify(session: Session) -> tuple[int, ChainBreak | None]:
    """Walk the chain; return how many entries held and the first break, if any."""
    prev_hash, prev_id, checked = GENESIS, 0, 0
    for entry in _entries(session):
        entry_id = saved_id(entry)
        if entry.prev_hash != prev_hash:
            what = "removed" if entry_id != prev_id + 1 else "altered"
            reason = (
                f"entry {entry_id} does not follow entry {prev_id}: an entry before it was {what}"
                if prev_id
                else f"entry {entry_id} is not the start of the log: earlier entries were removed"
            )
            return checked, ChainBreak(entry_id, reason)
        if entry_hash(entry) != entry.hash:
            return checked, ChainBreak(entry_id, f"entry {entry_id} was altered after it was written")
        prev_hash, prev_id = entry.hash, entry_id
        checked += 1
    return checked, None


def newest(session: Session) -> AuditEntry | None:
    """The newest entry (the chain's head), or None for an empty log."""
    return session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()


def head(session: Session) -> tuple[int, str] | None:
    """The newest entry's id and hash: the anchor to keep elsewhere (see check_anchor)."""
    newest = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    return (saved_id(newest), newest.hash) if newest else None


def check_anchor(session: Session, anchor: str) -> ChainBreak | None:
    """Does the log still hold the entry an earlier head named ("ID:HASH")?

    A hash chain cannot tell by itself that its newest entries were cut off; an anchor kept
    outside the database (a printout, another system, the cron job's log) can.
    """
    entry_id, _, wanted = anchor.partition(":")
    if not entry_id.isdigit() or len(wanted) != 64:
        raise ValueError(f"an anchor is ID:SHA256 as `audit verify` prints it, not {anchor!r}")
    entry = session.get(AuditEntry, int(entry_id))
    if entry is None:
        return ChainBreak(int(entry_id), f"entry {entry_id}, the anchor, is gone: the newest "
                                         "entries were removed")
    if entry.hash != wanted:
        return ChainBreak(saved_id(entry), f"entry {entry.id} no longer has the anchor's hash: the log "
                                    "was rewritten from there on")
    return None


def _above(clearance_levels: list[str]) -> ColumnElement[bool]:
    """Entries about a record (or a copy of one) classified above these levels."""
    from server.models.copies import ElectronicCopy
    from server.models.holdings import Record

    hidden_refs = select(Record.reference_code).where(
        col(Record.classification).not_in(clearance_levels))
    hidden_copies = (select(cast(ElectronicCopy.id, String))
                     .join(Record, col(Record.id) == col(ElectronicCopy.record_id))
                     .where(col(Record.classification).not_in(clearance_levels)))
    return or_(and_(col(AuditEntry.entity) == "record", col(AuditEntry.entity_id).in_(hidden_refs)),
               and_(col(AuditEntry.entity) == "copy", col(AuditEntry.entity_id).in_(hidden_copies)))


def history(session: Session, *, clearance_levels: list[str], entity: str | None = None,
            entity_id: str | None = None, actor: str | None = None, action: str | None = None,
            since: datetime | None = None, before: datetime | None = None, limit: int = 50,
            offset: int = 0) -> tuple[list[AuditEntry], int, int]:
    """Audit entries the viewer may see, newest first, optionally for one thing, one actor,
    one action or a time range [since, before); and how many matching entries were left out
    because they are about records above the clearance."""
    query = select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    if before is not None:
        query = query.where(col(AuditEntry.at) < before)
    above = _above(clearance_levels)
    hidden = session.exec(select(func.count()).select_from(
        query.where(above).subquery())).one()
    rows, total = page(session, query.where(not_(above)).order_by(col(AuditEntry.id).desc()),
                       limit=limit, offset=offset)
    return rows, total, int(hidden)
