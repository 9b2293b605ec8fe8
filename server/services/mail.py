"""E-mail through the configured SMTP server (ARCHIVE_TWIN_SMTP_URL, smtp://host:port)."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from server.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0


def configured(settings: Settings) -> bool:
    """Whether e-mail can be sent at all."""
    return bool(settings.smtp_url)


@contextmanager
def connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """An open, signed-in connection to the configured SMTP server, for one or many messages.

    Raises ValueError for a URL that is not smtp(s)://host:port, and OSError /
    smtplib.SMTPException when the server cannot be reached or refuses.
    """
    url = urlsplit(settings.smtp_url or "")
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError(f"ARCHIVE_TWIN_SMTP_URL must be smtp://host:port, not {settings.smtp_url!r}")
    opener = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with opener(url.hostname, url.port or (465 if url.scheme == "smtps" else 25),
                timeout=TIMEOUT_S) as smtp:
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        yield smtp


def send(settings: Settings, to: str | list[str], subject: str, body: str) -> bool:
    """Send one plain-text message; False (and nothing sent) when SMTP is not configured.

    Raises OSError / smtplib.SMTPException when the server cannot be reached or refuses: the
    caller decides whether to try again.
    """
    if not settings.smtp_url:
        return False
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    with connection(settings) as smtp:
        smtp.send_message(message, to_addrs=recipients)
    return True
