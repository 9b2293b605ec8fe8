"""People and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from server.api.deps import Admin, Archivist, Limit, Offset, Reader, SessionDep, WritingSessionDep
from server.api.paging import Page
from server.models.audit import AuditEntryPublic
from server.models.people import Role, UserCreate, UserPublic, UserUpdate
from server.services import audit, people
from server.services.errors import Forbidden, NotFound

router = APIRouter(prefix="/api", tags=["people and audit"])


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def add_user(data: UserCreate, session: SessionDep, user: Admin):
    """Add a person with a role and a clearance."""
    created = people.create_user(session, **data.model_dump(), actor=user.username)
    session.commit()
    return UserPublic.model_validate(created, from_attributes=True)


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, user: Admin):
    """Everyone who can sign in."""
    return [UserPublic.model_validate(u, from_attributes=True) for u in people.list_users(session)]


class AuditPage(Page[AuditEntryPublic]):
    hidden: int = Field(0, description="entries left out: they concern records classified "
                                       "above your clearance")


@router.get("/audit", response_model=AuditPage)
def audit_log(session: SessionDep, user: Archivist, entity: str | None = None,
              entity_id: str | None = None, limit: Limit = 50, offset: Offset = 0):
    """The audit log, newest first; filter by entity (box, record, ...) and its code.

    Entries about records (and their copies) above your clearance are left out; `hidden`
    says how many."""
    rows, total, hidden = audit.history(
        session, clearance_levels=people.clearance_levels(user.clearance), entity=entity,
        entity_id=entity_id, limit=limit, offset=offset)
    return AuditPage(items=[AuditEntryPublic.model_validate(r, from_attributes=True)
                            for r in rows], total=total, limit=limit, offset=offset,
                     hidden=hidden)


@router.get("/users/{username}", response_model=UserPublic)
def show_user(username: str, session: SessionDep, user: Reader):
    """One person: role, clearance, e-mail and whether they are disabled; an admin sees
    anyone, everyone else only themself."""
    if user.role != Role.ADMIN and user.username != username:
        raise Forbidden("only an admin sees other people")
    found = people.get_user(session, username)
    if found is None:
        raise NotFound("no user named {username!r}", username=username, field="username")
    return UserPublic.model_validate(found, from_attributes=True)


@router.patch("/users/{username}", response_model=UserPublic)
def change_user(username: str, data: UserUpdate, session: WritingSessionDep, user: Admin):
    """Change role, clearance, disabled, password or e-mail (null or "" clears it);
    disabling or a new password ends that person's sessions at once."""
    change = data.model_dump(exclude_unset=True)
    if "email" in change and not change["email"]:
        change["email"], change["clear_email"] = None, True
    changed = people.change_user(session, username, actor=user.username, **change)
    session.commit()
    return UserPublic.model_validate(changed, from_attributes=True)


class ChainReport(BaseModel):
    intact: bool
    entries_checked: int
    first_break: int | None = None
    reason: str | None = None


@router.get("/audit/verify", response_model=ChainReport)
def verify_audit(session: SessionDep, user: Admin):
    """Walk the hash chain and report the first entry altered or removed."""
    checked, broken = audit.verify(session)
    return ChainReport(intact=broken is None, entries_checked=checked,
                       first_break=broken.entry_id if broken else None,
                       reason=broken.reason if broken else None)
