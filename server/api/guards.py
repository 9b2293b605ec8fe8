"""What every HTTP answer carries and what no request may send: security headers, and no NUL
or other control characters in any text (query, path, form or JSON body) -- 422 naming the
field, never a 500 from deep in a database driver."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from this site: the dashboard has no inline script or style.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
# FastAPI's /docs and /redoc pages load their scripts from a CDN and start them inline.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
            "https://fastapi.tiangolo.com; worker-src blob:; object-src 'none'; "
            "frame-ancestors 'none'")
DOCS = ("/docs", "/redoc")
HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}

# C0 controls and DEL. Tab, line feed and carriage return are whitespace, not controls to
# refuse: notes hold lines, and a scanner's code may come with the CR LF it ended with.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_IN_QUERY = _CONTROL
JSON_LIMIT = 4 * 1024 * 1024  # larger JSON bodies are passed on unchecked (the routes limit them)


class SecurityHeaders:
    """Adds the security headers to every answer (HTML, JSON, files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in DOCS else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", csp)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            yield name, str(key)
            yield from _strings(item, name)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, f"{where}.{n}" if where else str(n))


# The scan pipeline judges what can be a code itself, and answers a code holding a control
# character with its own refusal (action "refused", reason "invalid"); only NUL, which no
# database can take as text, is refused here for it.
SCANS = ("/api/scan", "/shelve/scan")
_NUL = re.compile(r"\x00")


def _path_field(path: str, templates: list[str]) -> str:
    """The path parameter holding the bad character, from the route templates; else "path"."""
    segments = path.split("/")
    for template in templates:
        parts = template.split("/")
        if len(parts) != len(segments):
            continue
        names = [re.fullmatch(r"(.*){(\w+)}(.*)", part) for part in parts]
        if all(m is not None or part == seg for part, seg, m in zip(parts, segments, names, strict=True)):
            for seg, m in zip(segments, names, strict=True):
                if m is not None and _CONTROL.search(seg):
                    return m.group(2)
    return "path"


def control_character_in(scope: Scope, body: bytes | None,
                         templates: list[str] | None = None) -> str | None:
    """The first field (query parameter, path parameter, or body field) holding a control
    character."""
    path = scope.get("path", "")
    control = _NUL if path.startswith(SCANS) else _CONTROL
    if control.search(path):
        return _path_field(path, templates or [])
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if _CONTROL_IN_QUERY.search(name) or _CONTROL_IN_QUERY.search(value):
                return name if not _CONTROL_IN_QUERY.search(name) else "query"
        if "%00" in query and _CONTROL_IN_QUERY.search(unquote(query)):
            return "query"
    if not body:
        return None
    kind = _content_type(scope)
    if kind == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # the route answers 422 for JSON that is not JSON
        for name, text in _strings(parsed, ""):
            if control.search(text):
                return name or "body"
    elif kind == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if control.search(value) or control.search(name):
                return name
    return None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


class NoControlCharacters:
    """Refuses (422, the field named) a request whose text holds NUL or another control
    character; PostgreSQL cannot store NUL in text and SQLite's FTS chokes on it."""

    def __init__(self, app: ASGIApp, templates: Callable[[], list[str]] | None = None) -> None:
        self.app = app
        self._templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        replay = receive
        kind = _content_type(scope)
        if kind in ("application/json", "application/x-www-form-urlencoded"):
            chunks, more, size = [], True, 0
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
            body = b"".join(chunks)
            sent = False

            async def replayed() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            replay = replayed
            if size > JSON_LIMIT:
                body = None
        field = control_character_in(scope, body,
                                     self._templates() if self._templates else None)
        if field is not None:
            payload = json.dumps({
                "detail": f"{field} holds a NUL or another control character; send text "
                          "without them", "field": field}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        await self.app(scope, replay, send)
