"""Scheduled jobs (APScheduler 3.x): each one a plain function of (settings, engine).

Add a job by adding one `Job` to JOBS. Each job isolates its items and is safe to run twice,
so a missed or doubled run does no harm.
"""

from __future__ import annotations

import logging
import smtplib
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


def roll_up_climate(settings: Settings, engine: Engine) -> None:
    """Hourly and daily climate roll-ups up to the last whole hour; raw readings past keeping."""
    from server.services import climate_history

    at = now()
    with session_scope(engine) as session:
        hours = climate_history.roll_up(session, until=at, stale_s=settings.climate_stale_s,
                                        default_profile=settings.climate_default_profile)
        gone = climate_history.forget_raw(
            session, before=at - timedelta(days=settings.climate_raw_keep_days))
    if hours or gone:
        log.info("climate: %d hour(s) rolled up, %d old reading(s) forgotten", hours, gone)


def file_climate_reports(settings: Settings, engine: Engine) -> None:
    """Last month's climate report of every room, as CSV and PDF under data_dir/reports."""
    from labels.typefaces import pdf_fonts
    from server.services import climate, climate_reports

    month = climate_reports.previous_month(now())
    folder = settings.data_dir / "reports" / "climate"
    with session_scope(engine) as session:
        for room in climate.rooms(session):
            try:  # one room's trouble never stops the others
                written = climate_reports.file_month(
                    session, room, month, folder, fonts=pdf_fonts(),
                    stale_s=settings.climate_stale_s,
                    default_profile=settings.climate_default_profile)
            except Exception:
                log.exception("could not file the climate report of %s for %s", room.code, month)
                continue
            if written:
                log.info("climate report of %s for %s filed in %s", room.code, month, folder)


def remind_overdue_loans(settings: Settings, engine: Engine) -> None:
    """Mark loans past due overdue and send the reminder stage each has reached (lending)."""
    from server.services import reminders

    with session_scope(engine) as session:
        done = reminders.remind(session, today=now().date(), stages=settings.loan_reminder_days)
    if done.marked_overdue or done.reminders:
        log.info("marked %d loans overdue, recorded %d reminders", done.marked_overdue,
                 done.reminders)
    if settings.smtp_url:
        try:
            with session_scope(engine) as session:
                mailed = reminders.send_mail(session, settings)
        except (OSError, smtplib.SMTPException) as exc:  # the reminders wait for the next run
            log.warning("could not e-mail loan reminders through %s: %s", settings.smtp_url, exc)
            return
        if mailed:
            log.info("e-mailed %d loan reminders", mailed)


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
    Job("climate-rollups", roll_up_climate,
        lambda s: {"trigger": "interval", "minutes": s.climate_rollup_minutes}),
    Job("climate-reports", file_climate_reports, lambda s: {"trigger": "interval", "hours": 6}),
    Job("overdue-loans", remind_overdue_loans,
        lambda s: {"trigger": "cron", "hour": s.loan_reminder_hour, "minute": 0}),
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
