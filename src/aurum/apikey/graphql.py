"""API keys over GraphQL: create (secret shown once), list, revoke."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import Info

from aurum.apikey import service
from aurum.apikey.model import ApiKey as ApiKeyModel
from aurum.auth.graphql import require_person
from aurum.db import UnitOfWork
from aurum.errors import DomainError
from aurum.events.publish import announce_control
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.types import IdInput, Input, Node, UserError
from aurum.ids import decode_id, to_global_id


@strawberry.enum(description="What an API key may do: READ runs queries, WRITE mutations as well.")
class ApiKeyScope(Enum):
    READ = "read"
    WRITE = "write"


@strawberry.type(description="A key an integrator sends as 'Authorization: Bearer <key>'.")
class ApiKey(Node):
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    scopes: list[ApiKeyScope] = strawberry.field(description="What the key may do.")
    last_used_at: datetime | None = strawberry.field(description="When it was last used (to the minute).")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; it works no more.")
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: ApiKeyModel) -> ApiKey:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=[ApiKeyScope(s) for s in service.with_implied(row.scopes)],
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input(description="A new API key.")
class ApiKeyCreateInput:
    name: str = strawberry.field(description="What the key is for, 1–100 characters.")
    scopes: list[ApiKeyScope] = strawberry.field(description="READ for queries; WRITE for mutations too.")


@strawberry.type(description="A new API key and its secret.")
class ApiKeyCreatePayload:
    api_key: ApiKey | None = strawberry.field(description="The key.")
    secret: str | None = strawberry.field(description="The key itself: shown this once, store it now.")
    user_errors: list[UserError] = strawberry.field(description="Why no key was made, if so.")


@strawberry.type(description="The API key after the change.")
class ApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@node_resolver("ApiKey")
async def api_key_by_id(info: Info[Context, None], key_id: uuid.UUID) -> ApiKey | None:
    async with info.context.reading() as session:
        row = await service.key_by_id(session, info.context.user_id, key_id)
    return ApiKey.from_row(row) if row is not None else None


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="The viewer's API keys, newest first, revoked ones included.")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        async with info.context.reading() as session:
            rows = await service.keys_of(session, info.context.user_id)
        return [ApiKey.from_row(r) for r in rows]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="Create an API key. Its secret is in this answer only.")
    async def api_key_create(
        self, info: Info[Context, None], input: Input[ApiKeyCreateInput]
    ) -> ApiKeyCreatePayload:
        try:
            require_person(info.context)
        except DomainError as error:
            return ApiKeyCreatePayload(api_key=None, secret=None, user_errors=UserError.from_exception(error))

        async def work(uow: UnitOfWork) -> tuple[ApiKeyModel, str]:
            return await service.create(uow, input.name, [s.value for s in input.scopes])

        outcome = await run_mutation(info, work)
        if outcome.value is None:
            return ApiKeyCreatePayload(api_key=None, secret=None, user_errors=outcome.errors)
        key, secret = outcome.value
        return ApiKeyCreatePayload(api_key=ApiKey.from_row(key), secret=secret, user_errors=[])

    @strawberry.mutation(description="Revoke an API key: requests with it are refused from now on.")
    async def api_key_revoke(self, info: Info[Context, None], input: Input[IdInput]) -> ApiKeyPayload:
        try:
            require_person(info.context)
            key_id = decode_id(str(input.id), "ApiKey", ["input", "id"])
        except DomainError as error:
            return ApiKeyPayload(api_key=None, user_errors=UserError.from_exception(error))

        async def work(uow: UnitOfWork) -> ApiKeyModel:
            return await service.revoke(uow, key_id)

        outcome = await run_mutation(info, work)
        value = outcome.value
        if value is not None:  # its open sockets close, in every process
            await announce_control(info.context.resources, {"api_keys": [str(value.id)]})
        return ApiKeyPayload(api_key=ApiKey.from_row(value) if value else None, user_errors=outcome.errors)
