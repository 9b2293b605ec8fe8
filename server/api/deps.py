"""What every route depends on: settings, a database session, the signed-in person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from server.models.people import User
from server.services import people
from server.services.codes import CodeScheme
from server.settings import Settings

TOKEN_ALGORITHM = "HS256"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    """The settings the app was made with."""
    return request.app.state.settings


def get_scheme(request: Request) -> CodeScheme:
    """The organisation's code scheme."""
    return request.app.state.scheme


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything else is rolled back."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SchemeDep = Annotated[CodeScheme, Depends(get_scheme)]
SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_user(
    session: SessionDep, settings: SettingsDep, token: str | None = Depends(oauth2_scheme)
) -> User:
    """The person whose bearer token came with the request."""
    if not token:
        raise _unauthorized("sign in first: POST /api/auth/token, then send 'Authorization: Bearer …'")
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[TOKEN_ALGORITHM])
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("the sign-in has expired; sign in again") from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized("the token is not valid; sign in again") from exc
    user = people.get_user(session, str(claims.get("sub", "")))
    if user is None or not user.active:
        raise _unauthorized("the account behind this token no longer exists or is disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: str):
    """A dependency that lets only these roles through (403 for the others)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"your role ({user.role}) may not do this; it needs: {', '.join(roles)}",
            )
        return user

    return check


ANYONE = ("admin", "archivist", "staff", "facilities", "borrower")
Reader = Annotated[User, Depends(require(*ANYONE))]
Archivist = Annotated[User, Depends(require("admin", "archivist"))]
Mover = Annotated[User, Depends(require("admin", "archivist", "staff"))]
Facilities = Annotated[User, Depends(require("admin", "facilities"))]
Watcher = Annotated[User, Depends(require("admin", "archivist", "staff", "facilities"))]
Admin = Annotated[User, Depends(require("admin"))]

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="rows to skip")]
# Ids the database can hold (64-bit signed); a larger number names nothing and is refused as 422.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
