"""Live news of the twin inside one server process: what changed, for pages that watch it."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from server.clock import now

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Change:
    """One piece of news: e.g. kind 'box' (moved), 'alarm', 'climate', 'device', 'reject'."""

    id: int
    kind: str
    data: dict[str, Any]
    at: str = field(default_factory=lambda: now().isoformat())


class Feed:
    """A fan-out of changes to every watcher; a slow watcher loses old news, never blocks."""

    def __init__(self) -> None:
        self._watchers: set[queue.Queue[Change]] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Tell every watcher about a change."""
        change = Change(next(self._ids), kind, data)
        with self._lock:
            watchers = list(self._watchers)
        for q in watchers:
            try:
                q.put_nowait(change)
            except queue.Full:
                try:
                    q.get_nowait()
                    q.put_nowait(change)
                except (queue.Empty, queue.Full):
                    log.debug("watcher queue contended; dropped one change")

    @contextmanager
    def watch(self) -> Iterator[queue.Queue[Change]]:
        """A queue that receives every change published while the block runs."""
        q: queue.Queue[Change] = queue.Queue(maxsize=QUEUE_SIZE)
        with self._lock:
            self._watchers.add(q)
        try:
            yield q
        finally:
            with self._lock:
                self._watchers.discard(q)

    @property
    def watchers(self) -> int:
        """How many are watching now."""
        with self._lock:
            return len(self._watchers)


feed = Feed()
