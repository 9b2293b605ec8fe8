"""People: accounts, roles, clearances and sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from server.clock import now
from server.models.people import ROLES, User
from server.services import audit
from server.services.errors import Conflict, Invalid

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

_hasher = PasswordHasher()
# A fixed hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    actor: str = "system",
) -> User:
    """Add a person; the username must be new."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    clearance = clearance or DEFAULT_CLEARANCE[role]
    if clearance not in CLEARANCE_ORDER:
        raise Invalid(
            f"clearance must be one of {', '.join(CLEARANCE_ORDER)}, not {clearance!r}",
            field="clearance",
        )
    if len(password) < 8:
        raise Invalid("the password needs at least 8 characters", field="password")
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"a user named {username!r} already exists", field="username")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        clearance=clearance,
        password_hash=_hasher.hash(password),
        created_at=now(),
    )
    session.add(user)
    audit.record(
        session, actor=actor, action="create", entity="user", entity_id=username,
        after={"username": username, "role": role, "clearance": clearance},
    )
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = session.exec(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
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
