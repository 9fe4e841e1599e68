"""The journal over GraphQL: entries (with the trash), "on this day", templates and sentiment."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import ColumnElement, Row, extract, func, select
from strawberry import Info

from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.mutations import optional_id, provided, run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.relations import page_of_list, row_by_id
from aurum.graphql.types import (
    After,
    Connection,
    DeletePayload,
    Filter,
    First,
    IdInput,
    Input,
    Node,
    UserError,
)
from aurum.ids import decode_id, to_global_id
from aurum.journal import service
from aurum.journal.model import JournalEntry as EntryModel
from aurum.journal.model import JournalTemplate as TemplateModel
from aurum.journal.templates import BUILT_INS, BY_ID, BY_TYPE, BuiltInTemplate
from aurum.models import readable, table_of
from aurum.pagination import Ordering, PageArgs, SortKey
from aurum.search.service import MAX_QUERY_LENGTH, parse, tsquery
from aurum.validation import int_range

ENTRIES = table_of(EntryModel)
TEMPLATES = table_of(TemplateModel)
NEWEST_FIRST = Ordering(
    name="journal_entries:CREATED_AT",
    keys=(SortKey(ENTRIES.c.created_at, datetime), SortKey(ENTRIES.c.id, uuid.UUID)),
    descending=True,
)
ON_THIS_DAY_LIMIT = 100
BUILT_IN_RELEASED = datetime(2026, 11, 25, tzinfo=UTC)


@strawberry.enum(description="Where an analysis came from.")
class InsightSource(Enum):
    RULES = "RULES"
    LLM = "LLM"


@strawberry.enum(description="The kind of a journal template.")
class JournalTemplateType(Enum):
    DAILY_REFLECTION = "daily_reflection"
    GRATITUDE = "gratitude"
    GOAL_SETTING = "goal_setting"
    WEEKLY_REVIEW = "weekly_review"
    MOOD_TRACKER = "mood_tracker"
    LEARNING_LOG = "learning_log"
    CREATIVE_WRITING = "creative_writing"
    PROBLEM_SOLVING = "problem_solving"
    HABIT_TRACKER = "habit_tracker"
    CUSTOM = "custom"


@strawberry.type(
    description="The mood of an entry's text, read by a job moments after the text is written: by the AI "
    "model when the person allows it, otherwise by a local lexicon method."
)
class Sentiment:
    score: float = strawberry.field(description="From -1 (negative) to 1 (positive).")
    label: str = strawberry.field(description="positive, neutral or negative.")
    keywords: list[str] = strawberry.field(description="The words that carried the sentiment, at most five.")
    themes: list[str] = strawberry.field(
        description="Life areas the text is about (work, family, health …), at most three."
    )
    source: InsightSource = strawberry.field(description="How it was computed.")


@strawberry.type(description="The answer to one prompt of a template.")
class JournalTemplateAnswer:
    prompt: str = strawberry.field(description="The prompt.")
    answer: str = strawberry.field(description="What was written for it.")


@strawberry.type(description="A journal template: a built-in one, or one of the viewer's own.")
class JournalTemplate(Node):
    name: str = strawberry.field(description="The template's name.")
    type: JournalTemplateType = strawberry.field(description="Its kind (CUSTOM for most of one's own).")
    description: str | None = strawberry.field(description="What it is for.")
    prompts: list[str] = strawberry.field(description="The questions it asks.")
    default_tags: list[str] = strawberry.field(
        description="Tags an entry created from it starts with, after the tags given; choosing it for an "
        "existing entry leaves that entry's tags as they are."
    )
    built_in: bool = strawberry.field(description="Built-in templates are the same for everyone, read-only.")
    version: int = strawberry.field(description="Increases with every change (1 for built-in ones).")
    created_at: datetime = strawberry.field(description="When it was created (built-in ones: released).")
    updated_at: datetime = strawberry.field(description="When it last changed (built-in ones: released).")

    @classmethod
    def from_row(cls, row: Any) -> JournalTemplate:
        return cls(
            id=strawberry.ID(to_global_id("JournalTemplate", row.id)),
            name=row.name,
            type=JournalTemplateType(row.type),
            description=row.description,
            prompts=list(row.prompts),
            default_tags=list(row.default_tags),
            built_in=False,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    def of_built_in(cls, template: BuiltInTemplate) -> JournalTemplate:
        return cls(
            id=strawberry.ID(to_global_id("JournalTemplate", template.id)),
            name=template.name,
            type=JournalTemplateType(template.type),
            description=template.description,
            prompts=list(template.prompts),
            default_tags=list(template.default_tags),
            built_in=True,
            version=1,
            created_at=BUILT_IN_RELEASED,
            updated_at=BUILT_IN_RELEASED,
        )


@strawberry.type(description="A journal entry. Deleted entries wait in the trash for 30 days.")
class JournalEntry(Node):
    uuid: strawberry.Private[UUID]
    template_id: strawberry.Private[UUID | None]
    builtin_template: strawberry.Private[str | None]
    title: str = strawberry.field(description="Up to 200 characters (may be empty).")
    content: str = strawberry.field(description="The text, up to 100,000 characters.")
    mood: int | None = strawberry.field(description="1 (very low) to 5 (very good), or null.")
    energy: int | None = strawberry.field(description="1 (drained) to 5 (energised), or null.")
    tags: list[str] = strawberry.field(description="Normalised tags: trimmed and lowercase, at most 20.")
    template_answers: list[JournalTemplateAnswer] | None = strawberry.field(
        description="Answers to the template's prompts, if written from one."
    )
    word_count: int = strawberry.field(description="Words in the content and the template answers.")
    reading_minutes: int = strawberry.field(description="Reading time at 200 words a minute, rounded up.")
    sentiment: Sentiment | None = strawberry.field(
        description="The text's sentiment; null without text, and until its analysis has run."
    )
    trashed_at: datetime | None = strawberry.field(description="When it was moved to the trash, if it was.")
    version: int = strawberry.field(description="Increases with every change; pass as expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was written (its day for 'on this day').")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> JournalEntry:
        mood = None
        if row.sentiment_label is not None:
            mood = Sentiment(
                score=row.sentiment_score,
                label=row.sentiment_label,
                keywords=list(row.sentiment_keywords or []),
                themes=list(row.sentiment_themes or []),
                source=InsightSource(row.sentiment_source.upper()),
            )
        return cls(
            id=strawberry.ID(to_global_id("JournalEntry", row.id)),
            uuid=row.id,
            template_id=row.template_id,
            builtin_template=row.builtin_template,
            title=row.title,
            content=row.content,
            mood=row.mood,
            energy=row.energy,
            tags=list(row.tags),
            template_answers=[JournalTemplateAnswer(**a) for a in row.template_answers]
            if row.template_answers is not None
            else None,
            word_count=row.word_count,
            reading_minutes=service.reading_minutes(row.word_count),
            sentiment=mood,
            trashed_at=row.trashed_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The template it was written from, if any (null once that is deleted).")
    async def template(self, info: Info[Context, None]) -> JournalTemplate | None:
        if self.builtin_template is not None:
            return JournalTemplate.of_built_in(BY_TYPE[self.builtin_template])
        if self.template_id is None:
            return None
        return await template_by_id(info, self.template_id)


@node_resolver("JournalEntry")
async def entry_by_id(info: Info[Context, None], entry_id: uuid.UUID) -> JournalEntry | None:
    row: Row[Any] | None = await row_by_id(info, ENTRIES, entry_id)
    return JournalEntry.from_row(row) if row is not None else None


@node_resolver("JournalTemplate")
async def template_by_id(info: Info[Context, None], template_id: uuid.UUID) -> JournalTemplate | None:
    info.context.user_id  # noqa: B018  (anonymous callers stop here)
    built_in = BY_ID.get(template_id)
    if built_in is not None:
        return JournalTemplate.of_built_in(built_in)
    row: Row[Any] | None = await row_by_id(info, TEMPLATES, template_id)
    return JournalTemplate.from_row(row) if row is not None else None


@strawberry.input(description="Which journal entries to list.")
class JournalEntryFilter:
    search: str | None = strawberry.field(
        default=None, description="Words in the title or content (full text, as in `search`)."
    )
    from_: date | None = strawberry.field(
        default=None, name="from", description="Written on or after this day, in the viewer's time zone."
    )
    to: date | None = strawberry.field(
        default=None, description="Written on or before this day, in the viewer's time zone."
    )
    trashed: bool | None = strawberry.field(
        default=False, description="false (default): not in the trash; true: in the trash; null: both."
    )
    mood: int | None = strawberry.field(
        default=None, description="Only entries with this mood, 1–5 (BAD_USER_INPUT otherwise)."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Only entries having all these tags (compared normalised)."
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime | None:
    """The instant ``day`` begins in ``zone``, or None when that lies outside what a timestamp can hold
    (before 1 January 1 or after 31 December 9999 in UTC): a bound there leaves nothing out, so it is dropped
    rather than refused, and a client may send the first or last day as an open end."""
    try:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def day_after(day: date) -> date | None:
    return day + timedelta(days=1) if day < date.max else None


def period_conditions(filter: JournalEntryFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    """``from`` and ``to`` as instants: the first day's start, and the start of the day after the last."""
    conditions: list[ColumnElement[bool]] = []
    since = local_midnight(filter.from_, zone) if filter.from_ is not None else None
    if since is not None:
        conditions.append(ENTRIES.c.created_at >= since)
    after_last = day_after(filter.to) if filter.to is not None else None
    until = local_midnight(after_last, zone) if after_last is not None else None
    if until is not None:
        conditions.append(ENTRIES.c.created_at < until)
    return conditions


