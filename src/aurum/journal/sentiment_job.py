"""Journal sentiment as a job: queued after an entry's text is written, judged by the AI model when the person
allows it, by the local lexicon otherwise (or when the model cannot help), and recorded with its source.

Decisions:
- A mutation that changes an entry's text clears its sentiment and queues this job after the commit; an entry
  with no words has no sentiment and queues nothing. The job id names the entry and its version, so a retried
  mutation queues nothing twice.
- The job judges the text the entry holds when it runs, and writes only if the entry still holds that text and
  still has no sentiment: a newer edit (whose own job follows) or a job that got there first wins, so the
  sentiment shown always belongs to the text shown. Edits that leave the text alone (mood, tags, the trash)
  neither clear the sentiment nor lose a result being computed. An entry in the trash is still judged: it may
  come back; a purged one is not.
- The write does not bump ``version`` or ``updated_at``: the person changed nothing, and a client holding the
  entry must not hit a version conflict because an analysis landed. The change log still records the update
  (its changed fields are the sentiment ones), so subscribers hear of it.
- The model is asked outside any transaction: no row is held locked while it thinks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Text, cast, func, select, update

from aurum.db import Actor, UnitOfWork, read_session, unit_of_work
from aurum.hrm.gather import preferences_of
from aurum.hrm.llm import SentimentAdvice, model_client
from aurum.hrm.prompt import sentiment_prompt
from aurum.journal import sentiment
from aurum.journal.model import JournalEntry
from aurum.models import table_of
from aurum.resources import Resources

log = structlog.get_logger(__name__)

ANALYSE_SENTIMENT = "analyse_sentiment"
ENTRIES = table_of(JournalEntry)
SENTIMENT_COLUMNS = (
    "sentiment_score",
    "sentiment_label",
    "sentiment_keywords",
    "sentiment_themes",
    "sentiment_source",
)


def entry_text(title: str, content: str, answers: Sequence[dict[str, str]] | None) -> str:
    """What the sentiment is read from: the title, the content and the template answers."""
    parts = [title, content, *(a["answer"] for a in answers or [])]
    return "\n".join(part for part in parts if part)


def text_of(entry: JournalEntry) -> str:
    return entry_text(entry.title, entry.content, entry.template_answers)


def clear(entry: JournalEntry) -> None:
    for name in SENTIMENT_COLUMNS:
        setattr(entry, name, None)


def needs_analysis(entry: JournalEntry) -> bool:
    return entry.sentiment_label is None and bool(sentiment.words(text_of(entry)))


def job_id(entry_id: uuid.UUID, version: int) -> str:
    return f"sentiment:{entry_id}:{version}"


def queue(uow: UnitOfWork, resources: Resources, entry: JournalEntry) -> None:
    """Queue the analysis of ``entry`` once the transaction commits, to run after the settle delay."""
    entry_id, version, user_id = entry.id, entry.version, uow.user_id

    async def enqueue() -> None:
        try:
            await resources.jobs.enqueue(
                ANALYSE_SENTIMENT,
                str(entry_id),
                str(user_id),
                version,
                job_id=job_id(entry_id, version),
                defer=resources.settings.sentiment_delay,
            )
        except Exception:  # the entry is saved; its sentiment comes with the next edit of it
            log.warning("sentiment not queued", entry_id=str(entry_id), exc_info=True)

    uow.on_commit(enqueue)


@dataclass(frozen=True)
class Pending:
    """An entry waiting for its sentiment: what it says, and a fingerprint of that to guard the write."""

    text: str
    fingerprint: str
    ai_enabled: bool
    version: int


def _fingerprint() -> ColumnElement[str]:
    """The entry's text as the database holds it, hashed (computed the same way when reading and writing)."""
    answers = cast(ENTRIES.c.template_answers, Text)
    return func.md5(func.concat_ws("\x1f", ENTRIES.c.title, ENTRIES.c.content, answers))


async def analyse_sentiment(ctx: dict[str, Any], entry_id: str, user_id: str, version: int) -> str:
    """Judge the entry's sentiment and record it; what happened, for the log (``version``: the one queued)."""
    resources: Resources = ctx["resources"]
    entry, user = uuid.UUID(entry_id), uuid.UUID(user_id)
    pending = await _pending(resources, entry, user)
    if pending is None:
        return "nothing to do"
    if pending.version > version and await resources.jobs.pending(job_id(entry, pending.version)):
        return "a newer edit has its own job"  # only the text the writer settles on costs a judgement
    found = await _judge(resources, user, pending)
    if not await _record(resources, entry, user, pending, found):
        log.info("sentiment superseded", entry_id=entry_id, queued_version=version)
        return "superseded"
    resources.announce(user)
    return found.source


async def _pending(resources: Resources, entry_id: uuid.UUID, user_id: uuid.UUID) -> Pending | None:
    """The entry to judge; None when it is gone, already judged, or has no words."""
    async with read_session(resources.sessionmaker, user_id) as session:
        row = (
            await session.execute(
                select(
                    ENTRIES.c.title,
                    ENTRIES.c.content,
                    ENTRIES.c.template_answers,
                    ENTRIES.c.sentiment_label,
                    ENTRIES.c.version,
                    _fingerprint().label("fingerprint"),
                ).where(ENTRIES.c.id == entry_id, ENTRIES.c.user_id == user_id)
            )
        ).first()
        if row is None or row.sentiment_label is not None:
            return None
        text = entry_text(row.title, row.content, row.template_answers)
        if not sentiment.words(text):
            return None
        preferences = await preferences_of(session, user_id, {})
    return Pending(text, row.fingerprint, preferences.ai_enabled, row.version)


async def _judge(resources: Resources, user_id: uuid.UUID, pending: Pending) -> sentiment.Sentiment:
    """The model's judgement when it is allowed and answers well; the lexicon's otherwise."""
    prompt = sentiment_prompt(pending.text)
    result = await model_client(resources).generate(
        user_id=user_id,
        purpose="sentiment",
        prompt=prompt,
        schema=SentimentAdvice,
        ai_enabled=pending.ai_enabled,
    )
    if result.answer is not None:
        advice = result.answer
        return sentiment.Sentiment(
            score=round(advice.score, 4),
            label=advice.label,
            keywords=list(advice.keywords),
            themes=list(advice.themes),
            source="llm",
        )
    found = sentiment.analyse(pending.text)
    assert found is not None  # the text has words
    return found


async def _record(
    resources: Resources,
    entry_id: uuid.UUID,
    user_id: uuid.UUID,
    pending: Pending,
    found: sentiment.Sentiment,
) -> bool:
    """Write the sentiment if the entry still says what was judged and has none yet; whether it did."""
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        written = await uow.session.scalar(
            update(ENTRIES)
            .where(
                ENTRIES.c.id == entry_id,
                ENTRIES.c.user_id == user_id,
                ENTRIES.c.sentiment_label.is_(None),
                _fingerprint() == pending.fingerprint,
            )
            .values(
                sentiment_score=found.score,
                sentiment_label=found.label,
                sentiment_keywords=found.keywords,
                sentiment_themes=found.themes,
                sentiment_source=found.source,
            )
            .returning(ENTRIES.c.id)
        )
    return written is not None
