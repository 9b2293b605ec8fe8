"""Alarm changes by e-mail: a second reader of the outbox, with its own cursor.

Runs in the leader beside the MQTT publisher when ARCHIVE_TWIN_SMTP_URL and
ARCHIVE_TWIN_ALARM_MAIL_TO are set. Its cursor moves only after a message was handed to the
SMTP server, so an unreachable server delays the mail and loses none.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from server.models.news import NewsCursor
from server.services import mail, news
from server.settings import Settings

log = logging.getLogger(__name__)

CURSOR = "mail"
STATE_WORDS = {"active": "raised", "acknowledged": "acknowledged", "cleared": "cleared"}


def compose(item: news.AlarmChanged) -> tuple[str, str]:
    """Subject and body of the e-mail about one alarm change."""
    word = STATE_WORDS.get(item.state, item.state)
    subject = f"[archive-twin] {item.severity} {item.kind_of} {word}: {item.subject}"
    body = (f"Alarm {item.id} ({item.kind_of}, {item.severity}) was {word} at "
            f"{item.ts.isoformat()}.\n\n{item.message}\n\nSubject: {item.subject}\n")
    return subject, body


class AlarmMailer:
    """Mails every alarm change to the people in ARCHIVE_TWIN_ALARM_MAIL_TO."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start mailing from where the last mailer stopped."""
        if self._thread is None:
            with Session(self.engine) as session:
                if session.get(NewsCursor, CURSOR) is None:  # start from now, not from the
                    news.advance(session, CURSOR, news.latest(session))  # whole history
                    session.commit()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="alarm-mail", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the message in hand."""
        self._stop.set()
        news.bell.ring()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            rung = news.bell.rung
            try:
                sent = self.mail_some()
            except Exception:  # the SMTP server is away: the cursor stays, try again later
                log.exception("could not mail the alarm changes; trying again")
                self._stop.wait(5.0)
                continue
            if not sent:
                news.bell.wait(rung, 1.0)

    def mail_some(self) -> int:
        """Mail the alarm changes after the cursor; how many news items were passed."""
        with Session(self.engine) as session:
            fresh = news.after(session, news.cursor(session, CURSOR), limit=200)
        for delivered in fresh:
            item = delivered.news()
            if isinstance(item, news.AlarmChanged):
                subject, body = compose(item)
                mail.send(self.settings, self.settings.alarm_mail_to, subject, body)
                self.sent += 1
            self._advance(delivered.id)
        return len(fresh)

    def _advance(self, news_id: int) -> None:
        # The mail has gone: a busy database must not make the next round send it again, so
        # the cursor's move is retried for a while before the round gives up.
        for attempt in range(10):
            try:
                with Session(self.engine) as session:
                    news.advance(session, CURSOR, news_id)
                    session.commit()
                return
            except OperationalError:
                if attempt == 9:
                    raise
                self._stop.wait(0.2 * (attempt + 1))