def entry_conditions(filter: JournalEntryFilter | None, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    filter = filter or JournalEntryFilter()
    conditions: list[ColumnElement[bool]] = []
    if filter.trashed is not None:
        trashed = ENTRIES.c.trashed_at.is_not(None)
        conditions.append(trashed if filter.trashed else ~trashed)
    if filter.search and filter.search.strip():
        if len(filter.search) > MAX_QUERY_LENGTH:
            raise InvalidInput(
                f"'search' must have at most {MAX_QUERY_LENGTH} characters", ["filter", "search"]
            )
        terms, _ = parse(filter.search, None)
        conditions.append(ENTRIES.c.search_vector.op("@@")(tsquery(terms)))
    conditions += period_conditions(filter, zone)
    if filter.mood is not None:
        mood = int_range(filter.mood, ["filter", "mood"], service.MIN_SCALE, service.MAX_SCALE)
        conditions.append(ENTRIES.c.mood == mood)
    if filter.tags:
        tags = service.normalise_tags(filter.tags, ["filter", "tags"])
        conditions.append(ENTRIES.c.tags.contains(tags))
    return conditions


def same_day_of_year(day: date, zone: ZoneInfo) -> ColumnElement[bool]:
    """Entries written on ``day``'s month and day in earlier years (on 28 February of a common year, 29
    February counts too)."""
    local = func.timezone(zone.key, ENTRIES.c.created_at)
    month, day_of_month, year = extract("month", local), extract("day", local), extract("year", local)
    days = [day.day]
    if (day.month, day.day) == (2, 28) and not is_leap(day.year):
        days.append(29)
    return (month == day.month) & day_of_month.in_(days) & (year < day.year)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


OnThisDay = Annotated[
    date | None,
    strawberry.argument(name="date", description="The day, in the viewer's time zone; by default today."),
]


@strawberry.type
class JournalQuery:
    @strawberry.field(description="The viewer's journal entries, newest first (not the trash by default).")
    async def journal_entries(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        filter: Filter[JournalEntryFilter] = None,
    ) -> Connection[JournalEntry]:
        zone = await info.context.timezone()
        page = await page_of_list(
            info, ENTRIES, entry_conditions(filter, zone), NEWEST_FIRST, PageArgs(first, after)
        )
        return Connection.from_page(page, JournalEntry.from_row)

    @strawberry.field(
        description="Entries written on this month and day in earlier years, in the viewer's time zone, "
        f"newest first (at most {ON_THIS_DAY_LIMIT}; not the trash)."
    )
    async def journal_on_this_day(
        self, info: Info[Context, None], day: OnThisDay = None
    ) -> list[JournalEntry]:
        ctx = info.context
        zone = await ctx.timezone()
        day = day or datetime.now(zone).date()
        statement = (
            select(*readable(ENTRIES))
            .where(
                ENTRIES.c.user_id == ctx.user_id,
                ENTRIES.c.trashed_at.is_(None),
                same_day_of_year(day, zone),
            )
            .order_by(ENTRIES.c.created_at.desc(), ENTRIES.c.id.desc())
            .limit(ON_THIS_DAY_LIMIT)
        )
        async with ctx.reading() as session:
            rows = (await session.execute(statement)).all()
        return [JournalEntry.from_row(row) for row in rows]

    @strawberry.field(description="The built-in journal templates, then the viewer's own by name.")
    async def journal_templates(
        self,
        info: Info[Context, None],
        include_built_in: Annotated[
            bool, strawberry.argument(description="Whether to list the built-in templates too.")
        ] = True,
    ) -> list[JournalTemplate]:
        ctx = info.context
        statement = (
            select(*readable(TEMPLATES))
            .where(TEMPLATES.c.user_id == ctx.user_id)
            .order_by(func.lower(TEMPLATES.c.name), TEMPLATES.c.id)
        )
        async with ctx.reading() as session:
            rows = (await session.execute(statement)).all()
        built_ins = [JournalTemplate.of_built_in(t) for t in BUILT_INS] if include_built_in else []
        return [*built_ins, *(JournalTemplate.from_row(row) for row in rows)]


# --- mutations ----------------------------------------------------------------------------------------------


@strawberry.input(description="The answer to one prompt of a template.")
class JournalTemplateAnswerInput:
    prompt: str = strawberry.field(description="The prompt, up to 500 characters.")
    answer: str = strawberry.field(description="The answer, up to 10,000 characters.")


@strawberry.input(description="A new journal entry.")
class JournalEntryCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same entry.",
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 200 characters.")
    content: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 100,000 characters.")
    mood: int | None = strawberry.field(default=strawberry.UNSET, description="1–5.")
    energy: int | None = strawberry.field(default=strawberry.UNSET, description="1–5.")
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most 20 tags of 1–50 characters, counting the template's default tags; normalised.",
    )
    template_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="A built-in template or one of the viewer's own; its default tags are added to `tags`.",
    )
    template_answers: list[JournalTemplateAnswerInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Answers to the template's prompts (at most 50)."
    )


