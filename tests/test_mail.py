"""Outgoing email: SMTP to a real server (aiosmtpd), the development outbox, the choice between them, the
settings, and the ``send_email`` job run by the worker inside the test server."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import os
import socket
import stat
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import aiosmtplib
import pytest
import structlog
from arq.worker import Retry

from aurum.mail import (
    Message,
    OutboxMailer,
    SmtpEndpoint,
    SmtpMailer,
    compose,
    mailer_for,
    parse_smtp_url,
)
from aurum.resources import Resources
from aurum.settings import Settings, SettingsError, load_settings
from aurum.worker import FUNCTIONS, MAIL_MAX_TRIES, MAIL_RETRY_SECONDS, send_email
from tests.conftest import SmtpSink

SENDER = "Aurum Life <no-reply@aurum.life>"


def address(prefix: str = "person") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings that do not depend on the environment the tests run in for what these tests look at."""
    values: dict[str, Any] = {"env": "development", "data_dir": tmp_path / "data", "smtp_url": None}
    values.update(overrides)
    return Settings(**values)


def body(message: EmailMessage, subtype: str = "plain") -> str:
    """The text of the ``text/<subtype>`` part, with SMTP's CRLF line ends read as ``\n``."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, message
    assert part.get_content_type() == f"text/{subtype}"
    return cast(str, cast(EmailMessage, part).get_content()).replace("\r\n", "\n")


def read_eml(path: Path) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))


@contextmanager
def recorded_logs() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event while active, as the processors see it. The processor is put into the shared
    processor list itself, so loggers already cached (``cache_logger_on_first_use``) are recorded too."""
    events: list[dict[str, Any]] = []

    def record(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        events.append(dict(event_dict))
        return event_dict

    processors = structlog.get_config()["processors"]
    processors.insert(0, record)
    try:
        yield events
    finally:
        processors.remove(record)


# --- SMTP, against a real server ------------------------------------------------------------------------


async def test_smtp_mailer_delivers_a_plain_text_message(smtp_server: SmtpSink, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url=smtp_server.url)
    to = address()
    before = datetime.now(UTC).replace(microsecond=0)

    await SmtpMailer(smtp_server.url, settings.mail_from).send(
        Message(to=to, subject="Reset your password", text="Your code is 123456.\n")
    )

    received = await smtp_server.wait_for_message(to)
    assert received["From"] == settings.mail_from
    assert received["To"] == to
    assert received["Subject"] == "Reset your password"
    sent_at = parsedate_to_datetime(received["Date"])
    assert before <= sent_at <= datetime.now(UTC) + timedelta(seconds=1)
    message_id = received["Message-ID"]
    assert message_id.startswith("<"), message_id
    assert message_id.endswith("@aurum.life>"), message_id
    assert received.get_content_type() == "text/plain"
    assert body(received) == "Your code is 123456.\n"
    (delivery,) = [d for d in smtp_server.deliveries if d.message["Message-ID"] == message_id]
    assert delivery.mail_from == parseaddr(settings.mail_from)[1]
    assert delivery.rcpt_tos == [to]


async def test_smtp_mailer_sends_the_html_alternative_and_non_ascii_text(smtp_server: SmtpSink) -> None:
    to = address()
    subject = "Réinitialiser le mot de passe — ✓"
    text = "Bonjour Zoë,\nvoici votre lien : https://aurum.life/reset?token=abc\n"
    html = "<p>Bonjour Zoë, <a href='https://aurum.life/reset?token=abc'>réinitialiser</a></p>\n"

    await SmtpMailer(smtp_server.url, SENDER).send(Message(to=to, subject=subject, text=text, html=html))

    received = await smtp_server.wait_for_message(to)
    assert received.get_content_type() == "multipart/alternative"
    assert received["Subject"] == subject
    assert body(received) == text
    assert body(received, "html") == html


async def test_two_messages_get_different_message_ids(smtp_server: SmtpSink) -> None:
    to = address()
    mailer = SmtpMailer(smtp_server.url, SENDER)
    await mailer.send(Message(to=to, subject="one", text="1"))
    await mailer.send(Message(to=to, subject="two", text="2"))
    await smtp_server.wait_for_message(to)
    ids = {m["Message-ID"] for m in smtp_server.received_by(to)}
    assert len(ids) == 2


async def test_smtp_refusals_and_unreachable_servers_raise(smtp_server: SmtpSink) -> None:
    mailer = SmtpMailer(smtp_server.url, SENDER)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await mailer.send(Message(to=address("reject"), subject="s", text="t"))
    assert [r.code for r in refused.value.recipients] == [550]

    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER).send(
                Message(to=address(), subject="s", text="t")
            )


