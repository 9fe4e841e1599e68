"""Journal rules: validation, derived values (word count, sentiment), the trash, and the user's templates.

Decisions:
- ``mood`` and ``energy`` are integers 1–5 (1 low, 5 high), or null.
- Tags are normalised: trimmed, inner whitespace collapsed to one space, lowercased, duplicates dropped (first
  kept); at most 20 of 1–50 characters.
- An entry created from a template starts with the template's default tags after the ones given (normalised
  and de-duplicated together; more than 20 in all is refused). Setting a template on an existing entry leaves
  its tags alone: by then they are the person's own, and a removed default must not come back.
- The word count covers the content and the template answers; reading time is one minute per 200 words,
  rounded up (0 for an empty entry).
- Sentiment is read from the title, content and answers by a job (``sentiment_job``): a write that changes
  that text clears it and queues the job after the commit; so does any write of an entry left without one.
- Deleting moves an entry to the trash; purging deletes it for good and is allowed only from the trash;
  entries in the trash for 30 days are purged by a worker job.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import Conflict, Forbidden, InvalidInput
from aurum.journal import sentiment, sentiment_job
from aurum.journal.model import JournalEntry, JournalTemplate
from aurum.journal.templates import BY_ID
from aurum.resources import Resources
from aurum.validation import LONG_TEXT, NAME, int_range, nullable, optional_text, validate_fields

TRASH_DAYS = 30
WORDS_PER_MINUTE = 200
MAX_TITLE = 200
MAX_CONTENT = 100_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_ANSWERS = 50
MAX_PROMPT = 500
MAX_ANSWER = 10_000
MAX_PROMPTS = 20
MIN_SCALE, MAX_SCALE = 1, 5  # mood and energy


def normalise_tags(value: Sequence[str] | None, field: list[str]) -> list[str]:
    if value is None:
        return []
    if len(value) > MAX_TAGS:
        raise InvalidInput(f"'{field[-1]}' may hold at most {MAX_TAGS} tags", field)
    tags: list[str] = []
    for i, raw in enumerate(value):
        tag = " ".join(raw.split()).lower()
        if not 1 <= len(tag) <= MAX_TAG:
            raise InvalidInput(f"A tag must have 1 to {MAX_TAG} characters", [*field, str(i)])
        if tag not in tags:
            tags.append(tag)
    return tags


def plain_text(value: str | None, field: list[str], maximum: int) -> str:
    return optional_text(value, field, maximum) or ""


def answers(value: Sequence[dict[str, str]] | None, field: list[str]) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if len(value) > MAX_ANSWERS:
        raise InvalidInput(f"'{field[-1]}' may hold at most {MAX_ANSWERS} answers", field)
    for i, answer in enumerate(value):
        optional_text(answer["prompt"], [*field, str(i), "prompt"], MAX_PROMPT)
        optional_text(answer["answer"], [*field, str(i), "answer"], MAX_ANSWER)
    return [{"prompt": a["prompt"], "answer": a["answer"]} for a in value]


SCALE = nullable(lambda v, f: int_range(v, f, MIN_SCALE, MAX_SCALE))
ENTRY_CHECKS: dict[str, Any] = {
    "title": lambda v, f: plain_text(v.strip() if v else v, f, MAX_TITLE),
    "content": lambda v, f: plain_text(v, f, MAX_CONTENT),
    "mood": SCALE,
    "energy": SCALE,
    "tags": normalise_tags,
    "template_answers": answers,
    "template_id": lambda v, f: v,
}
TEMPLATE_CHECKS: dict[str, Any] = {
    "name": NAME,
    "description": LONG_TEXT,
    "prompts": lambda v, f: prompts(v, f),
    "default_tags": normalise_tags,
    "type": lambda v, f: v or "custom",
}


def prompts(value: Sequence[str] | None, field: list[str]) -> list[str]:
    if value is None:
        return []
    if len(value) > MAX_PROMPTS:
        raise InvalidInput(f"'{field[-1]}' may hold at most {MAX_PROMPTS} prompts", field)
    cleaned = []
    for i, prompt in enumerate(value):
        text = prompt.strip()
        if not 1 <= len(text) <= MAX_PROMPT:
            raise InvalidInput(f"A prompt must have 1 to {MAX_PROMPT} characters", [*field, str(i)])
        cleaned.append(text)
    return cleaned


def word_count(content: str, template_answers: Sequence[dict[str, str]] | None) -> int:
    text = " ".join([content, *(a["answer"] for a in template_answers or [])])
    return len(sentiment.words(text))


def reading_minutes(words: int) -> int:
    return math.ceil(words / WORDS_PER_MINUTE)


async def resolve_template(uow: UnitOfWork, values: dict[str, Any]) -> Sequence[str]:
    """``template_id`` names a built-in template (kept as its type) or one of the viewer's own. Returns the
    template's default tags (none without a template)."""
    if "template_id" not in values:
        return ()
    template_id = values.pop("template_id")
    values["builtin_template"] = None
    values["template_id"] = None
    if template_id is None:
        return ()
    built_in = BY_ID.get(template_id)
    if built_in is not None:
        values["builtin_template"] = built_in.type
        return built_in.default_tags
    field = ["input", "templateId"]
    own = await crud.get_owned(uow.session, JournalTemplate, template_id, uow.user_id, field)
    values["template_id"] = own.id
    return own.default_tags