@strawberry.input(description="Changes to a journal entry; fields left out stay as they are.")
class JournalEntryUpdateInput:
    id: strawberry.ID = strawberry.field(description="The entry to change.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the entry is still at this version."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 200 characters.")
    content: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 100,000 characters.")
    mood: int | None = strawberry.field(default=strawberry.UNSET, description="1–5, or null.")
    energy: int | None = strawberry.field(default=strawberry.UNSET, description="1–5, or null.")
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Replaces the tags.")
    template_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="A built-in template or one of the viewer's own; null: none. The tags stay as they are "
        "(default tags apply only when an entry is created).",
    )
    template_answers: list[JournalTemplateAnswerInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the answers."
    )


@strawberry.input(description="A new journal template of the viewer's own.")
class JournalTemplateCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same one.",
    )
    name: str = strawberry.field(description="1–200 characters.")
    type: JournalTemplateType | None = strawberry.field(
        default=strawberry.UNSET, description="CUSTOM by default."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="What it is for.")
    prompts: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="At most 20 prompts of 1–500 characters."
    )
    default_tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Tags for entries created from it (at most 20); normalised like entry tags.",
    )


@strawberry.input(description="Changes to one of the viewer's journal templates.")
class JournalTemplateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The template to change (not a built-in one).")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the template is still at this version."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1–200 characters.")
    type: JournalTemplateType | None = strawberry.field(default=strawberry.UNSET, description="Its kind.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="What it is for.")
    prompts: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the prompts."
    )
    default_tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the default tags."
    )