async def test_headers_cannot_be_injected(smtp_server: SmtpSink) -> None:
    victim = address("victim")
    mailer = SmtpMailer(smtp_server.url, SENDER)
    with pytest.raises(ValueError, match="linefeed"):
        await mailer.send(Message(to=f"{address()}\r\nBcc: {victim}", subject="s", text="t"))
    with pytest.raises(ValueError, match="linefeed"):
        await mailer.send(Message(to=address(), subject=f"hello\nBcc: {victim}", text="t"))
    assert smtp_server.received_by(victim) == []


async def test_bodies_are_never_logged(smtp_server: SmtpSink, tmp_path: Path) -> None:
    secret = f"reset-token-{uuid.uuid4().hex}"
    to = address()
    message = Message(to=to, subject="Reset your password", text=f"token {secret}", html=f"<b>{secret}</b>")
    with recorded_logs() as events:
        await SmtpMailer(smtp_server.url, SENDER).send(message)
        await OutboxMailer(tmp_path / "outbox", SENDER).send(message)
    await smtp_server.wait_for_message(to)

    assert len(events) == 2, events
    assert {e["transport"] for e in events} == {"smtp", "outbox"}
    for event in events:
        assert event["to_domain"] == "example.com"
        assert event["subject"] == "Reset your password"
        rendered = repr(event)
        assert secret not in rendered
        assert to not in rendered


# --- SMTP URLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpEndpoint("mail.example.com", 25)),
        ("smtp://mail.example.com:2525", SmtpEndpoint("mail.example.com", 2525)),
        ("smtp://mail.example.com?starttls=false", SmtpEndpoint("mail.example.com", 25)),
        ("smtp://mail.example.com:587?starttls=true", SmtpEndpoint("mail.example.com", 587, start_tls=True)),
        ("smtp://mail.example.com:587?StartTLS=1", SmtpEndpoint("mail.example.com", 587, start_tls=True)),
        ("smtps://mail.example.com", SmtpEndpoint("mail.example.com", 465, use_tls=True)),
        ("smtps://u:p@mail.example.com:2465", SmtpEndpoint("mail.example.com", 2465, "u", "p", use_tls=True)),
        (
            "smtp://apikey:SG.abc-DEF_1.xyz@smtp.sendgrid.net:587?starttls=true",
            SmtpEndpoint("smtp.sendgrid.net", 587, "apikey", "SG.abc-DEF_1.xyz", start_tls=True),
        ),
        (
            "smtp://me%40example.com:p%40ss%3Aw%2Fr+d%25@[::1]:25",
            SmtpEndpoint("::1", 25, "me@example.com", "p@ss:w/r+d%"),
        ),
        ("SMTP://Mail.Example.com", SmtpEndpoint("mail.example.com", 25)),
    ],
)
def test_smtp_urls_are_read(url: str, expected: SmtpEndpoint) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example.com", "smtp:// or smtps://"),
        ("mail.example.com:25", "smtp:// or smtps://"),
        ("smtp://", "host"),
        ("smtp://:25", "host"),
        ("smtp://mail.example.com:99999", "ort"),
        ("smtp://mail.example.com:abc", "ort"),
        ("smtp://mail.example.com?starttls=maybe", "starttls"),
        ("smtps://mail.example.com?starttls=true", "smtps"),
    ],
)
def test_bad_smtp_urls_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_smtp_url(url)


