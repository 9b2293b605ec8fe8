"""One leader among the processes that share a database: it runs the jobs and the publisher.

However many workers serve, the scheduled jobs and the outbox publisher run in exactly one
of them. The leader holds a lock for as long as it lives: a PostgreSQL session advisory lock
on a connection of its own, or, on SQLite, an exclusive `flock` on a file beside the
database. Both are let go by the operating system or the database when the process dies,
and another worker, trying every few seconds, takes over.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

LEADER_LOCK = 7219003  # PostgreSQL advisory lock key
RETRY_S = 3.0


class Duty:
    """Something only the leader does: started when it leads, stopped when it stops."""

    def __init__(self, name: str, start: Callable[[], object], stop: Callable[[], object]) -> None:
        self.name, self.start, self.stop = name, start, stop


class Leadership:
    """Try to lead; while leading, run the duties."""

    def __init__(self, engine: Engine, duties: list[Duty], *, retry_s: float = RETRY_S) -> None:
        self.engine = engine
        self.duties = duties
        self.retry_s = retry_s
        self.leading = threading.Event()
        self._conn: Connection | None = None
        self._file: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take the lead now if it is free, else keep trying in the background."""
        if self._try_lead():
            self._begin_duties()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the duties and let the lead go."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.retry_s + 5)
            self._thread = None
        if self.leading.is_set():
            self._end_duties()
        self._release()

    def _run(self) -> None:
        while not self._stop.wait(self.retry_s):
            if self.leading.is_set():
                if not self._still_leading():
                    log.warning("lost the lead (database connection gone); stopping the jobs")
                    self._end_duties()
                    self._release()
            elif self._try_lead():
                self._begin_duties()

    def _begin_duties(self) -> None:
        log.info("leading (pid %d): running %s", os.getpid(),
                 ", ".join(d.name for d in self.duties) or "nothing")
        self.leading.set()
        for duty in self.duties:
            try:
                duty.start()
            except Exception:
                log.exception("could not start %s", duty.name)

    def _end_duties(self) -> None:
        self.leading.clear()
        for duty in reversed(self.duties):
            try:
                duty.stop()
            except Exception:
                log.exception("could not stop %s", duty.name)

    # -- the lock ------------------------------------------------------------------

    def _try_lead(self) -> bool:
        try:
            if self.engine.dialect.name == "postgresql":
                return self._try_postgres()
            return self._try_file()
        except Exception:
            log.exception("could not try for the lead")
            self._release()
            return False

    def _try_postgres(self) -> bool:
        conn = self.engine.connect()
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}).scalar()
        conn.commit()
        if taken:
            self._conn = conn
            return True
        conn.close()
        return False

    def _try_file(self) -> bool:
        path = lock_file(self.engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._file = fd
        return True

    def _still_leading(self) -> bool:
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            return False

    def _release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})
                self._conn.commit()
            except Exception:  # a dead connection has let the lock go already
                log.debug("could not unlock on the old connection", exc_info=True)
            try:
                self._conn.close()
            except Exception:
                log.debug("could not close the old connection", exc_info=True)
            self._conn = None
        if self._file is not None:
            os.close(self._file)  # closing the descriptor lets the flock go
            self._file = None


def lock_file(engine: Engine) -> Path:
    """The file whose lock makes a process the leader of a SQLite database."""
    database = engine.url.database
    if not database or database == ":memory:":
        return Path(f"/tmp/archive-twin-{os.getpid()}.leader")
    return Path(database).with_name(Path(database).name + ".leader")