@strawberry.type(description="The answer of a journal entry mutation.")
class JournalEntryPayload:
    journal_entry: JournalEntry | None = strawberry.field(description="The entry as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="The answer of a journal template mutation.")
class JournalTemplatePayload:
    journal_template: JournalTemplate | None = strawberry.field(description="The template as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def entry_payload(outcome: Any) -> JournalEntryPayload:
    value = outcome.value
    return JournalEntryPayload(
        journal_entry=JournalEntry.from_row(value) if value is not None else None, user_errors=outcome.errors
    )


def template_payload(outcome: Any) -> JournalTemplatePayload:
    value = outcome.value
    return JournalTemplatePayload(
        journal_template=JournalTemplate.from_row(value) if value is not None else None,
        user_errors=outcome.errors,
    )


def entry_values(input: JournalEntryCreateInput | JournalEntryUpdateInput) -> dict[str, Any]:
    values = provided(input)
    if values.get("template_id") is not None:
        values["template_id"] = decode_id(
            str(values["template_id"]), "JournalTemplate", ["input", "templateId"]
        )
    if values.get("template_answers") is not None:
        values["template_answers"] = [
            {"prompt": a.prompt, "answer": a.answer} for a in values["template_answers"]
        ]
    return values


def template_values(input: JournalTemplateCreateInput | JournalTemplateUpdateInput) -> dict[str, Any]:
    values = provided(input)
    if "type" in values:
        values["type"] = values["type"].value if values["type"] is not None else None
    return values


def entry_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "JournalEntry", ["input", "id"])


def template_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "JournalTemplate", ["input", "id"])


