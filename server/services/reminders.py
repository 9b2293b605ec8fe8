"""Overdue loans and their reminders (催还), in stages, each stage once.

The daily job (server/jobs.py) calls `remind` and then `send_mail`. `remind` marks open loans
past their due day overdue and, for the latest stage a loan has reached (stages are days after
the due day, e.g. 0, 3, 7), records one LoanReminder row and its LoanReminded news (MQTT
`loans/{id}/reminder`, live pages) in the same transaction. A stage never goes out twice: a
loan whose job did not run for a week gets the stage it is at now, not the ones it missed.

E-mail goes after the commit, so a mail server that is down delays the mail, never the
reminder: rows with an address and no `emailed_at` are sent on every run until they go.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import now
from server.models.columns import saved_id
from server.models.holdings import Box
from server.models.lending import LoanReminder
from server.models.loans import Loan
from server.services import audit, mail, news, people
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reminded:
    """What one run did: loans newly marked overdue, reminders recorded."""

    marked_overdue: int
    reminders: int


def stage_for(days_late: int, stages: list[int]) -> int:
    """The stage (1-based) a loan this many days past due has reached; 0 for none yet."""
    reached = 0
    for number, day in enumerate(stages, 1):
        if days_late >= day:
            reached = number
    return reached


def address_of(session: Session, username: str) -> str | None:
    """Where a person's reminders go: their e-mail, or a username that is an address."""
    user = people.get_user(session, username)
    if user is None:
        return None
    if user.email:
        return user.email
    return username if "@" in username else None


def remind(session: Session, *, today: date, stages: list[int]) -> Reminded:
    """Mark overdue loans and record the reminder stage each has reached (each stage once)."""
    marked = sent = 0
    due = session.exec(select(Loan).where(col(Loan.returned_at).is_(None),
                                          col(Loan.due_on) <= today)
                       .order_by(col(Loan.id))).all()
    for loan in due:
        try:
            with session.begin_nested():  # one bad loan never stops the others
                marked_now, sent_now = _remind_one(session, loan, today=today, stages=stages)
        except Exception:
            log.exception("could not remind loan %s", loan.id)
            continue
        marked += marked_now
        sent += sent_now
    return Reminded(marked, sent)


def _remind_one(session: Session, loan: Loan, *, today: date, stages: list[int]) -> tuple[int, int]:
    marked = 0
    if loan.due_on < today and loan.overdue_at is None:
        loan.overdue_at = now()
        marked = 1
    stage = stage_for((today - loan.due_on).days, stages)
    if stage == 0:
        return marked, 0
    last = session.exec(select(func.max(LoanReminder.stage))
                        .where(LoanReminder.loan_id == loan.id)).one() or 0
    if stage <= last:
        return marked, 0
    box = session.get(Box, loan.box_id)
    code = box.code if box else "?"
    at = now()
    session.add(LoanReminder(loan_id=saved_id(loan), stage=stage, due_on=loan.due_on,
                             sent_at=at, email_to=address_of(session, loan.borrower)))
    news.tell(session, news.LoanReminded(id=saved_id(loan), box=code, borrower=loan.borrower,
                                         due_on=loan.due_on.isoformat(), stage=stage, ts=at))
    audit.record(session, actor="scheduler", action="remind", entity="loan",
                 entity_id=str(loan.id), after={"stage": stage, "box": code,
                                                "borrower": loan.borrower,
                                                "due_on": loan.due_on.isoformat()})
    return marked, 1


def reminders_of(session: Session, loan_ids: list[int]) -> dict[int, LoanReminder]:
    """The latest reminder of each of these loans."""
    if not loan_ids:
        return {}
    latest: dict[int, LoanReminder] = {}
    for row in session.exec(select(LoanReminder).where(col(LoanReminder.loan_id).in_(loan_ids))
                            .order_by(col(LoanReminder.stage))):
        latest[row.loan_id] = row
    return latest


# -- e-mail ---------------------------------------------------------------------------------


def _message(reminder: LoanReminder, loan: Loan, box: str, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    due = reminder.due_on.isoformat()
    late = (now().date() - reminder.due_on).days
    message["Subject"] = (f"催还通知 Reminder {reminder.stage}: box {box} "
                          f"{'is due back today' if late <= 0 else f'was due back {due}'}")
    message["From"] = sender
    message["To"] = reminder.email_to or ""
    message.set_content(
        f"您借阅的档案盒 {box} 应于 {due} 归还"
        f"{'（今日到期）' if late <= 0 else f'，已逾期 {late} 天'}。请尽快归还档案室。\n\n"
        f"The archive box {box} you borrowed "
        f"{'is due back today' if late <= 0 else f'was due back on {due}, {late} day(s) ago'}. "
        f"Please bring it back to the archive.\n\n"
        f"Loan 借阅 #{loan.id}, reminder 第 {reminder.stage} 次催还\n")
    return message


def send_mail(session: Session, settings: Settings) -> int:
    """E-mail every recorded reminder not yet e-mailed; how many went. Commits each one."""
    waiting = session.exec(select(LoanReminder).where(col(LoanReminder.email_to).is_not(None),
                                                      col(LoanReminder.emailed_at).is_(None))
                           .order_by(col(LoanReminder.id))).all()
    if not waiting:
        return 0
    sent = 0
    with mail.connection(settings) as smtp:  # one connection for the day's reminders
        for reminder in waiting:
            loan = session.get(Loan, reminder.loan_id)
            box = session.get(Box, loan.box_id) if loan else None
            if loan is None:
                continue
            try:
                smtp.send_message(_message(reminder, loan, box.code if box else "?",
                                           sender=settings.mail_from))
            except smtplib.SMTPRecipientsRefused:
                log.warning("the mail server refused %s for loan %s", reminder.email_to, loan.id)
                continue
            reminder.emailed_at = now()
            session.commit()
            sent += 1
    return sent
