"""Signing in to the pages: the API's JWT, kept in an HttpOnly cookie.

The token is the same one `POST /api/auth/token` hands out (same claims, key and algorithm), so a
page session and an API session are interchangeable. Minting it belongs in server/services once
the lead moves it there; the dashboard may not import server.api.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import Request, Response
from sqlmodel import Session

from server.models.people import User
from server.services import people

log = logging.getLogger(__name__)

COOKIE = "archive_twin_session"
TOKEN_ALGORITHM = "HS256"  # the API's; both must agree


def mint_token(user: User, *, secret_key: str, ttl: timedelta) -> str:
    """The bearer token of this user, as /api/auth/token makes it."""
    issued = datetime.now(UTC)
    claims = {"sub": user.username, "role": user.role, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret_key, algorithm=TOKEN_ALGORITHM)


def user_from_token(session: Session, token: str | None, *, secret_key: str) -> User | None:
    """The active user a token names, or None for a missing, expired or forged token."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, secret_key, algorithms=[TOKEN_ALGORITHM])
    except jwt.PyJWTError as exc:
        log.debug("page token refused: %s", exc)
        return None
    user = people.get_user(session, str(claims.get("sub", "")))
    if user is None or not user.active:
        return None
    return user


def set_cookie(response: Response, request: Request, token: str, *, ttl: timedelta) -> None:
    """Keep the token where page scripts cannot read it and other sites cannot send it."""
    response.set_cookie(
        COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )


def drop_cookie(response: Response) -> None:
    """Sign out: forget the token."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """True unless the browser says a form post came from another site (a second CSRF guard)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
