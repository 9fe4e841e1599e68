"""The ARQ worker: the functions it runs and how it is started, alone or inside ``aurum serve``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiosmtplib
import structlog
from arq.cron import cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, Retry, Worker, func
from sqlalchemy import func as sql
from sqlalchemy import select

from aurum.calendar.jobs import refresh_calendars
from aurum.db import BACKGROUND
from aurum.hrm.analysis import analyse, expire_insights, sweep_runs
from aurum.hrm.registry import verify_rules
from aurum.hrm.scoring import refresh_scores, rescore_user, sweep_scores
from aurum.jobs import QUEUE_NAME, redis_settings
from aurum.journal.sentiment_job import analyse_sentiment
from aurum.journal.service import TRASH_DAYS
from aurum.mail import Message, mailer_for, recipient_domain
from aurum.notification.scheduler import purge_notifications, scan_notifications
from aurum.resource.service import sweep_files
from aurum.resources import Resources
from aurum.settings import Settings

log = structlog.get_logger(__name__)


async def ping(ctx: dict[str, Any], payload: str) -> str:
    """Answer at once: proves end to end that jobs are picked up (used by health checks and tests)."""
    return f"pong:{payload}"


MAIL_MAX_TRIES = 4
"""Tries of one ``send_email`` job when the SMTP server fails transiently; the last failure is raised."""
MAIL_RETRY_SECONDS = 15
"""Wait before the second try; it doubles for each further one (15 s, 30 s, 60 s)."""


def is_transient(error: aiosmtplib.SMTPException) -> bool:
    """Whether trying again later may succeed: no connection, a timeout, a dropped line, or a 4xx answer."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(400 <= refused.code < 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return 400 <= error.code < 500
    return isinstance(
        error, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError
    )


def _error_detail(error: aiosmtplib.SMTPException) -> dict[str, Any]:
    """What may be logged about a failure: SMTP codes, or the text of a connection error. Server answers
    can quote the recipient's address, so their text is left out."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return {"codes": [refused.code for refused in error.recipients]}
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return {"code": error.code}
    return {"detail": str(error)}


async def send_email(ctx: dict[str, Any], to: str, subject: str, text: str) -> None:
    """Send one plain-text email. Transient SMTP failures are retried with a growing delay; others, and the
    last try, fail the job."""
    resources: Resources = ctx["resources"]
    job_try: int = ctx.get("job_try", 1)
    try:
        await mailer_for(resources.settings).send(Message(to=to, subject=subject, text=text))
    except aiosmtplib.SMTPException as error:
        retry = is_transient(error) and job_try < MAIL_MAX_TRIES
        defer = MAIL_RETRY_SECONDS * 2 ** (job_try - 1)
        log.warning(
            "mail not sent",
            to_domain=recipient_domain(to),
            subject=subject,
            error=type(error).__name__,
            **_error_detail(error),
            job_try=job_try,
            retry_in_seconds=defer if retry else None,
        )
        if retry:
            raise Retry(defer=defer) from error
        raise


async def purge_expired_credentials(ctx: dict[str, Any]) -> int:
    """Hourly: drop expired refresh and reset tokens, old revoked sessions and expired exports, for every
    user at once (through the one maintenance function that may: the app role sees one user at a time)."""
    resources: Resources = ctx["resources"]
    async with resources.sessionmaker() as session, session.begin():
        purged = int(await session.scalar(select(sql.aurum_purge_expired_credentials())) or 0)
    log.info("expired credentials purged", rows=purged)
    return purged


async def purge_old_events(ctx: dict[str, Any]) -> int:
    """Hourly: keep the change log (and audit trail) for the configured number of days."""
    resources: Resources = ctx["resources"]
    keep = timedelta(days=resources.settings.event_retention_days)
    async with resources.sessionmaker() as session, session.begin():
        purged = int(await session.scalar(select(sql.aurum_purge_events(keep))) or 0)
    log.info("old events purged", rows=purged)
    return purged


async def purge_journal_trash(ctx: dict[str, Any]) -> int:
    """Hourly: delete journal entries in the trash for longer than ``TRASH_DAYS``, for every user at once."""
    resources: Resources = ctx["resources"]
    keep = timedelta(days=TRASH_DAYS)
    async with resources.sessionmaker() as session, session.begin():
        purged = int(await session.scalar(select(sql.aurum_purge_journal_trash(keep))) or 0)
    log.info("journal trash purged", rows=purged)
    return purged


# Mail jobs carry reset links: their arguments must not linger in Redis as a kept result.
# Scoring jobs are queued per data generation: no result is kept, so a later generation can be queued again.
FUNCTIONS: list[WorkerCoroutine | Function] = [
    ping,
    func(send_email, keep_result=0),
    func(rescore_user, keep_result=0),
]


def functions(settings: Settings) -> list[WorkerCoroutine | Function]:
    """The jobs, with an analysis allowed every try of the model and a margin for the rest."""
    model_time = settings.gemini_timeout * settings.gemini_max_attempts + 2 * settings.gemini_max_attempts
    return [
        *FUNCTIONS,
        func(analyse, timeout=model_time + 60),
        func(analyse_sentiment, keep_result=0, timeout=model_time + 60),
    ]


CRON_JOBS = [
    cron(purge_expired_credentials, minute={17}, run_at_startup=False),
    cron(purge_old_events, minute={47}, run_at_startup=False),
    cron(purge_journal_trash, minute={27}, run_at_startup=False),
    cron(sweep_files, minute={37}, run_at_startup=False),
    cron(scan_notifications, run_at_startup=False),  # every minute
    cron(purge_notifications, minute={7}, run_at_startup=False),
    cron(sweep_scores, run_at_startup=False),  # every minute
    cron(refresh_scores, minute={3}, run_at_startup=False),
    cron(refresh_calendars, minute=set(range(1, 60, 10)), run_at_startup=False),
    # A worker that starts looks at once for runs a dead one left behind.
    cron(sweep_runs, run_at_startup=True),  # every minute
    cron(expire_insights, minute=set(range(0, 60, 5)), run_at_startup=False),
]


def build_worker(resources: Resources) -> Worker:
    return Worker(
        functions=functions(resources.settings),
        cron_jobs=CRON_JOBS,
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings(resources.redis_url),
        handle_signals=False,
        poll_delay=resources.settings.worker_poll_delay,
        ctx={"resources": resources},
        keep_result=600,
    )


async def _work(worker: Worker) -> None:
    BACKGROUND.set("job")  # every job task the worker starts inherits it
    await worker.main()


@asynccontextmanager
async def running_worker(resources: Resources) -> AsyncIterator[Worker]:
    """Run a worker in this process for the duration of the block."""
    await verify_rules(resources.sessionmaker)
    worker = build_worker(resources)
    task = asyncio.create_task(_work(worker), name="arq-worker")
    log.info("worker started", functions=sorted(worker.functions))
    try:
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