def test_the_password_is_not_in_the_endpoint_repr() -> None:
    endpoint = parse_smtp_url("smtp://apikey:SG.very-secret@smtp.sendgrid.net:587?starttls=true")
    assert endpoint.password == "SG.very-secret"
    assert "SG.very-secret" not in repr(endpoint)


# --- settings --------------------------------------------------------------------------------------------


@pytest.fixture
def mail_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("AURUM_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AURUM_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def test_mail_settings_default(mail_environment: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.smtp_url is None
    assert settings.mail_from == "Aurum Life <no-reply@aurum.life>"


@pytest.mark.parametrize(
    "url", ["smtp://127.0.0.1:2525", "smtps://u:p@mail.example.com", "smtp://apikey:k@h:587?starttls=true"]
)
def test_smtp_url_setting_is_read(mail_environment: pytest.MonkeyPatch, url: str) -> None:
    mail_environment.setenv("AURUM_SMTP_URL", url)
    assert load_settings().smtp_url == url


def test_empty_smtp_url_setting_means_none(mail_environment: pytest.MonkeyPatch) -> None:
    mail_environment.setenv("AURUM_SMTP_URL", "")
    assert load_settings().smtp_url is None


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtp://h:70000", "smtps://h?starttls=true"]
)
def test_bad_smtp_url_setting_is_named(mail_environment: pytest.MonkeyPatch, url: str) -> None:
    mail_environment.setenv("AURUM_SMTP_URL", url)
    with pytest.raises(SettingsError, match=r"^invalid setting AURUM_SMTP_URL: "):
        load_settings()


def test_mail_from_setting(mail_environment: pytest.MonkeyPatch) -> None:
    mail_environment.setenv("AURUM_MAIL_FROM", "Team <team@example.org>")
    assert load_settings().mail_from == "Team <team@example.org>"
    for bad in ["nobody", "Team <>", "team@example.org\nBcc: x@example.org"]:
        mail_environment.setenv("AURUM_MAIL_FROM", bad)
        with pytest.raises(SettingsError, match=r"^invalid setting AURUM_MAIL_FROM: "):
            load_settings()


# --- the development outbox ------------------------------------------------------------------------------


async def test_outbox_writes_readable_eml_files_in_order(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "outbox"  # does not exist yet
    mailer = OutboxMailer(directory, SENDER)
    first, second = address(), address()

    await mailer.send(Message(to=first, subject="First", text="one\n"))
    await mailer.send(Message(to=second, subject="Second ✓", text="two\n", html="<p>two</p>\n"))

    names = sorted(p.name for p in directory.iterdir())
    assert len(names) == 2, names
    assert all(name.endswith(".eml") for name in names), names  # no temporary file left behind
    parsed = [read_eml(directory / name) for name in names]
    assert [m["To"] for m in parsed] == [first, second]  # file names sort by time
    assert [m["Subject"] for m in parsed] == ["First", "Second ✓"]
    assert all(m["From"] == SENDER and m["Message-ID"] and m["Date"] for m in parsed)
    assert body(parsed[0]) == "one\n"
    assert body(parsed[1]) == "two\n"
    assert body(parsed[1], "html") == "<p>two</p>\n"
    # Reset tokens are in there: only the owner may read them.
    assert all(stat.S_IMODE((directory / n).stat().st_mode) == 0o600 for n in names)


async def test_outbox_file_names_are_unique_under_concurrency(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path, SENDER)
    await asyncio.gather(*(mailer.send(Message(to=address(), subject=str(i), text="t")) for i in range(20)))
    names = sorted(p.name for p in await asyncio.to_thread(lambda: list(tmp_path.iterdir())))
    assert len(names) == 20
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names), names
    assert len({read_eml(tmp_path / name)["Message-ID"] for name in names}) == 20


# --- choosing the mailer ---------------------------------------------------------------------------------