def with_default_tags(tags: Sequence[str], defaults: Sequence[str]) -> list[str]:
    """The given tags, then the template's defaults (normalised when it was saved) not among them."""
    merged = [*tags, *(tag for tag in defaults if tag not in tags)]
    if len(merged) > MAX_TAGS:
        raise InvalidInput(
            f"With the template's default tags the entry would have {len(merged)} tags; at most "
            f"{MAX_TAGS} are allowed",
            ["input", "tags"],
        )
    return merged


async def create_entry(
    uow: UnitOfWork, resources: Resources, values: dict[str, Any], client_id: uuid.UUID | None
) -> JournalEntry:
    cleaned = validate_fields(values, ENTRY_CHECKS)
    defaults = await resolve_template(uow, cleaned)
    if defaults:
        cleaned["tags"] = with_default_tags(cleaned.get("tags") or [], defaults)
    words = word_count(cleaned.get("content", ""), cleaned.get("template_answers"))
    entry = await crud.create_owned(uow, JournalEntry, {**cleaned, "word_count": words}, client_id)
    if sentiment_job.needs_analysis(entry):
        sentiment_job.queue(uow, resources, entry)
    return entry


async def update_entry(
    uow: UnitOfWork,
    resources: Resources,
    entry_id: uuid.UUID,
    values: dict[str, Any],
    expected_version: int | None,
) -> JournalEntry:
    cleaned = validate_fields(values, ENTRY_CHECKS)
    entry = await owned_entry(uow, entry_id)
    crud.check_version(entry, expected_version)
    await resolve_template(uow, cleaned)
    said = sentiment_job.text_of(entry)
    if not crud.assign(entry, cleaned):
        return entry  # an autosave of what is already there: no version, no change event
    entry.word_count = word_count(entry.content, entry.template_answers)
    if sentiment_job.text_of(entry) != said:
        sentiment_job.clear(entry)
    saved = await crud.save(uow.session, entry)
    if sentiment_job.needs_analysis(saved):
        sentiment_job.queue(uow, resources, saved)
    return saved


async def owned_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    return await crud.get_owned(
        uow.session, JournalEntry, entry_id, uow.user_id, ["input", "id"], for_update=True
    )


async def trash(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    entry = await owned_entry(uow, entry_id)
    if entry.trashed_at is not None:
        return entry
    entry.trashed_at = func.now()
    return await crud.save(uow.session, entry)


async def restore(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    entry = await owned_entry(uow, entry_id)
    if entry.trashed_at is None:
        return entry
    entry.trashed_at = None
    return await crud.save(uow.session, entry)


async def purge(uow: UnitOfWork, entry_id: uuid.UUID) -> uuid.UUID:
    entry = await owned_entry(uow, entry_id)
    if entry.trashed_at is None:
        raise Conflict("Only an entry in the trash can be purged: delete it first", ["input", "id"])
    await uow.session.execute(
        delete(JournalEntry).where(JournalEntry.id == entry.id, JournalEntry.user_id == uow.user_id)
    )
    return entry.id


def not_built_in(template_id: uuid.UUID) -> None:
    if template_id in BY_ID:
        raise Forbidden("Built-in templates cannot be changed", ["input", "id"])


async def create_template(
    uow: UnitOfWork, values: dict[str, Any], client_id: uuid.UUID | None
) -> JournalTemplate:
    if client_id is not None:
        not_built_in(client_id)
    return await crud.create_owned(uow, JournalTemplate, validate_fields(values, TEMPLATE_CHECKS), client_id)


async def update_template(
    uow: UnitOfWork, template_id: uuid.UUID, values: dict[str, Any], expected_version: int | None
) -> JournalTemplate:
    not_built_in(template_id)
    cleaned = validate_fields(values, TEMPLATE_CHECKS)
    return await crud.update_owned(uow, JournalTemplate, template_id, cleaned, expected_version)


async def delete_template(uow: UnitOfWork, template_id: uuid.UUID) -> uuid.UUID:
    not_built_in(template_id)
    return await crud.delete_owned(uow, JournalTemplate, template_id)
