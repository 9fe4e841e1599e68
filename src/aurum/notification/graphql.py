"""Notifications over GraphQL: the list, marking read, and the viewer's preferences."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, Row
from strawberry import Info

from aurum.graphql.context import Context
from aurum.graphql.mutations import provided, run_mutation
from aurum.graphql.node import RESOLVERS, node_resolver
from aurum.graphql.relations import page_of_list, row_by_id
from aurum.graphql.types import After, Connection, Filter, First, Input, Node, UserError
from aurum.ids import decode_id, to_global_id
from aurum.notification import service
from aurum.notification.model import NOTIFICATION_TYPES
from aurum.notification.service import NOTIFICATIONS
from aurum.pagination import Ordering, PageArgs, SortKey

NEWEST_FIRST = Ordering(
    name="notifications:CREATED_AT",
    keys=(SortKey(NOTIFICATIONS.c.created_at, datetime), SortKey(NOTIFICATIONS.c.id, uuid.UUID)),
    descending=True,
)


@strawberry.enum(description="What a notification is about.")
class NotificationType(Enum):
    TASK_REMINDER = "TASK_REMINDER"
    TASK_DUE = "TASK_DUE"
    TASK_OVERDUE = "TASK_OVERDUE"
    PROJECT_DEADLINE = "PROJECT_DEADLINE"
    UNBLOCKED_TASK = "UNBLOCKED_TASK"
    RECURRING_TASK = "RECURRING_TASK"
    INSIGHT = "INSIGHT"
    QUOTA_WARNING = "QUOTA_WARNING"


assert {t.value for t in NotificationType} == set(NOTIFICATION_TYPES)


@strawberry.type(description="Something the viewer should know: in the app, and by email if they want.")
class Notification(Node):
    subject_type: strawberry.Private[str | None]
    subject_id: strawberry.Private[uuid.UUID | None]
    type: NotificationType = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="One line, up to 200 characters.")
    body: str = strawberry.field(description="The text.")
    read: bool = strawberry.field(description="Whether the viewer has marked it read.")
    scheduled_for: datetime | None = strawberry.field(
        description="When its email is due (the end of quiet hours if they deferred it); null: no email."
    )
    sent_at: datetime | None = strawberry.field(description="When its email was sent, if it was.")
    version: int = strawberry.field(description="Increases with every change (marking it read).")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_row(cls, row: Any) -> Notification:
        return cls(
            id=strawberry.ID(to_global_id("Notification", row.id)),
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            type=NotificationType(row.type),
            title=row.title,
            body=row.body,
            read=row.read_at is not None,
            scheduled_for=row.scheduled_for,
            sent_at=row.sent_at,
            version=row.version,
            created_at=row.created_at,
        )

    @strawberry.field(description="What it is about (a task, a project …); null when that is gone.")
    async def subject(self, info: Info[Context, None]) -> Node | None:
        if self.subject_type is None or self.subject_id is None:
            return None
        resolver = RESOLVERS.get(self.subject_type)
        if resolver is None:
            return None
        node: Node | None = await resolver(info, self.subject_id)
        return node


@node_resolver("Notification")
async def notification_by_id(info: Info[Context, None], notification_id: uuid.UUID) -> Notification | None:
    row: Row[Any] | None = await row_by_id(info, NOTIFICATIONS, notification_id)
    return Notification.from_row(row) if row is not None else None


@strawberry.input(description="Which notifications to list.")
class NotificationFilter:
    read: bool | None = strawberry.field(
        default=None, description="true: read ones; false: unread; null: all."
    )
    types: list[NotificationType] | None = strawberry.field(
        default=None,
        description="Only these kinds; [] matches none (as in the preferences); null: every kind.",
    )


def conditions(filter: NotificationFilter | None) -> list[ColumnElement[bool]]:
    filter = filter or NotificationFilter()
    found: list[ColumnElement[bool]] = []
    if filter.read is not None:
        read = NOTIFICATIONS.c.read_at.is_not(None)
        found.append(read if filter.read else ~read)
    if filter.types is not None:
        found.append(NOTIFICATIONS.c.type.in_([t.value for t in filter.types]))
    return found


@strawberry.type(description="How and about what the viewer wants to be notified.")
class NotificationPreferences:
    email_enabled: bool = strawberry.field(description="Whether notifications are also emailed.")
    in_app_enabled: bool = strawberry.field(
        description="Whether they show unread in the app (off: they are stored already read)."
    )
    types: list[NotificationType] = strawberry.field(description="The kinds wanted; others are not made.")
    quiet_hours_start: time | None = strawberry.field(
        description="Start of the quiet hours (the viewer's wall clock): emails wait for their end."
    )
    quiet_hours_end: time | None = strawberry.field(
        description="End of the quiet hours; before the start means across midnight (22:00–07:00)."
    )
    reminder_lead_minutes: int = strawberry.field(description="Remind this many minutes before reminderAt.")
    due_soon_hours: int = strawberry.field(description="Tell about tasks due within this many hours.")

    @classmethod
    def of(cls, p: service.Preferences) -> NotificationPreferences:
        return cls(
            email_enabled=p.email_enabled,
            in_app_enabled=p.in_app_enabled,
            types=[t for t in NotificationType if t.value not in p.muted_types],
            quiet_hours_start=p.quiet_hours_start,
            quiet_hours_end=p.quiet_hours_end,
            reminder_lead_minutes=p.reminder_lead_minutes,
            due_soon_hours=p.due_soon_hours,
        )


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        filter: Filter[NotificationFilter] = None,
    ) -> Connection[Notification]:
        page = await page_of_list(
            info, NOTIFICATIONS, conditions(filter), NEWEST_FIRST, PageArgs(first, after)
        )
        return Connection.from_page(page, Notification.from_row)

    @strawberry.field(description="The viewer's notification preferences (defaults until changed).")
    async def notification_preferences(self, info: Info[Context, None]) -> NotificationPreferences:
        ctx = info.context
        async with ctx.reading() as session:
            found = await service.preferences_of(session, ctx.user_id)
        return NotificationPreferences.of(found)


@strawberry.input(description="The notifications to mark read.")
class NotificationMarkReadInput:
    ids: list[strawberry.ID] = strawberry.field(description="Their global ids (at most 100).")


@strawberry.input(description="Changes to the notification preferences; fields left out stay as they are.")
class NotificationPreferencesUpdateInput:
    email_enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="Email them too.")
    in_app_enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="Show them unread.")
    types: list[NotificationType] | None = strawberry.field(
        default=strawberry.UNSET, description="The kinds wanted (replaces the list)."
    )
    quiet_hours_start: time | None = strawberry.field(
        default=strawberry.UNSET,
        description="Start of the quiet hours on the viewer's own clock ('22:00', no offset), or null for "
        "none (with the end).",
    )
    quiet_hours_end: time | None = strawberry.field(
        default=strawberry.UNSET,
        description="End of the quiet hours ('07:00', no offset), different from the start, or null for none "
        "(with the start).",
    )
    reminder_lead_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="0–1440.")
    due_soon_hours: int | None = strawberry.field(default=strawberry.UNSET, description="1–168.")


@strawberry.type(description="The answer of marking notifications read.")
class NotificationMarkReadPayload:
    count: int | None = strawberry.field(
        description="How many were unread and are read now (null on errors)."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was marked, if so.")


@strawberry.type(description="The answer of notificationPreferencesUpdate.")
class NotificationPreferencesPayload:
    preferences: NotificationPreferences | None = strawberry.field(description="The preferences now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mark these notifications read (NOT_FOUND if one is not the viewer's).")
    async def notification_mark_read(
        self, info: Info[Context, None], input: Input[NotificationMarkReadInput]
    ) -> NotificationMarkReadPayload:
        def ids() -> list[uuid.UUID]:
            return [decode_id(str(value), "Notification", ["input", "ids"]) for value in input.ids]

        outcome = await run_mutation(info, lambda uow: service.mark_read(uow, ids()))
        return NotificationMarkReadPayload(count=outcome.value, user_errors=outcome.errors)

    @strawberry.mutation(description="Mark every unread notification of the viewer read.")
    async def notification_mark_all_read(self, info: Info[Context, None]) -> NotificationMarkReadPayload:
        outcome = await run_mutation(info, service.mark_all_read)
        return NotificationMarkReadPayload(count=outcome.value, user_errors=outcome.errors)

    @strawberry.mutation(description="Change the viewer's notification preferences.")
    async def notification_preferences_update(
        self, info: Info[Context, None], input: Input[NotificationPreferencesUpdateInput]
    ) -> NotificationPreferencesPayload:
        async def work(uow: Any) -> service.Preferences:
            await service.update_preferences(uow, provided(input, skip=()))
            return await service.preferences_of(uow.session, uow.user_id)

        outcome = await run_mutation(info, work)
        found = NotificationPreferences.of(outcome.value) if outcome.value is not None else None
        return NotificationPreferencesPayload(preferences=found, user_errors=outcome.errors)
