"""Outgoing email: a message, the mailers that send it (SMTP, or an outbox directory in development), and
the choice between them.

Bodies carry secrets (password-reset tokens), so nothing here logs them: only the recipient's domain and the
subject.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

from aurum.settings import Settings

log = structlog.get_logger(__name__)

SMTP_TIMEOUT = 10.0
"""Seconds allowed for connecting to the SMTP server and for each of its answers."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Message:
    """One email to one person: a plain-text body, optionally with an HTML alternative."""

    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise."""
        ...


def _domain(address: str) -> str:
    local, at, domain = parseaddr(address)[1].rpartition("@")
    return domain.lower() if local and at else ""


def recipient_domain(address: str) -> str:
    """The part of an address that may be logged: its domain."""
    return _domain(address) or "?"


def compose(message: Message, sender: str) -> EmailMessage:
    """The RFC 5322 message: From, To, Subject, Date and Message-ID, a text part and an optional HTML one."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=_domain(sender) or "localhost")
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to reach an SMTP server, as read from an ``smtp://`` or ``smtps://`` URL."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    start_tls: bool = False


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Read ``smtp://[user:pass@]host[:port][?starttls=true]`` (port 25) or ``smtps://…`` (implicit TLS, 465).

    Credentials are URL-decoded, so a password with ``@`` or ``:`` is written ``%40``/``%3A``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise ValueError("must be an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("an SMTP URL needs a host")
    port = parts.port  # raises ValueError for a port out of range
    query = {name.lower(): values[-1].lower() for name, values in parse_qs(parts.query).items()}
    start_tls = False
    if "starttls" in query:
        if query["starttls"] in _TRUE:
            start_tls = True
        elif query["starttls"] not in _FALSE:
            raise ValueError("starttls must be true or false")
    use_tls = scheme == "smtps"
    if use_tls and start_tls:
        raise ValueError("smtps:// is already TLS; starttls applies to smtp:// only")
    return SmtpEndpoint(
        hostname=parts.hostname,
        port=port if port is not None else (465 if use_tls else 25),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )


class SmtpMailer:
    """Sends through an SMTP server, one connection per message (SendGrid's relay included:
    ``smtp://apikey:<key>@smtp.sendgrid.net:587?starttls=true``)."""

    def __init__(self, url: str, sender: str, *, timeout: float = SMTP_TIMEOUT) -> None:
        self.endpoint = parse_smtp_url(url)
        self.sender = sender
        self.timeout = timeout

    async def send(self, message: Message) -> None:
        endpoint = self.endpoint
        await aiosmtplib.send(
            compose(message, self.sender),
            hostname=endpoint.hostname,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            use_tls=endpoint.use_tls,
            start_tls=endpoint.start_tls,
            timeout=self.timeout,
        )
        log.info(
            "mail sent",
            transport="smtp",
            host=endpoint.hostname,
            to_domain=recipient_domain(message.to),
            subject=message.subject,
        )


class OutboxMailer:
    """Development without SMTP: each message becomes an ``.eml`` file in a directory, named so that the
    files sort by the time they were written."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender
        self._lock = threading.Lock()
        self._last_stamp = 0

    async def send(self, message: Message) -> None:
        data = bytes(compose(message, self.sender))
        path = await asyncio.to_thread(self._write, data)
        log.info(
            "mail written to outbox",
            transport="outbox",
            file=str(path),
            to_domain=recipient_domain(message.to),
            subject=message.subject,
        )

    def _write(self, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{self._next_stamp()}-{secrets.token_hex(4)}.eml"
        # A dot-file in the same directory, renamed into place: readers never see half a message.
        temporary = self.directory / f".{name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            final = self.directory / name
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return final

    def _next_stamp(self) -> str:
        """UTC time to the nanosecond, fixed width, strictly increasing within this mailer:
        ``20261125T101530.123456789Z``."""
        with self._lock:
            self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
            nanoseconds = self._last_stamp
        seconds, fraction = divmod(nanoseconds, 1_000_000_000)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%dT%H%M%S") + f".{fraction:09d}Z"


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when ``AURUM_SMTP_URL`` is set, otherwise the outbox in the data directory."""
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return OutboxMailer(settings.data_dir / "outbox", settings.mail_from)
