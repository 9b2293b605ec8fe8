"""What every route depends on: settings, a database session, the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.models.people import User
from server.services import security
from server.services.codes import CodeScheme
from server.settings import Settings

TOKEN_ALGORITHM = security.TOKEN_ALGORITHM

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# The cheap dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in
# the thread pool, and each such hop costs a GIL hand-over; six of them per request made a
# 0.5 ms scan lookup take 10 ms under load. Only current_user and the route itself, which
# talk to the database, run in threads.


async def get_settings(request: Request) -> Settings:
    """The settings the app was made with."""
    return request.app.state.settings


async def get_scheme(request: Request) -> CodeScheme:
    """The organisation's code scheme."""
    return request.app.state.scheme


# Requests that only read; every other method may write (see server.db.writing).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_for(request: Request):
    """The engine for this request: the writing one unless the method only reads."""
    state = request.app.state
    return state.engine if request.method in READING_METHODS else state.writer


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route commits, anything else is rolled back.

    Opening a Session touches no connection; closing one hands its connection back to the
    pool (a rollback: microseconds on SQLite, one local round trip on PostgreSQL).
    """
    with Session(engine_for(request), expire_on_commit=False) as session:
        yield session


async def get_writing_session(request: Request) -> AsyncIterator[Session]:
    """A session on the writing engine, for a GET that writes (e.g. one that is audited)."""
    with Session(request.app.state.writer, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SchemeDep = Annotated[CodeScheme, Depends(get_scheme)]
SessionDep = Annotated[Session, Depends(get_session)]
WritingSessionDep = Annotated[Session, Depends(get_writing_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def current_user(
    request: Request, settings: SettingsDep, token: str | None = Depends(oauth2_scheme)
) -> User:
    """The person whose bearer token came with the request.

    The signature is checked here; the session behind it is looked up on every request (one
    indexed query joined to the person), so a token whose session ended is refused at once
    in every worker: there is deliberately no per-worker cache of signed-in people.
    """
    if not token:
        token = _page_cookie(request)
    if not token:
        raise _unauthorized("sign in first: POST /api/auth/token, then send 'Authorization: Bearer …'")
    try:
        claims = security.read_token(token, secret_key=settings.secret_key)
        user = await run_in_threadpool(_session_user, request.app.state.engine, claims)
    except security.TokenRefused as exc:
        raise _unauthorized(exc.reason) from exc
    request.state.user = user
    return user


def _page_cookie(request: Request) -> str | None:
    """The dashboard's sign-in token, for a same-origin read (a label image, a report PDF).

    Only reads: a write still needs the bearer token, which a browser never sends by itself,
    so no other site can make a signed-in browser change anything (CSRF). A read asked for by
    another site (Sec-Fetch-Site or Origin say so) is refused, so no page elsewhere can embed
    or fetch what this person may see.
    """
    if request.method not in READING_METHODS:
        return None
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token:
        return None
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return None
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        return None
    return token


def _session_user(engine, claims) -> User:
    with Session(engine, expire_on_commit=False) as session:
        return security.session_user(session, claims)


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: str):
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"your role ({user.role}) may not do this; it needs: {', '.join(roles)}",
            )
        return user

    return check


def require_broker_link(request: Request) -> None:
    """Refuse (503) what needs devices when this server has no live broker link.

    Called in the route's body, after sign-in and role are checked, so that those answer
    401 and 403 whatever the state of the broker.
    """
    link = request.app.state.broker_link
    if link is None:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="this server runs without devices (ARCHIVE_TWIN_DEVICES_ENABLED=false): "
                   "no device can be reached",
        )
    if not link.connected:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the broker link is down, so no device can be reached; GET /healthz says "
                   "when it is back",
        )


ANYONE = security.ANYONE
Reader = Annotated[User, Depends(require(*security.ANYONE))]
Archivist = Annotated[User, Depends(require(*security.ARCHIVISTS))]
Mover = Annotated[User, Depends(require(*security.MOVERS))]
Facilities = Annotated[User, Depends(require(*security.FACILITIES))]
Watcher = Annotated[User, Depends(require(*security.WATCHERS))]
Admin = Annotated[User, Depends(require(*security.ADMINS))]

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="rows to skip")]
# Ids the database can hold (64-bit signed); a larger number names nothing and is refused as 422.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
