"""What the world is told: typed news written to the outbox in the transaction of the change.

A service that changes the twin calls `tell(session, news)` before its transaction commits;
the news is a row of the `outbox` table, so it commits or rolls back with the change (a
refused change inside a savepoint takes its news with it). As the transaction commits, its
news gets the next positions in commit order: on PostgreSQL under an advisory lock held from
then until the commit ends, on SQLite under the write lock every writer holds anyway. Readers
(the MQTT publisher, the dashboard's live stream) follow the positions and never miss one:
positions are contiguous and a reader resumes from the last one it delivered.

Nobody publishes by hand after a commit: whatever path made the change (ingest, the API,
the dashboard, an import, a job), its news leaves through here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import bindparam, delete, event, func, inspect, text, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.news import NewsCursor, OutboxEntry

_PENDING = "archive_twin.news"  # session.info key: the outbox rows this transaction added
_RANG = "archive_twin.news_committed"
NEWS_LOCK = 7219002  # PostgreSQL advisory lock: one committer numbers its news at a time


# -- the news ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class News:
    """Base of every kind of news; `kind` names it on the live stream."""

    kind: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The news as JSON-ready data (times as RFC 3339 text with offset)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _iso(value) if isinstance(value, datetime) else value
        return out


def _iso(value: datetime) -> str:
    stamp = as_utc(value)
    assert stamp is not None
    return stamp.isoformat()


@dataclass(frozen=True, slots=True)
class BoxChanged(News):
    """A box moved or changed status (placement, loan, return, missing, found)."""

    kind: ClassVar[str] = "box"
    code: str
    location: str | None
    status: str
    ts: datetime
    path: str | None = None
    reason: str | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmChanged(News):
    """An alarm was raised, acknowledged or cleared."""

    kind: ClassVar[str] = "alarm"
    id: int
    kind_of: str  # the alarm's own kind (over_capacity, box_missing, …); `kind` names the news
    severity: str
    subject: str
    message: str
    state: str
    ts: datetime

    def data(self) -> dict[str, Any]:
        """As the contract's alarm message: the alarm's kind under `kind`."""
        out = News.data(self)
        out["kind"] = out.pop("kind_of")
        return out


@dataclass(frozen=True, slots=True)
class DeviceChanged(News):
    """A device came online or went offline; `decided` when the server judged it (silence)."""

    kind: ClassVar[str] = "device"
    id: str
    state: str
    ts: datetime
    decided: bool = False


@dataclass(frozen=True, slots=True)
class LightSet(News):
    """A shelf light is to be switched (a command that leaves through devices/)."""

    kind: ClassVar[str] = "light"
    location: str
    on: bool
    color: str
    seconds: int


@dataclass(frozen=True, slots=True)
class ScanAnswered(News):
    """What a scanner's scan did, for the person holding it."""

    kind: ClassVar[str] = "scan"
    device: str
    code: str
    ok: bool
    action: str
    message: str
    box: str | None
    location: str | None
    ts: datetime
    reason: str | None = None  # why a refused scan was refused (full, unknown, …)


@dataclass(frozen=True, slots=True)
class ClimateMeasured(News):
    """A climate sensor's reading (for pages showing the rooms)."""

    kind: ClassVar[str] = "climate"
    sensor: str
    room: str | None
    temperature_c: float
    humidity_pct: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class DeviceRejected(News):
    """Something a device sent could not be used (it is kept with the rejects)."""

    kind: ClassVar[str] = "reject"
    device: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class RequestChanged(News):
    """A lending request took a step (submitted, approved, checked out, returned, ...)."""

    kind: ClassVar[str] = "request"
    id: int
    state: str
    borrower: str
    boxes: list[str]
    ts: datetime
    by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LoanReminded(News):
    """A reminder stage for a loan due or overdue (published on loans/{id}/reminder)."""

    kind: ClassVar[str] = "reminder"
    id: int
    box: str
    borrower: str
    due_on: str  # ISO date
    stage: int
    ts: datetime


@dataclass(frozen=True, slots=True)
class HoldReady(News):
    """The box a borrower queued for is back: they are next."""

    kind: ClassVar[str] = "hold"
    id: int
    box: str
    borrower: str
    ts: datetime


# News that names a borrower: live pages show it only to staff and to that borrower.
PERSONAL_KINDS = frozenset({"request", "reminder", "hold"})