@strawberry.type
class JournalMutation:
    @strawberry.mutation(description="Write a journal entry.")
    async def journal_entry_create(
        self, info: Info[Context, None], input: Input[JournalEntryCreateInput]
    ) -> JournalEntryPayload:
        return entry_payload(
            await run_mutation(
                info,
                lambda uow: service.create_entry(
                    uow,
                    info.context.resources,
                    entry_values(input),
                    optional_id(input.id, "JournalEntry", ["input", "id"]),
                ),
            )
        )

    @strawberry.mutation(description="Change a journal entry.")
    async def journal_entry_update(
        self, info: Info[Context, None], input: Input[JournalEntryUpdateInput]
    ) -> JournalEntryPayload:
        return entry_payload(
            await run_mutation(
                info,
                lambda uow: service.update_entry(
                    uow,
                    info.context.resources,
                    entry_id(input.id),
                    entry_values(input),
                    input.expected_version,
                ),
            )
        )

    @strawberry.mutation(description="Move a journal entry to the trash (purged for good after 30 days).")
    async def journal_entry_delete(
        self, info: Info[Context, None], input: Input[IdInput]
    ) -> JournalEntryPayload:
        return entry_payload(await run_mutation(info, lambda uow: service.trash(uow, entry_id(input.id))))

    @strawberry.mutation(description="Bring a journal entry back from the trash.")
    async def journal_entry_restore(
        self, info: Info[Context, None], input: Input[IdInput]
    ) -> JournalEntryPayload:
        return entry_payload(await run_mutation(info, lambda uow: service.restore(uow, entry_id(input.id))))

    @strawberry.mutation(description="Delete a journal entry in the trash for good (CONFLICT if not in it).")
    async def journal_entry_purge(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        outcome = await run_mutation(info, lambda uow: service.purge(uow, entry_id(input.id)))
        return DeletePayload(deleted_id=input.id if outcome.value else None, user_errors=outcome.errors)

    @strawberry.mutation(description="Create a journal template of one's own.")
    async def journal_template_create(
        self, info: Info[Context, None], input: Input[JournalTemplateCreateInput]
    ) -> JournalTemplatePayload:
        return template_payload(
            await run_mutation(
                info,
                lambda uow: service.create_template(
                    uow, template_values(input), optional_id(input.id, "JournalTemplate", ["input", "id"])
                ),
            )
        )

    @strawberry.mutation(description="Change one of one's journal templates (FORBIDDEN for built-in ones).")
    async def journal_template_update(
        self, info: Info[Context, None], input: Input[JournalTemplateUpdateInput]
    ) -> JournalTemplatePayload:
        return template_payload(
            await run_mutation(
                info,
                lambda uow: service.update_template(
                    uow, template_id(input.id), template_values(input), input.expected_version
                ),
            )
        )

    @strawberry.mutation(description="Delete one of one's journal templates; entries keep their answers.")
    async def journal_template_delete(
        self, info: Info[Context, None], input: Input[IdInput]
    ) -> DeletePayload:
        outcome = await run_mutation(info, lambda uow: service.delete_template(uow, template_id(input.id)))
        return DeletePayload(deleted_id=input.id if outcome.value else None, user_errors=outcome.errors)
