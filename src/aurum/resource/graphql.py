"""Files over GraphQL: upload (the multipart request spec), delete, list; bytes download at ``url``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import strawberry
from sqlalchemy import ColumnElement, Row, false
from strawberry import Info
from strawberry.file_uploads import Upload

from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import RESOLVERS, node_resolver
from aurum.graphql.relations import page_of_list, row_by_id
from aurum.graphql.types import (
    After,
    Before,
    Connection,
    DeletePayload,
    Filter,
    First,
    IdInput,
    Input,
    Last,
    Node,
    UserError,
)
from aurum.ids import decode_id, parse_global_id, to_global_id
from aurum.models import table_of
from aurum.pagination import Ordering, PageArgs, SortKey
from aurum.resource import service
from aurum.resource.model import Resource as ResourceModel

TABLE = table_of(ResourceModel)
NEWEST_FIRST = Ordering(
    name="resources:CREATED_AT",
    keys=(SortKey(TABLE.c.created_at, datetime), SortKey(TABLE.c.id, UUID)),
    descending=True,
)


@strawberry.enum(description="What sort of file a resource is.")
class ResourceKind(Enum):
    DOCUMENT = "DOCUMENT"
    IMAGE = "IMAGE"
    SPREADSHEET = "SPREADSHEET"
    PRESENTATION = "PRESENTATION"
    ARCHIVE = "ARCHIVE"
    OTHER = "OTHER"


def parent_of_row(row: Any) -> tuple[str, uuid.UUID] | None:
    for type_name, parent in service.PARENTS.items():
        value = getattr(row, parent.column)
        if value is not None:
            return type_name, value
    return None


@strawberry.type(
    description="A file attached to a pillar, area, project, task or journal entry, or to nothing (an "
    "avatar, say)."
)
class Resource(Node):
    uuid: strawberry.Private[UUID]
    parent_ref: strawberry.Private[tuple[str, UUID] | None]
    filename: str = strawberry.field(description="The file's name as uploaded, without folders.")
    content_type: str = strawberry.field(description="The media type, checked against the content.")
    size: int = strawberry.field(description="Size in bytes.")
    kind: ResourceKind = strawberry.field(description="What sort of file it is.")
    checksum: str = strawberry.field(description="SHA-256 of the bytes, hex.")
    url: str = strawberry.field(
        description="Where to download the bytes, with the same `Authorization: Bearer` credentials."
    )
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any, base_url: str) -> Resource:
        global_id = to_global_id("Resource", row.id)
        return cls(
            id=strawberry.ID(global_id),
            uuid=row.id,
            parent_ref=parent_of_row(row),
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            kind=ResourceKind(row.kind),
            checksum=row.checksum,
            url=f"{base_url.rstrip('/')}/files/{global_id}",
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="What the file is attached to; null when nothing.")
    async def parent(self, info: Info[Context, None]) -> Node | None:
        if self.parent_ref is None:
            return None
        found: Node | None = await RESOLVERS[self.parent_ref[0]](info, self.parent_ref[1])
        return found


def converter(info: Info[Context, None]) -> Any:
    base = info.context.resources.settings.public_url
    return lambda row: Resource.from_row(row, base)


@node_resolver("Resource")
async def resource_by_id(info: Info[Context, None], resource_id: uuid.UUID) -> Resource | None:
    row: Row[Any] | None = await row_by_id(info, TABLE, resource_id)
    return converter(info)(row) if row is not None else None


def parent_ref(value: strawberry.ID | None, field: list[str]) -> tuple[str, uuid.UUID] | None:
    if value is None or value is strawberry.UNSET:
        return None
    parsed = parse_global_id(str(value))
    if parsed is None:
        raise InvalidInput(f"'{value}' is not a valid id", field)
    if parsed[0] not in service.PARENTS:
        raise InvalidInput("Files attach to a pillar, area, project, task or journal entry", field)
    return parsed


@strawberry.input(description="Which files to list.")
class ResourceFilter:
    parent_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only the files attached to this pillar, area, project, task or journal entry.",
    )
    kind: ResourceKind | None = strawberry.field(default=None, description="Only files of this kind.")


def conditions(filter: ResourceFilter | None) -> list[ColumnElement[bool]]:
    filter = filter or ResourceFilter()
    found: list[ColumnElement[bool]] = []
    if filter.parent_id is not None:
        parsed = parse_global_id(str(filter.parent_id))
        if parsed is None:
            raise InvalidInput(f"'{filter.parent_id}' is not a valid id", ["filter", "parentId"])
        parent = service.PARENTS.get(parsed[0])
        # An id of something files never hang on finds nothing, like a missing one.
        found.append(TABLE.c[parent.column] == parsed[1] if parent else false())
    if filter.kind is not None:
        found.append(TABLE.c.kind == filter.kind.value)
    return found


@strawberry.type
class ResourceQuery:
    @strawberry.field(description="The viewer's files, newest first.")
    async def resources(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[ResourceFilter] = None,
    ) -> Connection[Resource]:
        page = await page_of_list(
            info,
            TABLE,
            conditions(filter),
            NEWEST_FIRST,
            PageArgs(first, after, last, before),
        )
        return Connection.from_page(page, converter(info))


@strawberry.input(description="A file to upload, sent as a multipart request (the GraphQL multipart spec).")
class ResourceUploadInput:
    file: Upload = strawberry.field(
        description="The file: images up to 10 MB, other files up to 50 MB; the content must match its "
        "name and type (text files: UTF-8, no control characters but tabs and line breaks)."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The pillar, area, project, task or journal entry to attach it to."
    )


@strawberry.type(description="The answer of a file mutation.")
class ResourcePayload:
    resource: Resource | None = strawberry.field(description="The file as stored.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was stored, if so.")


@strawberry.type
class ResourceMutation:
    @strawberry.mutation(description="Upload a file, optionally attached to one of the viewer's objects.")
    async def resource_upload(
        self, info: Info[Context, None], input: Input[ResourceUploadInput]
    ) -> ResourcePayload:
        storage = service.storage_for(info.context.resources.settings)
        outcome = await run_mutation(
            info,
            lambda uow: service.attach(
                uow,
                storage,
                cast(service.Upload, input.file),
                parent_ref(input.parent_id, ["input", "parentId"]),
            ),
        )
        resource = converter(info)(outcome.value) if outcome.value is not None else None
        return ResourcePayload(resource=resource, user_errors=outcome.errors)

    @strawberry.mutation(description="Delete a file and its bytes.")
    async def resource_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        storage = service.storage_for(info.context.resources.settings)
        outcome = await run_mutation(
            info,
            lambda uow: service.delete(uow, storage, decode_id(str(input.id), "Resource", ["input", "id"])),
        )
        return DeletePayload(deleted_id=input.id if outcome.value else None, user_errors=outcome.errors)
