"""Who may see and do what: passwords, sign-in sessions and their tokens, sign-in brakes, roles.

The one home of these rules (DESIGN.md): the API, the dashboard and the CLI all call here.
A token is an HS256 JWT that names a server-side session (`sid`); the session row, not the
token's expiry, decides whether the token is still good, so signing out, disabling a person
or changing their password refuses the token at once, in every worker and on both databases.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.clock import as_utc, now
from server.models.people import Role, User
from server.models.sessions import SignInSession, SignInThrottle
from server.services import audit

TOKEN_ALGORITHM = "HS256"
# The dashboard keeps the same token in this HttpOnly cookie (dashboard/sign_in.py); the API
# accepts it for same-origin reads only (server/api/deps.py, docs/architecture.md).
SESSION_COOKIE = "archive_twin_session"

# ---------------------------------------------------------------- roles and permission sets

ANYONE: tuple[str, ...] = tuple(Role)
ARCHIVISTS: tuple[str, ...] = (Role.ADMIN, Role.ARCHIVIST)
MOVERS: tuple[str, ...] = (Role.ADMIN, Role.ARCHIVIST, Role.STAFF)
FACILITIES: tuple[str, ...] = (Role.ADMIN, Role.FACILITIES)
WATCHERS: tuple[str, ...] = (Role.ADMIN, Role.ARCHIVIST, Role.STAFF, Role.FACILITIES)
ADMINS: tuple[str, ...] = (Role.ADMIN,)


def sees_staff_names(role: str) -> bool:
    """Whether this role sees which member of staff did something (borrowers see "staff")."""
    return role in WATCHERS


def actor_shown(actor: str | None, role: str) -> str | None:
    """An actor's name as this role may see it."""
    if actor is None or sees_staff_names(role):
        return actor
    return "staff"


# ---------------------------------------------------------------- passwords

_hasher = PasswordHasher()
# A fixed hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; without a hash, costs as much and says False."""
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


# ---------------------------------------------------------------- sessions and tokens


