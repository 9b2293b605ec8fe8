"""Scheduled jobs (APScheduler 3.x): each one a plain function of (settings, engine).

Add a job by adding one `Job` to JOBS. Each job isolates its items and is safe to run twice,
so a missed or doubled run does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from server.clock import now
from server.db import session_scope
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job: its id, what it runs and how often (APScheduler trigger arguments)."""

    id: str
    run: Callable[[Settings, Engine], Any]
    trigger: Callable[[Settings], dict[str, Any]]


def verify_fixity(settings: Settings, engine: Engine) -> None:
    """Re-hash the stored electronic copies; mismatches raise alarms."""
    from server.services.copies import CopyStore
    from server.services.fixity import verify_copies

    verify_copies(engine, CopyStore(settings.copies_path), actor="scheduler")


def mark_silent_devices(settings: Settings, engine: Engine) -> None:
    """Sensors and readers silent for 3× their report interval go offline, with an alarm."""
    from server.services import twin

    with session_scope(engine) as session:
        twin.mark_silent_devices(session, at=now())


def mark_missing_boxes(settings: Settings, engine: Engine) -> None:
    """Shelved boxes their shelf reader has not heard for missing_after_s become missing."""
    from server.services import twin

    with session_scope(engine) as session:
        twin.mark_missing_boxes(
            session, older_than=timedelta(seconds=settings.missing_after_s), at=now())


def forget_old_news(settings: Settings, engine: Engine) -> None:
    """Delivered news past its keeping time, and message keys past the duplicate window."""
    from server.services import devices, news

    at = now()
    with session_scope(engine) as session:
        gone = news.prune(session, before=at - timedelta(hours=settings.news_keep_hours))
        keys = devices.forget_messages(session, before=at - timedelta(
            seconds=settings.duplicate_window_s))
    if gone or keys:
        log.info("forgot %d delivered news and %d message keys", gone, keys)


def forget_old_sign_ins(settings: Settings, engine: Engine) -> None:
    """Sessions ended or expired a day ago, and sign-in failures no longer braking anyone."""
    from server.services import security

    with session_scope(engine) as session:
        security.forget_old_sign_ins(session, older_than=now() - timedelta(days=1))


def take_backup(settings: Settings, engine: Engine) -> None:
    """A backup archive every backup_interval_hours (0: none); the newest backup_keep are kept."""
    if not settings.backup_interval_hours:
        return
    from server.services import backups

    path = backups.take(engine, settings.db_url, settings.copies_path, settings.backups_path)
    gone = backups.prune(settings.backups_path, settings.backup_keep)
    log.info("backup written to %s; %d older removed", path, len(gone))


JOBS: tuple[Job, ...] = (
    Job("fixity", verify_fixity,
        lambda s: {"trigger": "interval", "hours": s.fixity_interval_hours}),
    Job("silent-devices", mark_silent_devices, lambda s: {"trigger": "interval", "seconds": 15}),
    Job("missing-boxes", mark_missing_boxes,
        lambda s: {"trigger": "interval", "seconds": max(10, s.missing_after_s // 10)}),
    Job("forget-old-news", forget_old_news, lambda s: {"trigger": "interval", "minutes": 10}),
    Job("forget-old-sign-ins", forget_old_sign_ins, lambda s: {"trigger": "interval", "hours": 1}),
    Job("backup", take_backup,
        lambda s: {"trigger": "interval", "hours": s.backup_interval_hours or 24}),
)


def _guarded(job: Job, settings: Settings, engine: Engine) -> Callable[[], None]:
    def run() -> None:
        try:
            job.run(settings, engine)
        except Exception:  # a failed run is logged; the next one is still scheduled
            log.exception("scheduled job %s failed", job.id)

    return run


def build_scheduler(settings: Settings, engine: Engine) -> BackgroundScheduler:
    """A scheduler (not started) with every job in JOBS; one instance of each at a time."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(_guarded(job, settings, engine), id=job.id, name=job.id,
                          max_instances=1, coalesce=True, replace_existing=True,
                          **job.trigger(settings))
    return scheduler


class Jobs:
    """The scheduled jobs of the leader: a fresh scheduler each time it starts leading."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        """Schedule and start every job."""
        if self._scheduler is None:
            self._scheduler = build_scheduler(self.settings, self.engine)
            self._scheduler.start()

    def stop(self) -> None:
        """Stop scheduling (a job running now finishes on its own)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
