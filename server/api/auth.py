"""Sign-in: OAuth2 password form in, bearer token out; sign-out ends the session at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.api.deps import CurrentUser, SettingsDep, oauth2_scheme
from server.api.errors import responses
from server.models.people import User, UserPublic
from server.services import people, security
from server.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["sign-in"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def client_address(request: Request) -> str | None:
    """The address a sign-in came from (the proxy's, unless uvicorn is told to trust it)."""
    return request.client.host if request.client else None


def _braked(seconds: int) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"too many failed sign-ins from here or for this username; try again in "
               f"{seconds} s",
        headers={"Retry-After": str(seconds)},
    )


# A braked attempt is answered after this long: the wait holds no thread and no CPU, and a
# client that guesses as fast as it is answered is slowed to one guess a second per connection.
BRAKED_HOLD_S = 1.0


async def _hold() -> None:
    await asyncio.sleep(BRAKED_HOLD_S)


def _refusal(request: Request, username: str, address: str | None) -> int:
    with Session(request.app.state.engine) as session:
        return security.refusal(session, username=username, address=address)


def _check_password(request: Request, username: str, password: str) -> User | None:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        return people.authenticate(session, username=username, password=password)


def _failed(request: Request, settings: Settings, username: str, address: str | None) -> int:
    with Session(request.app.state.writer) as session:
        blocked = security.note_failure(session, username=username, address=address,
                                        brakes=settings.sign_in_brakes)
        session.commit()
        return blocked


def _signed_in(request: Request, settings: Settings, user: User, address: str | None) -> str:
    with Session(request.app.state.writer, expire_on_commit=False) as session:
        security.note_success(session, username=user.username)
        token = security.open_session(session, user, secret_key=settings.secret_key,
                                      ttl=timedelta(minutes=settings.token_ttl_minutes),
                                      client=address)
        session.commit()
        return token


def hashing_slots(request: Request) -> asyncio.Semaphore:
    """How many passwords may be hashed at once in this worker (argon2 is CPU-heavy)."""
    slots = getattr(request.app.state, "hashing_slots", None)
    if slots is None:
        slots = request.app.state.hashing_slots = asyncio.Semaphore(
            request.app.state.settings.sign_in_parallel_hashes)
    return slots


@router.post("/token", response_model=Token, responses=responses(401, 429))
async def token(request: Request, settings: SettingsDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token.

    After a few failures for one username or from one address, attempts are refused with
    429 and `Retry-After` before any password is hashed; the block doubles with each failure.
    """
    address = client_address(request)
    username = form.username.strip()
    wait = await run_in_threadpool(_refusal, request, username, address)
    if wait:
        await _hold()
        raise _braked(wait)
    # Waiting for a hashing slot holds no thread, so a flood of guesses leaves the pool free.
    async with hashing_slots(request):
        # asked again: a block may have begun while this attempt waited for its slot
        wait = await run_in_threadpool(_refusal, request, username, address)
        if not wait:
            user = await run_in_threadpool(_check_password, request, username, form.password)
    if wait:
        await _hold()
        raise _braked(wait)
    if user is None:
        await run_in_threadpool(_failed, request, settings, username, address)
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access = await run_in_threadpool(_signed_in, request, settings, user, address)
    return Token(access_token=access, expires_in=settings.token_ttl_minutes * 60)


def _end(request: Request, settings: Settings, token: str | None) -> None:
    with Session(request.app.state.writer) as session:
        security.end_session_of_token(session, token, secret_key=settings.secret_key)
        session.commit()


@router.post("/signout", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401))
async def signout(request: Request, user: CurrentUser, settings: SettingsDep,
                  token: str | None = Depends(oauth2_scheme)) -> Response:
    """End this sign-in: the token is refused from now on, in every worker."""
    await run_in_threadpool(_end, request, settings, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic, responses=responses(401))
def me(user: CurrentUser) -> UserPublic:
    """Who the token belongs to."""
    return UserPublic.model_validate(user, from_attributes=True)
