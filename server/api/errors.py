"""The error shape every operation answers with, and how the OpenAPI documents it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """What went wrong, in words a person can act on, and the field it concerns (or null)."""

    detail: str
    field: str | None = None


WHY: dict[int, str] = {
    400: "the request cannot be carried out as it is",
    401: "not signed in, or the sign-in has ended or expired",
    403: "your role may not do this",
    404: "nothing of that name, or nothing you may see",
    409: "the archive's state does not allow it now; `detail` says why",
    413: "the body is larger than this server accepts",
    408: "the body did not arrive in time",
    415: "the body is of a type this operation does not take",
    422: "a value is not acceptable; `field` names it",
    429: "too many failed sign-ins; wait `Retry-After` seconds",
    503: "a part this needs (database, broker) is not available now",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: these error statuses, each with the error shape."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}