async def test_mailer_for_uses_smtp_when_configured(smtp_server: SmtpSink, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url=smtp_server.url, mail_from="Ops <ops@example.org>")
    mailer = mailer_for(settings)
    assert isinstance(mailer, SmtpMailer)
    assert mailer.endpoint == SmtpEndpoint("127.0.0.1", smtp_server.port)

    to = address()
    await mailer.send(Message(to=to, subject="via settings", text="hello"))
    received = await smtp_server.wait_for_message(to)
    assert received["From"] == "Ops <ops@example.org>"
    assert not (settings.data_dir / "outbox").exists()


async def test_mailer_for_writes_to_the_outbox_without_smtp(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    mailer = mailer_for(settings)
    assert isinstance(mailer, OutboxMailer)

    to = address()
    await mailer.send(Message(to=to, subject="no smtp", text="hello"))
    (written,) = await asyncio.to_thread(lambda: list((settings.data_dir / "outbox").iterdir()))
    assert written.suffix == ".eml"
    parsed = read_eml(written)
    assert parsed["To"] == to
    assert parsed["From"] == settings.mail_from


def test_compose_sets_the_headers_once() -> None:
    built = compose(Message(to="a@example.com", subject="s", text="t"), SENDER)
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert len(built.get_all(header, [])) == 1, header
    assert built["From"] == SENDER


# --- the send_email job ----------------------------------------------------------------------------------


def test_send_email_is_a_worker_function_that_keeps_no_result() -> None:
    registered = {getattr(f, "coroutine", f): f for f in FUNCTIONS}
    assert send_email in registered
    assert getattr(registered[send_email], "keep_result_s", None) == 0  # reset links must not linger in Redis


async def test_send_email_job_is_delivered_by_the_worker(
    server_url: str, resources: Resources, settings: Settings, smtp_server: SmtpSink
) -> None:
    # ``server_url`` runs the test server, and with it the in-process worker that picks the job up.
    assert settings.smtp_url == smtp_server.url
    to = address()
    queued = await resources.jobs.enqueue("send_email", to, "Welcome to Aurum", "Hello from the worker.\n")
    assert queued

    received = await smtp_server.wait_for_message(to)
    assert received["Subject"] == "Welcome to Aurum"
    assert received["From"] == settings.mail_from
    assert body(received) == "Hello from the worker.\n"


def job_context(resources: Resources, job_try: int, smtp_url: str | None = None) -> dict[str, Any]:
    if smtp_url is not None:
        settings = resources.settings.model_copy(update={"smtp_url": smtp_url})
        resources = dataclasses.replace(resources, settings=settings)
    return {"resources": resources, "job_try": job_try}


async def test_send_email_retries_transient_failures_with_backoff(
    resources: Resources, smtp_server: SmtpSink
) -> None:
    to = address("defer")  # the test server answers 451 for these
    for job_try in range(1, MAIL_MAX_TRIES):
        with pytest.raises(Retry) as retry:
            await send_email(job_context(resources, job_try), to, "s", "t")
        assert retry.value.defer_score == MAIL_RETRY_SECONDS * 2 ** (job_try - 1) * 1000
        assert isinstance(retry.value.__cause__, aiosmtplib.SMTPRecipientsRefused)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send_email(job_context(resources, MAIL_MAX_TRIES), to, "s", "t")


async def test_send_email_retries_when_the_server_is_unreachable(resources: Resources) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        context = job_context(resources, 1, smtp_url=f"smtp://127.0.0.1:{port}")
        with pytest.raises(Retry):
            await send_email(context, address(), "s", "t")
        context["job_try"] = MAIL_MAX_TRIES
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await send_email(context, address(), "s", "t")


async def test_send_email_does_not_retry_permanent_failures(
    resources: Resources, smtp_server: SmtpSink
) -> None:
    # A 550 fails the job at the first try instead of raising Retry.
    to = address("reject")
    with recorded_logs() as events, pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_email(job_context(resources, 1), to, "s", "secret body")
    assert [r.code for r in refused.value.recipients] == [550]
    (event,) = [e for e in events if e["event"] == "mail not sent"]
    assert event["codes"] == [550]
    assert event["to_domain"] == "example.com"
    assert event["retry_in_seconds"] is None
    assert to not in repr(event)
    assert "secret body" not in repr(event)
