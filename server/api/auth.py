"""Sign-in: OAuth2 password form in, bearer token out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from server.api.deps import TOKEN_ALGORITHM, CurrentUser, SessionDep, SettingsDep
from server.clock import now
from server.models.people import UserPublic
from server.services import people

router = APIRouter(prefix="/api/auth", tags=["sign-in"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/token", response_model=Token)
def token(session: SessionDep, settings: SettingsDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token."""
    user = people.authenticate(session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": user.username, "role": user.role, "iat": now(), "exp": now() + ttl}
    return Token(
        access_token=jwt.encode(claims, settings.secret_key, algorithm=TOKEN_ALGORITHM),
        expires_in=int(ttl.total_seconds()),
    )


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who the token belongs to."""
    return UserPublic.model_validate(user, from_attributes=True)
