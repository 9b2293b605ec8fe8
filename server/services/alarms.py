"""Alarms: raised once per (kind, subject) while open, acknowledged and cleared by people.

States: active → acknowledged → cleared (CONTRACT.md, "Climate"). An alarm is open while it
is active or acknowledged; a condition that passes clears the open one. Every change is news.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.alarms import Alarm
from server.services import audit, news
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.listing import page
from server.services.translations import Message

SEVERITIES = ("info", "warning", "critical")
STATES = ("active", "acknowledged", "cleared")
OPEN = ("active", "acknowledged")
# Alarms that only someone answerable for the holdings may clear, besides every critical one.
GUARDED_KINDS = frozenset({"unauthorized_removal"})
CLEARERS = ("admin", "archivist")


def open_alarm(session: Session, *, kind: str, subject: str) -> Alarm | None:
    """The open (active or acknowledged) alarm of this kind and subject, if any."""
    return session.exec(
        select(Alarm).where(Alarm.kind == kind, Alarm.subject == subject,
                            col(Alarm.state).in_(OPEN))
    ).first()


def raise_alarm(
    session: Session, *, kind: str, subject: str, message: str | Message,
    severity: str = "warning",
    at: datetime | None = None,
) -> tuple[Alarm, bool]:
    """Raise an alarm unless the same one is already open; returns (alarm, newly raised).

    `at` is when the condition was met (a reading's own ts); now when not given.
    """
    if severity not in SEVERITIES:
        raise Invalid("severity must be one of {severities}",
                      severities=', '.join(SEVERITIES), field="severity")
    existing = open_alarm(session, kind=kind, subject=subject)
    if existing is not None:
        return existing, False
    english, wording = _worded(message)
    alarm = Alarm(
        kind=kind, severity=severity, subject=subject, message=english, wording=wording,
        state="active", raised_at=at or now(),
    )
    session.add(alarm)
    session.flush()
    news.tell(session, changed(alarm))
    return alarm, True


def _worded(message: str | Message) -> tuple[str, dict[str, Any] | None]:
    # the English for MQTT and old readers; the key and values for the pages' languages
    if isinstance(message, Message):
        return message.english[:500], message.as_json()
    return message[:500], None


def said_by(alarm: Alarm) -> Message:
    """What the alarm says, to put in a language (its English when it was raised without keys)."""
    if alarm.wording:
        return Message.from_json(alarm.wording)
    return Message(alarm.message)


def escalate(session: Session, alarm: Alarm, *, severity: str,
             message: str | Message | None = None) -> None:
    """Raise an open alarm's severity (it has lasted); announced like any change."""
    if SEVERITIES.index(severity) <= SEVERITIES.index(alarm.severity):
        return
    alarm.severity = severity
    if message:
        alarm.message, alarm.wording = _worded(message)
    session.flush()
    news.tell(session, changed(alarm))


def _get(session: Session, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound("no alarm has the id {alarm_id}", alarm_id=alarm_id)
    return alarm


def acknowledge(session: Session, alarm_id: int, *, actor: str, note: str) -> Alarm:
    """A person has seen an active alarm and says what is being done (the note)."""
    alarm = _get(session, alarm_id)
    note = (note or "").strip()
    if not note:
        raise Invalid("say what is being done about it: the note is empty", field="note")
    if alarm.state != "active":
        raise Conflict("alarm {alarm_id} is {state}, not active: only an active alarm can be "
                       "acknowledged",
                       alarm_id=alarm_id, state=alarm.state)
    alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = "acknowledged", now(), actor
    alarm.acknowledge_note = note[:1000]
    session.flush()
    news.tell(session, changed(alarm))
    audit.record(
        session, actor=actor, action="acknowledge", entity="alarm", entity_id=str(alarm.id),
        before={"state": "active"}, after={"state": "acknowledged", "note": alarm.acknowledge_note},
    )
    return alarm


def guarded(alarm: Alarm) -> bool:
    """Whether only an archivist or an admin may clear this alarm (and with a note)."""
    return alarm.severity == "critical" or alarm.kind in GUARDED_KINDS


def clear(session: Session, alarm_id: int, *, actor: str, role: str = "admin",
          note: str | None = None) -> Alarm:
    """A person clears an open alarm; critical ones only an archivist or admin, with a note.

    The rule behind it is re-armed: it raises again only after a fresh hold.
    """
    alarm = _get(session, alarm_id)
    note = (note or "").strip() or None
    if alarm.state not in OPEN:
        raise Conflict("alarm {alarm_id} was already cleared", alarm_id=alarm_id)
    if guarded(alarm):
        if role not in CLEARERS:
            raise Forbidden("only an archivist or an admin may clear a {severity} {kind} alarm; "
                            "your role is {role}",
                            severity=alarm.severity, kind=alarm.kind, role=role)
        if note is None:
            raise Invalid("clearing this alarm needs a note saying why", field="note")
    before = alarm.state
    alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", now(), actor
    alarm.clear_note = note[:1000] if note else None
    session.flush()
    news.tell(session, changed(alarm))
    audit.record(
        session, actor=actor, action="clear", entity="alarm", entity_id=str(alarm.id),
        before={"state": before}, after={"state": "cleared", "note": alarm.clear_note},
    )
    return alarm


def clear_condition(session: Session, *, kind: str, subject: str,
                    at: datetime | None = None) -> Alarm | None:
    """The condition behind an alarm has passed: clear the open one, if any."""
    alarm = open_alarm(session, kind=kind, subject=subject)
    if alarm is not None:
        alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", at or now(), "system"
        session.flush()
        news.tell(session, changed(alarm))
    return alarm


def list_alarms(
    session: Session, *, state: str | None = None, kind: str | None = None,
    subject: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Alarm], int]:
    """Alarms, newest first; state `open` means active or acknowledged."""
    query = select(Alarm)
    if state:
        if state == "open":
            query = query.where(col(Alarm.state).in_(OPEN))
        elif state in STATES:
            query = query.where(Alarm.state == state)
        else:
            raise Invalid("state must be active, acknowledged, cleared or open", field="state")
    if kind:
        query = query.where(Alarm.kind == kind)
    if subject:
        query = query.where(Alarm.subject == subject)
    return page(session, query.order_by(col(Alarm.id).desc()), limit=limit, offset=offset)


def changed(alarm: Alarm) -> news.AlarmChanged:
    """The news of an alarm as it now is (the contract's `alarms/{id}` message)."""
    at = {"cleared": alarm.cleared_at, "acknowledged": alarm.acknowledged_at}.get(alarm.state)
    assert alarm.id is not None
    return news.AlarmChanged(id=alarm.id, kind_of=alarm.kind, severity=alarm.severity,
                             subject=alarm.subject, message=alarm.message, state=alarm.state,
                             ts=as_utc(at or alarm.raised_at) or now())