class TokenRefused(Exception):
    """A token that is not (or no longer) good, with the reason to tell its bearer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_session(session: Session, user: User, *, secret_key: str, ttl: timedelta,
                 client: str | None = None) -> str:
    """Start a sign-in session for this person and return its bearer token."""
    issued = now()
    row = SignInSession(id=secrets.token_urlsafe(24), user_id=user.id or 0, created_at=issued,
                        expires_at=issued + ttl, client=(client or "")[:100] or None)
    session.add(row)
    claims = {"sub": user.username, "role": user.role, "sid": row.id, "iat": issued,
              "exp": issued + ttl}
    return jwt.encode(claims, secret_key, algorithm=TOKEN_ALGORITHM)


def read_token(token: str, *, secret_key: str) -> dict[str, Any]:
    """The token's claims when it is signed with our key and not expired."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[TOKEN_ALGORITHM],
                            options={"require": ["exp", "sub", "sid"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenRefused("the sign-in has expired; sign in again") from exc
    except jwt.PyJWTError as exc:
        raise TokenRefused("the token is not valid; sign in again") from exc
    return claims


def session_user(session: Session, claims: dict[str, Any]) -> User:
    """The person whose live session the claims name (one query: session joined to user)."""
    found = session.exec(
        select(SignInSession, User).join(User, col(User.id) == col(SignInSession.user_id))
        .where(SignInSession.id == str(claims["sid"]))
    ).first()
    if found is None:
        raise TokenRefused("the token is not valid; sign in again")
    row, user = found
    if row.ended_at is not None:
        raise TokenRefused("this sign-in has ended (signed out, disabled or new password); "
                           "sign in again")
    if as_utc(row.expires_at) <= now():
        raise TokenRefused("the sign-in has expired; sign in again")
    if not user.active:
        raise TokenRefused("the account behind this token is disabled")
    if user.username != claims["sub"]:
        raise TokenRefused("the token is not valid; sign in again")
    return user


def user_for_token(session: Session, token: str | None, *, secret_key: str) -> User | None:
    """The person a token signs in, or None for a missing, forged, expired or ended one."""
    if not token:
        return None
    try:
        return session_user(session, read_token(token, secret_key=secret_key))
    except TokenRefused:
        return None


def end_session_of_token(session: Session, token: str | None, *, secret_key: str) -> bool:
    """Sign out: end the session this token names (an expired token may still end it)."""
    if not token:
        return False
    try:
        claims = jwt.decode(token, secret_key, algorithms=[TOKEN_ALGORITHM],
                            options={"verify_exp": False, "require": ["sid"]})
    except jwt.PyJWTError:
        return False
    result = session.execute(
        update(SignInSession).where(col(SignInSession.id) == str(claims["sid"]))
        .where(col(SignInSession.ended_at).is_(None)).values(ended_at=now(), ended_why="signout"))
    return bool(getattr(result, "rowcount", 0))


def end_sessions_of(session: Session, user: User, *, why: str) -> int:
    """End every live session of this person; how many were ended."""
    result = session.execute(
        update(SignInSession).where(col(SignInSession.user_id) == user.id)
        .where(col(SignInSession.ended_at).is_(None)).values(ended_at=now(), ended_why=why))
    return int(getattr(result, "rowcount", 0) or 0)


def live_sessions(session: Session, user: User) -> int:
    """How many of this person's sessions are still good."""
    rows = session.exec(select(SignInSession.id).where(SignInSession.user_id == user.id)
                        .where(col(SignInSession.ended_at).is_(None))
                        .where(col(SignInSession.expires_at) > now())).all()
    return len(rows)


def last_sign_ins(session: Session) -> dict[int, datetime]:
    """When each person last signed in (by user id), as far as sessions are still kept."""
    rows = session.exec(select(SignInSession.user_id, func.max(SignInSession.created_at))
                        .group_by(col(SignInSession.user_id))).all()
    return {user_id: as_utc(at) for user_id, at in rows if at is not None}


# ---------------------------------------------------------------- sign-in brakes


@dataclass(frozen=True, slots=True)
class Brakes:
    """How sign-in failures are braked: `free` failures each, then blocks that double."""

    free_per_user: int = 5
    free_per_address: int = 20
    first_block_s: float = 2.0
    longest_block_s: float = 900.0
    forget_after_s: float = 900.0


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("user", "user:" + username.strip().lower()[:100])]
    if address:
        keys.append(("address", "addr:" + address[:100]))
    return keys


def refusal(session: Session, *, username: str, address: str | None) -> int:
    """Seconds until this username or address may try again; 0 when it may now.

    Called BEFORE the password is hashed: a braked guess costs one indexed read.
    """
    keys = [key for _, key in _keys(username, address)]
    rows = session.exec(select(SignInThrottle).where(col(SignInThrottle.key).in_(keys))).all()
    moment = now()
    waits = [(as_utc(r.blocked_until) - moment).total_seconds() for r in rows if r.blocked_until]
    longest = max(waits, default=0.0)
    return math.ceil(longest) if longest > 0 else 0


def note_failure(session: Session, *, username: str, address: str | None,
                 brakes: Brakes = Brakes()) -> int:
    """Count a failed sign-in; the seconds of the block it starts (0: still free). Audited."""
    moment = now()
    blocked = 0
    for kind, key in _keys(username, address):
        row = session.get(SignInThrottle, key, with_for_update=True)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failure_at=moment)
            try:
                with session.begin_nested():  # another worker may count the same key now
                    session.add(row)
                    session.flush()
            except IntegrityError:
                row = session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
                if row is None:
                    raise
        if row.failures and (moment - as_utc(row.last_failure_at)).total_seconds() > brakes.forget_after_s and (
                row.blocked_until is None or as_utc(row.blocked_until) < moment):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = moment
        free = brakes.free_per_user if kind == "user" else brakes.free_per_address
        over = row.failures - free
        if over > 0:
            seconds = min(brakes.first_block_s * 2 ** (over - 1), brakes.longest_block_s)
            row.blocked_until = moment + timedelta(seconds=seconds)
            blocked = max(blocked, math.ceil(seconds))
    if blocked:
        audit.record(session, actor=f"address:{address or 'unknown'}", action="sign_in_braked",
                     entity="user", entity_id=username[:100],
                     after={"address": address, "retry_after_s": blocked})
    return blocked


def note_success(session: Session, *, username: str) -> None:
    """A right password clears the username's failures (not the address's)."""
    row = session.get(SignInThrottle, _keys(username, None)[0][1])
    if row is not None:
        session.delete(row)


def blocked_keys(session: Session) -> list[SignInThrottle]:
    """Usernames and addresses blocked now (for operators)."""
    return list(session.exec(select(SignInThrottle)
                             .where(col(SignInThrottle.blocked_until) > now())).all())


def forget_old_sign_ins(session: Session, *, older_than: datetime) -> int:
    """Drop failure counts nobody added to since `older_than` and no longer blocking, and
    sessions that ended or expired before it; how many rows went."""
    gone = 0
    for row in session.exec(select(SignInThrottle)
                            .where(col(SignInThrottle.last_failure_at) < older_than)).all():
        if row.blocked_until is None or as_utc(row.blocked_until) < now():
            session.delete(row)
            gone += 1
    result = session.execute(
        delete(SignInSession).where(or_(col(SignInSession.expires_at) < older_than,
                                        col(SignInSession.ended_at) < older_than)))
    return gone + int(getattr(result, "rowcount", 0) or 0)
