"""Alarms: raised once per (kind, subject) while active, cleared by a condition or a person."""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.clock import now
from server.models.alarms import Alarm
from server.services import audit
from server.services.errors import Conflict, Invalid, NotFound
from server.services.listing import page

SEVERITIES = ("info", "warning", "critical")


def raise_alarm(
    session: Session, *, kind: str, subject: str, message: str, severity: str = "warning"
) -> tuple[Alarm, bool]:
    """Raise an alarm unless the same one is already active; returns (alarm, newly raised)."""
    if severity not in SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    active = session.exec(
        select(Alarm).where(Alarm.kind == kind, Alarm.subject == subject, Alarm.state == "active")
    ).first()
    if active is not None:
        return active, False
    alarm = Alarm(
        kind=kind, severity=severity, subject=subject, message=message, state="active",
        raised_at=now(),
    )
    session.add(alarm)
    session.flush()
    return alarm, True


def clear(session: Session, alarm_id: int, *, actor: str) -> Alarm:
    """A person clears an active alarm."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(f"no alarm has the id {alarm_id}")
    if alarm.state != "active":
        raise Conflict(f"alarm {alarm_id} was already cleared")
    alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", now(), actor
    session.flush()
    audit.record(
        session, actor=actor, action="clear", entity="alarm", entity_id=str(alarm.id),
        before={"state": "active"}, after={"state": "cleared"},
    )
    return alarm


def clear_condition(session: Session, *, kind: str, subject: str) -> Alarm | None:
    """The condition behind an alarm has passed: clear the active one, if any."""
    alarm = session.exec(
        select(Alarm).where(Alarm.kind == kind, Alarm.subject == subject, Alarm.state == "active")
    ).first()
    if alarm is not None:
        alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", now(), "system"
        session.flush()
    return alarm


def list_alarms(
    session: Session, *, state: str | None = None, kind: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[list[Alarm], int]:
    """Alarms, newest first."""
    query = select(Alarm)
    if state:
        if state not in ("active", "cleared"):
            raise Invalid("state must be active or cleared", field="state")
        query = query.where(Alarm.state == state)
    if kind:
        query = query.where(Alarm.kind == kind)
    return page(session, query.order_by(col(Alarm.id).desc()), limit=limit, offset=offset)


def news(alarm: Alarm) -> dict:
    """An alarm as the live feed and the contract's `alarms/{id}` message carry it."""
    at = alarm.cleared_at if alarm.state == "cleared" and alarm.cleared_at else alarm.raised_at
    return {
        "id": alarm.id, "kind": alarm.kind, "severity": alarm.severity, "subject": alarm.subject,
        "message": alarm.message, "state": alarm.state, "ts": at.isoformat(),
    }