KINDS: dict[str, type[News]] = {
    cls.kind: cls
    for cls in (BoxChanged, AlarmChanged, DeviceChanged, LightSet, ScanAnswered,
                ClimateMeasured, DeviceRejected, RequestChanged, LoanReminded, HoldReady)
}


# -- writing -------------------------------------------------------------------------------


def tell(session: Session, *items: News) -> None:
    """Write news in the session's transaction; it is delivered once that commits."""
    if not items:
        return
    at = now()
    pending = session.info.setdefault(_PENDING, [])
    for item in items:
        row = OutboxEntry(kind=item.kind, data=item.data(), at=at)
        session.add(row)
        pending.append(row)


@event.listens_for(OrmSession, "before_commit")
def _number_in_commit_order(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()
    # Rows added inside a savepoint that was rolled back are no longer persistent.
    kept = sorted((r for r in pending if inspect(r).persistent), key=lambda r: r.id)
    if not kept:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NEWS_LOCK})
    # coalesce never yields None; `or 0` only tells the type checker so.
    base = session.execute(select(func.coalesce(func.max(OutboxEntry.position), 0))).scalar_one() or 0
    table = OutboxEntry.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table).where(table.c.id == bindparam("n_id")).values(position=bindparam("n_pos")),
        [{"n_id": row.id, "n_pos": base + i} for i, row in enumerate(kept, 1)],
    )
    session.info[_RANG] = True


@event.listens_for(OrmSession, "after_commit")
def _ring_after_commit(session: OrmSession) -> None:
    if session.info.pop(_RANG, False):
        bell.ring()


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_on_rollback(session: OrmSession, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


class Bell:
    """Wakes this process's readers of the outbox the moment a transaction with news commits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.rung = 0

    def ring(self) -> None:
        """Tell the waiters there is news."""
        with self._cond:
            self.rung += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Wait until the bell rang again since `seen`, or the timeout passed."""
        with self._cond:
            if self.rung == seen:
                self._cond.wait(timeout)


bell = Bell()


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivered:
    """A piece of news as read back from the outbox: its position, kind and data."""

    id: int
    kind: str
    data: dict[str, Any]
    at: str

    def news(self) -> News:
        """The typed news again."""
        cls = KINDS[self.kind]
        data = dict(self.data)
        if cls is AlarmChanged:
            data["kind_of"] = data.pop("kind")
        for f in fields(cls):
            if f.type in ("datetime", datetime) and isinstance(data.get(f.name), str):
                data[f.name] = datetime.fromisoformat(data[f.name])
        return cls(**data)


def after(session: Session, position: int, *, limit: int = 500) -> list[Delivered]:
    """Committed news after a position, in commit order."""
    rows = session.exec(
        select(OutboxEntry.position, OutboxEntry.kind, OutboxEntry.data, OutboxEntry.at)
        .where(col(OutboxEntry.position) > position)
        .order_by(col(OutboxEntry.position))
        .limit(limit)
    ).all()
    return [Delivered(int(p), k, dict(d), _iso(a)) for p, k, d, a in rows if p is not None]


def latest(session: Session) -> int:
    """The position of the newest committed news (0 when there is none)."""
    return session.exec(select(func.coalesce(func.max(OutboxEntry.position), 0))).one() or 0


def cursor(session: Session, name: str) -> int:
    """How far the reader `name` has delivered."""
    row = session.get(NewsCursor, name)
    return row.position if row else 0


def advance(session: Session, name: str, position: int) -> None:
    """Remember that the reader `name` delivered everything up to `position`."""
    row = session.get(NewsCursor, name)
    if row is None:
        session.add(NewsCursor(name=name, position=position))
    elif position > row.position:
        row.position = position


def prune(session: Session, *, before: datetime) -> int:
    """Forget news older than `before` that every reader has delivered; keeps the newest."""
    delivered = session.exec(select(func.min(NewsCursor.position))).one()
    newest = latest(session)
    # The newest row stays: the next positions are numbered from it.
    last_to_go = min(delivered if delivered is not None else newest, newest - 1)
    result = session.execute(
        delete(OutboxEntry).where(
            col(OutboxEntry.at) < before,
            col(OutboxEntry.position) <= last_to_go,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

