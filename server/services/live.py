"""Live news for the pages this process serves: the outbox, followed as it commits.

Every process (each worker) follows the outbox on its own, so a page sees every change
whichever worker or device made it. The newest news is kept in memory for the watchers; a
watcher that falls behind it, or that comes back with `Last-Event-ID`, reads the rest from
the database. Nothing is dropped for a slow watcher: it only reads later.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session

from server.services import news
from server.services.news import Delivered

log = logging.getLogger(__name__)

KEPT = 5000  # news kept in memory for watchers
POLL_S = 0.25  # how soon news committed by another process is seen
READ_LIMIT = 1000

Change = Delivered  # what a watcher receives: position (id), kind, data, at


class Feed:
    """This process's view of the outbox, for the live pages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._kept: deque[Delivered] = deque(maxlen=KEPT)
        self._cond = threading.Condition()
        self._position = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watchers = 0  # live streams open now

    def start(self) -> None:
        """Start following the outbox from its newest news."""
        if self._thread is not None:
            return
        with Session(self.engine) as session:
            self._position = news.latest(session)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (watchers waiting are woken)."""
        self._stop.set()
        news.bell.ring()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._cond:
            self._cond.notify_all()

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count one open stream for as long as the block runs."""
        with self._cond:
            self.watchers += 1
        try:
            yield
        finally:
            with self._cond:
                self.watchers -= 1

    @property
    def latest(self) -> int:
        """The position of the newest news this process has seen."""
        return self._position

    def committed(self) -> int:
        """The position of the newest news committed by anyone (where a new stream starts)."""
        with Session(self.engine) as session:
            return news.latest(session)

    def since(self, position: int, timeout: float = 1.0) -> list[Delivered]:
        """News after `position`, in commit order; waits up to `timeout` when there is none."""
        with self._cond:
            if position >= self._position and not self._stop.is_set():
                self._cond.wait(timeout)
            kept = self._kept
            if kept and kept[0].id <= position + 1:
                return [c for c in kept if c.id > position][:READ_LIMIT]
            if position >= self._position:
                return []
        # Behind what memory holds (or nothing held yet): read it from the database.
        with Session(self.engine) as session:
            return news.after(session, position, limit=READ_LIMIT)

    def _run(self) -> None:
        while not self._stop.is_set():
            rung = news.bell.rung
            try:
                with Session(self.engine) as session:
                    fresh = news.after(session, self._position, limit=READ_LIMIT)
            except Exception:  # the database may be restarting: try again shortly
                log.exception("could not read the outbox")
                fresh = []
                self._stop.wait(1.0)
            if fresh:
                with self._cond:
                    self._kept.extend(fresh)
                    self._position = fresh[-1].id
                    self._cond.notify_all()
                continue
            news.bell.wait(rung, POLL_S)
