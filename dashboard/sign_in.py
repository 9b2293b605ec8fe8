"""Signing in to the pages: the API's token, kept in an HttpOnly cookie.

The token is the same one `POST /api/auth/token` hands out (server.services.security makes
both), so a page session and an API session are interchangeable, and signing out of the
pages ends the session at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import Request, Response
from sqlmodel import Session

from server.models.people import User
from server.services import security

log = logging.getLogger(__name__)

COOKIE = security.SESSION_COOKIE


def open_session(session: Session, user: User, *, secret_key: str, ttl: timedelta,
                 client: str | None) -> str:
    """A new sign-in session's token, the same kind /api/auth/token hands out."""
    return security.open_session(session, user, secret_key=secret_key, ttl=ttl, client=client)


def user_from_token(session: Session, token: str | None, *, secret_key: str) -> User | None:
    """The person a cookie's token signs in, or None (missing, forged, expired or ended)."""
    return security.user_for_token(session, token, secret_key=secret_key)


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
