"""Subscriptions: every change of the viewer's records, resumable from a cursor."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import Info

from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.node import RESOLVERS
from aurum.graphql.types import Node
from aurum.ids import to_global_id
from aurum.notification.graphql import Notification, notification_by_id
from aurum.realtime.hub import Change
from aurum.validation import camel


@strawberry.enum(description="The kinds of records whose changes can be followed.")
class EntityType(Enum):
    PILLAR = "PILLAR"
    AREA = "AREA"
    PROJECT = "PROJECT"
    TASK = "TASK"
    USER = "USER"
    API_KEY = "API_KEY"
    RESOURCE = "RESOURCE"
    JOURNAL_ENTRY = "JOURNAL_ENTRY"
    JOURNAL_TEMPLATE = "JOURNAL_TEMPLATE"
    NOTIFICATION = "NOTIFICATION"
    INSIGHT = "INSIGHT"
    ANALYSIS_RUN = "ANALYSIS_RUN"
    CALENDAR = "CALENDAR"
    CALENDAR_FEED = "CALENDAR_FEED"
    TIME_ENTRY = "TIME_ENTRY"
    PRIORITY_SCORE = strawberry.enum_value(
        "PRIORITY_SCORE",
        description="A task's priority score, recomputed (the node is the task). Derived and frequent: "
        "delivered only when asked for in entityTypes.",
    )


TYPE_NAMES = {
    EntityType.PILLAR: "Pillar",
    EntityType.AREA: "Area",
    EntityType.PROJECT: "Project",
    EntityType.TASK: "Task",
    EntityType.USER: "User",
    EntityType.API_KEY: "ApiKey",
    EntityType.RESOURCE: "Resource",
    EntityType.JOURNAL_ENTRY: "JournalEntry",
    EntityType.JOURNAL_TEMPLATE: "JournalTemplate",
    EntityType.NOTIFICATION: "Notification",
    EntityType.INSIGHT: "Insight",
    EntityType.ANALYSIS_RUN: "AnalysisRun",
    EntityType.CALENDAR: "Calendar",
    EntityType.CALENDAR_FEED: "CalendarFeed",
    EntityType.TIME_ENTRY: "TimeEntry",
    EntityType.PRIORITY_SCORE: "Task",
}
KNOWN = frozenset(t.value for t in TYPE_NAMES)
# Kinds a subscription gets only when it names them.
OPT_IN = frozenset({EntityType.PRIORITY_SCORE.value})
BY_DEFAULT = KNOWN - OPT_IN


@strawberry.enum(description="What happened to a record.")
class ChangeOperation(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    ARCHIVED = "ARCHIVED"


CURSOR_PREFIX = "Event:"


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        if raw.startswith(CURSOR_PREFIX) and int(raw.removeprefix(CURSOR_PREFIX)) >= 0:
            return int(raw.removeprefix(CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("This is not a cursor of recordChanged", ["after"])


def wanted_types(entity_types: list[EntityType] | None) -> frozenset[str]:
    """The kinds of records a subscription follows: those named, else all but the opt-in ones."""
    return frozenset(t.value for t in entity_types) if entity_types else BY_DEFAULT


@strawberry.type(description="One change of one of your records.")
class ChangeEvent:
    change: strawberry.Private[Change]
    cursor: str = strawberry.field(description="Pass as `after` to resume right after this change.")
    operation: ChangeOperation = strawberry.field(description="What happened.")
    entity_type: EntityType = strawberry.field(description="The kind of record.")
    entity_id: strawberry.ID = strawberry.field(description="The global id of the record.")
    changed_fields: list[str] = strawberry.field(
        description="The fields an update changed (empty otherwise)."
    )
    occurred_at: datetime = strawberry.field(description="When it changed.")

    @strawberry.field(description="The record as it is now; null once deleted.")
    async def node(self, info: Info[Context, None]) -> Node | None:
        if self.operation is ChangeOperation.DELETED:
            return None
        type_name = TYPE_NAMES[self.entity_type]
        resolver = RESOLVERS[type_name]
        node: Node | None = await info.context.realtime().shared(
            info.context.user_id, self.change, "node", lambda: resolver(info, self.change.entity_id)
        )
        return node

    @classmethod
    def of(cls, change: Change) -> ChangeEvent:
        entity_type = EntityType(change.entity_type)
        return cls(
            change=change,
            cursor=encode_cursor(change.id),
            operation=ChangeOperation(change.operation),
            entity_type=entity_type,
            entity_id=strawberry.ID(to_global_id(TYPE_NAMES[entity_type], change.entity_id)),
            changed_fields=[camel(f) for f in change.changed_fields],
            occurred_at=change.occurred_at,
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every change of your records: with `after`, first everything since that cursor, then "
        "live, with no gap and no duplicate."
    )
    async def record_changed(
        self,
        info: Info[Context, None],
        after: Annotated[
            str | None, strawberry.argument(description="Resume after this cursor (a ChangeEvent's cursor).")
        ] = None,
        entity_types: Annotated[
            list[EntityType] | None, strawberry.argument(description="Only these kinds of records.")
        ] = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        context = info.context
        user_id = context.user_id
        start = decode_cursor(after) if after is not None else None
        wanted = wanted_types(entity_types)
        async for change in context.realtime().changes(user_id, start, context.connection):
            if change.entity_type not in wanted:
                continue
            context.forget_loaded()  # a long-lived socket must not show what its loaders cached earlier
            yield ChangeEvent.of(change)

    @strawberry.subscription(description="Each new notification of yours, live, as it is created.")
    async def notification_created(self, info: Info[Context, None]) -> AsyncGenerator[Notification, None]:
        context = info.context
        user_id = context.user_id
        async for change in context.realtime().changes(user_id, None, context.connection):
            if change.entity_type != EntityType.NOTIFICATION.value or change.operation != "CREATED":
                continue
            context.forget_loaded()
            found = await notification_by_id(info, change.entity_id)
            if found is not None:
                yield found
