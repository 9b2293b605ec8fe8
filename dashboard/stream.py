"""Server-sent events: the live feed of the twin, streamed to every open page."""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import AsyncIterator

import anyio
from anyio import to_thread
from fastapi import Request

from server.services.live import Change, feed

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
POLL_S = 1.0  # how long one wait on the queue lasts; also how soon a gone client is noticed
RETRY_MS = 3000
# Waiting on the feed holds a thread; give watchers their own pool so pages never starve
# the threads that sync routes run in.
WATCHER_THREADS = anyio.CapacityLimiter(64)


def frame(change: Change) -> str:
    """One change as an SSE message: the kind is the event name, the data is JSON."""
    body = json.dumps({"id": change.id, "kind": change.kind, "at": change.at, "data": change.data},
                      ensure_ascii=False, default=str)
    return f"id: {change.id}\nevent: {change.kind}\ndata: {body}\n\n"


async def changes(request: Request) -> AsyncIterator[str]:
    """Stream changes until the client goes away; a comment line every 15 s keeps proxies open."""
    with feed.watch() as q:
        yield f"retry: {RETRY_MS}\n: watching\n\n"
        last_sent = time.monotonic()
        while True:
            if await request.is_disconnected():
                break
            try:
                change = await to_thread.run_sync(q.get, True, POLL_S, limiter=WATCHER_THREADS)
            except queue.Empty:
                if time.monotonic() - last_sent >= HEARTBEAT_S:
                    yield ": heartbeat\n\n"
                    last_sent = time.monotonic()
                continue
            yield frame(change)
            last_sent = time.monotonic()
    log.debug("live watcher left")
