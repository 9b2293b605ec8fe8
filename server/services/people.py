"""People: accounts, roles, clearances and sign-in."""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.clock import now
from server.models.people import ROLES, User
from server.services import audit, security
from server.services.errors import Conflict, Invalid, NotFound

# Ascending; the five levels of 密级 (公开, 内部, 秘密, 机密, 绝密).
CLEARANCE_ORDER: dict[str, int] = {
    "public": 0, "internal": 1, "confidential": 2, "secret": 3, "top_secret": 4,
}
# The clearance that sees everything (services acting for the archive itself use it).
HIGHEST_CLEARANCE = max(CLEARANCE_ORDER, key=CLEARANCE_ORDER.__getitem__)
DEFAULT_CLEARANCE: dict[str, str] = {
    "admin": "top_secret",
    "archivist": "confidential",
    "staff": "internal",
    "facilities": "internal",
    "borrower": "public",
}


def clearance_levels(clearance: str) -> list[str]:
    """Every classification a person with this clearance may see."""
    rank = CLEARANCE_ORDER[clearance]
    return [name for name, level in CLEARANCE_ORDER.items() if level <= rank]


def may_see(clearance: str, classification: str) -> bool:
    """True when the clearance covers the classification."""
    return CLEARANCE_ORDER[clearance] >= CLEARANCE_ORDER.get(classification, 99)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    clearance: str | None = None,
    full_name: str | None = None,
    email: str | None = None,
    actor: str = "system",
) -> User:
    """Add a person; the username must be new."""
    email = checked_email(email)
    if role not in ROLES:
        raise Invalid("role must be one of {roles}, not {role!r}",
                      roles=', '.join(ROLES), role=role, field="role")
    clearance = clearance or DEFAULT_CLEARANCE[role]
    if clearance not in CLEARANCE_ORDER:
        raise Invalid(
            "clearance must be one of {clearance_order}, not {clearance!r}",
            clearance_order=', '.join(CLEARANCE_ORDER), clearance=clearance,
            field="clearance",
        )
    if len(password) < 8:
        raise Invalid("the password needs at least 8 characters", field="password")
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict("a user named {username!r} already exists",
                       username=username, field="username")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        clearance=clearance,
        password_hash=security.hash_password(password),
        created_at=now(),
        email=email,
    )
    session.add(user)
    audit.record(
        session, actor=actor, action="create", entity="user", entity_id=username,
        after={"username": username, "role": role, "clearance": clearance},
    )
    return user


def checked_email(email: str | None) -> str | None:
    """An e-mail address as stored (None for none), or Invalid saying what is wrong."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in email) \
            or "@" in domain or len(email) > 200:
        raise Invalid("{email!r} is not an e-mail address (like li.wei@example.org)",
                      email=email,
                      field="email")
    return email


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = session.exec(select(User).where(User.username == username)).first()
    if not security.password_matches(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    return user


def get_user(session: Session, username: str) -> User | None:
    """The user with this username, or None."""
    return session.exec(select(User).where(User.username == username)).first()


def list_users(session: Session) -> list[User]:
    """Everyone, by username."""
    return list(session.exec(select(User).order_by(User.username)).all())


def find_people(session: Session, text: str, *, limit: int = 12) -> list[User]:
    """Open accounts whose username or name holds the text (a picker's suggestions)."""
    query = select(User).where(col(User.active).is_(True)).order_by(User.username)
    if text.strip():
        like = f"%{text.strip().casefold()}%"
        query = query.where(col(User.username).ilike(like) | col(User.full_name).ilike(like))
    return list(session.exec(query.limit(limit)))


def change_user(session: Session, username: str, *, actor: str, role: str | None = None,
                clearance: str | None = None, disabled: bool | None = None,
                password: str | None = None, email: str | None = None,
                clear_email: bool = False) -> User:
    """Change a person's role, clearance, standing, password or e-mail; audited.

    Disabling a person or giving them a new password ends their sessions at once.
    """
    user = get_user(session, username)
    if user is None:
        raise NotFound("no user named {username!r}", username=username, field="username")
    before = {"role": user.role, "clearance": user.clearance, "disabled": not user.active,
              "email": user.email}
    if email is not None or clear_email:
        user.email = checked_email(email)
    if role is not None:
        if role not in ROLES:
            raise Invalid("role must be one of {roles}, not {role!r}",
                          roles=', '.join(ROLES), role=role, field="role")
        user.role = role
    if clearance is not None:
        if clearance not in CLEARANCE_ORDER:
            raise Invalid("clearance must be one of {clearance_order}, not {clearance!r}",
                          clearance_order=', '.join(CLEARANCE_ORDER), clearance=clearance, field="clearance")
        user.clearance = clearance
    ended = 0
    if password is not None:
        if len(password) < 8:
            raise Invalid("the password needs at least 8 characters", field="password")
        user.password_hash = security.hash_password(password)
        ended += security.end_sessions_of(session, user, why="new_password")
    if disabled is not None:
        user.active = not disabled
        if disabled:
            ended += security.end_sessions_of(session, user, why="disabled")
    session.add(user)
    after: dict[str, object] = {"role": user.role, "clearance": user.clearance,
                                "disabled": not user.active, "email": user.email}
    if password is not None:
        after["password"] = "changed"
    if ended:
        after["sessions_ended"] = ended
    audit.record(session, actor=actor, action="update", entity="user", entity_id=username,
                 before=before, after=after)
    return user
