"""Calendars over GraphQL: import a file, subscribe to a URL, refresh, remove; the private ICS feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from sqlalchemy import select
from strawberry import Info
from strawberry.file_uploads import Upload

from aurum.calendar import feed as feeds
from aurum.calendar import service
from aurum.calendar.model import Calendar as CalendarModel
from aurum.calendar.model import CalendarFeed as CalendarFeedModel
from aurum.errors import DomainError, InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.types import DeletePayload, IdInput, Input, Node, UserError
from aurum.ids import decode_id, to_global_id


@strawberry.enum(description="Where a calendar's events come from.")
class CalendarKind(Enum):
    UPLOAD = "upload"
    SUBSCRIPTION = "subscription"


@strawberry.type(description="A calendar whose events are busy time for plan().")
class Calendar(Node):
    name: str = strawberry.field(description="Its name: given, the calendar's own, or the file's.")
    kind: CalendarKind = strawberry.field(description="An uploaded file or a subscribed URL.")
    url: str | None = strawberry.field(description="The subscribed address (null for uploads).")
    event_count: int = strawberry.field(description="Events in it (a recurring series counts once).")
    refreshed_at: datetime = strawberry.field(description="When it was last read.")
    refresh_error: str | None = strawberry.field(
        description="Why the last refresh failed (its last good events still count)."
    )
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_row(cls, row: CalendarModel) -> Calendar:
        return cls(
            id=strawberry.ID(to_global_id("Calendar", row.id)),
            name=row.name,
            kind=CalendarKind(row.kind),
            url=row.url,
            event_count=row.event_count,
            refreshed_at=row.refreshed_at,
            refresh_error=row.refresh_error,
            version=row.version,
            created_at=row.created_at,
        )


@strawberry.type(description="A private address that calendar apps subscribe to: due dates and the plan.")
class CalendarFeed(Node):
    prefix: str = strawberry.field(description="The token's first characters, to recognise the feed.")
    last_read_at: datetime | None = strawberry.field(description="When a calendar app last read it.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; its address is dead.")
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def from_row(cls, row: CalendarFeedModel) -> CalendarFeed:
        return cls(
            id=strawberry.ID(to_global_id("CalendarFeed", row.id)),
            prefix=row.prefix,
            last_read_at=row.last_read_at,
            revoked_at=row.revoked_at,
            version=row.version,
            created_at=row.created_at,
        )


@strawberry.input(description="An .ics file to import (a multipart request, the GraphQL multipart spec).")
class CalendarImportInput:
    file: Upload = strawberry.field(description="The iCalendar file, UTF-8, up to 5 MB.")
    name: str | None = strawberry.field(default=None, description="Its name (default: the calendar's own).")


@strawberry.input(description="A calendar to follow by its address.")
class CalendarSubscriptionAddInput:
    url: str = strawberry.field(
        description="An https:// or webcal:// address of an .ics (Google's 'secret address', iCloud's "
        "public calendar link, Outlook's ICS link). Read now, then every hour."
    )
    name: str | None = strawberry.field(default=None, description="Its name (default: the calendar's own).")


@strawberry.type(description="The calendar after the change.")
class CalendarPayload:
    calendar: Calendar | None = strawberry.field(description="The calendar.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="A new feed and its address.")
class CalendarFeedCreatePayload:
    feed: CalendarFeed | None = strawberry.field(description="The feed.")
    url: str | None = strawberry.field(description="Its private address: shown this once; keep it secret.")
    user_errors: list[UserError] = strawberry.field(description="Why no feed was made, if so.")


@strawberry.type(description="The feed after the change.")
class CalendarFeedPayload:
    feed: CalendarFeed | None = strawberry.field(description="The feed.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@node_resolver("Calendar")
async def calendar_by_id(info: Info[Context, None], calendar_id: uuid.UUID) -> Calendar | None:
    async with info.context.reading() as session:
        row = await session.scalar(
            select(CalendarModel).where(
                CalendarModel.id == calendar_id, CalendarModel.user_id == info.context.user_id
            )
        )
    return Calendar.from_row(row) if row is not None else None


@node_resolver("CalendarFeed")
async def feed_by_id(info: Info[Context, None], feed_id: uuid.UUID) -> CalendarFeed | None:
    async with info.context.reading() as session:
        row = await session.scalar(
            select(CalendarFeedModel).where(
                CalendarFeedModel.id == feed_id, CalendarFeedModel.user_id == info.context.user_id
            )
        )
    return CalendarFeed.from_row(row) if row is not None else None


@strawberry.type
class CalendarQuery:
    @strawberry.field(description="The viewer's calendars (busy time for plan), oldest first.")
    async def calendars(self, info: Info[Context, None]) -> list[Calendar]:
        async with info.context.reading() as session:
            rows = await service.calendars_of(session, info.context.user_id)
        return [Calendar.from_row(r) for r in rows]

    @strawberry.field(description="The viewer's ICS feeds, newest first, revoked ones included.")
    async def calendar_feeds(self, info: Info[Context, None]) -> list[CalendarFeed]:
        async with info.context.reading() as session:
            rows = await feeds.feeds_of(session, info.context.user_id)
        return [CalendarFeed.from_row(r) for r in rows]


def _development(info: Info[Context, None]) -> bool:
    return info.context.resources.settings.is_development


def _calendar_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "Calendar", ["input", "id"])


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(description="Import an .ics file: its events become busy time for plan.")
    async def calendar_import(
        self, info: Info[Context, None], input: Input[CalendarImportInput]
    ) -> CalendarPayload:
        upload = cast(service.Upload, input.file)
        outcome = await run_mutation(info, lambda uow: service.import_file(uow, upload, input.name))
        value = outcome.value
        return CalendarPayload(
            calendar=Calendar.from_row(value) if value else None, user_errors=outcome.errors
        )

    @strawberry.mutation(description="Subscribe to a calendar by its address; it is read now and hourly.")
    async def calendar_subscription_add(
        self, info: Info[Context, None], input: Input[CalendarSubscriptionAddInput]
    ) -> CalendarPayload:
        info.context.user_id  # noqa: B018  (anonymous callers stop here, before any request goes out)
        try:
            found = await service.download(input.url, _development(info))
        except InvalidInput as error:
            return CalendarPayload(calendar=None, user_errors=UserError.from_exception(error))
        outcome = await run_mutation(info, lambda uow: service.subscribe(uow, found, input.name))
        value = outcome.value
        return CalendarPayload(
            calendar=Calendar.from_row(value) if value else None, user_errors=outcome.errors
        )

    @strawberry.mutation(description="Read a subscribed calendar again now.")
    async def calendar_refresh(self, info: Info[Context, None], input: Input[IdInput]) -> CalendarPayload:
        ctx = info.context
        try:
            calendar_id = _calendar_id(input.id)
            async with ctx.reading() as session:
                url = await service.subscription_url(session, ctx.user_id, calendar_id)
        except DomainError as error:
            return CalendarPayload(calendar=None, user_errors=UserError.from_exception(error))
        try:
            found: service.Downloaded | InvalidInput = await service.download(url, _development(info))
        except InvalidInput as error:
            found = error
        outcome = await run_mutation(info, lambda uow: service.refreshed(uow, calendar_id, found))
        value = outcome.value
        return CalendarPayload(
            calendar=Calendar.from_row(value) if value else None, user_errors=outcome.errors
        )

    @strawberry.mutation(description="Remove a calendar: its events stop being busy time.")
    async def calendar_remove(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        outcome = await run_mutation(info, lambda uow: service.remove(uow, _calendar_id(input.id)))
        return DeletePayload(deleted_id=input.id if outcome.value else None, user_errors=outcome.errors)

    @strawberry.mutation(
        description="Make a private ICS feed of your due dates and plan. Its address is in this answer only."
    )
    async def calendar_feed_create(self, info: Info[Context, None]) -> CalendarFeedCreatePayload:
        outcome = await run_mutation(info, feeds.create_feed)
        if outcome.value is None:
            return CalendarFeedCreatePayload(feed=None, url=None, user_errors=outcome.errors)
        feed, token = outcome.value
        url = feeds.feed_url(info.context.resources.settings.public_url, token)
        return CalendarFeedCreatePayload(feed=CalendarFeed.from_row(feed), url=url, user_errors=[])

    @strawberry.mutation(description="Revoke a feed: its address answers 404 from now on.")
    async def calendar_feed_revoke(
        self, info: Info[Context, None], input: Input[IdInput]
    ) -> CalendarFeedPayload:
        outcome = await run_mutation(
            info,
            lambda uow: feeds.revoke_feed(uow, decode_id(str(input.id), "CalendarFeed", ["input", "id"])),
        )
        value = outcome.value
        return CalendarFeedPayload(
            feed=CalendarFeed.from_row(value) if value else None, user_errors=outcome.errors
        )
