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


def field_of(location: tuple[Any, ...] | list[Any]) -> str | None:
    """The field a validation error is about: ("body", "antennas", "1") -> "antennas.1"."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """A validation failure in the one error shape; the full list stays under `errors`."""
    first = errors[0] if errors else {"loc": (), "msg": "the request is not valid"}
    field = field_of(list(first.get("loc", ())))
    message = str(first.get("msg", "not valid"))
    detail = f"{field}: {message}" if field else message
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    shown = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
              "type": str(e.get("type", ""))} for e in errors]
    return {"detail": detail, "field": field, "errors": shown}


# What any operation may answer besides its own statuses.
def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    codes = [422]
    public = path in ("/api/auth/token", "/healthz") or not path.startswith("/api/")
    if not public:
        codes += [401, 403]
    if "{" in path or method in ("post", "put", "patch", "delete"):
        codes.append(404)
    if method in ("post", "put", "patch", "delete"):
        codes.append(409)
    if path == "/api/auth/token":
        codes += [401, 429]
    if path.endswith("/copies") and method == "post":
        codes += [408, 413]
    if path.endswith("/light") or path.endswith("/copies/verify"):
        codes.append(503)
    return codes


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation of the OpenAPI document lists the error statuses it answers, each
    with the error shape {"detail", "field"} (validation failures included)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = {
        "title": "ErrorBody", "type": "object", "required": ["detail"],
        "properties": {
            "detail": {"type": "string", "title": "Detail"},
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Field"},
            "errors": {"type": "array", "items": {"type": "object"}, "title": "Errors"},
        },
    }
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            answers = operation.setdefault("responses", {})
            for code in _statuses(path, method, operation):
                key = str(code)
                entry = answers.setdefault(key, {"description": WHY[code]})
                entry["content"] = {"application/json": {"schema": ref}}
    return spec
