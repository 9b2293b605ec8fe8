"""Server-sent events: the live news of the twin, streamed to every open page.

Each message carries the news's position in the outbox as its `id:`; a browser that lost
the connection sends it back as `Last-Event-ID` and gets everything it missed, in order.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

import anyio
from anyio import to_thread
from fastapi import Request

from server.services.live import Change, Feed
from server.services.news import PERSONAL_KINDS

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
POLL_S = 1.0  # how long one wait for news lasts; also how soon a gone client is noticed
RETRY_MS = 3000
# Waiting for news holds a thread; give watchers their own pool so pages never starve
# the threads that sync routes run in.
WATCHER_THREADS = anyio.CapacityLimiter(64)


def frame(change: Change) -> str:
    """One change as an SSE message: the kind is the event name, the data is JSON."""
    body = json.dumps({"id": change.id, "kind": change.kind, "at": change.at, "data": change.data},
                      ensure_ascii=False, default=str)
    return f"id: {change.id}\nevent: {change.kind}\ndata: {body}\n\n"


def resume_from(request: Request, feed: Feed) -> int:
    """Where a stream starts: after `Last-Event-ID` (or `?since=`), else from now on."""
    given = request.headers.get("last-event-id") or request.query_params.get("since")
    if given is not None:
        try:
            position = int(given.strip())
        except ValueError:
            position = -1
        if position >= 0:
            return position
    return feed.committed()


def shown_to(change: Change, borrower: str | None) -> bool:
    """Whether a watcher sees this change: news naming a borrower (a request, a reminder, a
    hold) goes to staff and to that borrower only. `borrower` is the watcher's username when
    the watcher is a borrower, else None."""
    if borrower is None or change.kind not in PERSONAL_KINDS:
        return True
    return change.data.get("borrower") == borrower


async def changes(request: Request, feed: Feed, *,
                  borrower: str | None = None) -> AsyncIterator[str]:
    """Stream news until the client goes away; a comment line every 15 s keeps proxies open."""
    position = await to_thread.run_sync(resume_from, request, feed)
    with feed.watching():
        yield f"retry: {RETRY_MS}\n: watching\n\n"
        last_sent = time.monotonic()
        while True:
            if await request.is_disconnected():
                break
            fresh = await to_thread.run_sync(feed.since, position, POLL_S,
                                             limiter=WATCHER_THREADS)
            if not fresh:
                if time.monotonic() - last_sent >= HEARTBEAT_S:
                    yield ": heartbeat\n\n"
                    last_sent = time.monotonic()
                continue
            for change in fresh:
                if shown_to(change, borrower):
                    yield frame(change)
                position = change.id
            last_sent = time.monotonic()
    log.debug("live watcher left")
