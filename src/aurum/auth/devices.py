"""The viewer's signed-in devices over GraphQL: list them, sign one out (a lost phone, a shared computer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import Info

from aurum.auth import sessions
from aurum.auth.graphql import forget_sessions, require_person
from aurum.auth.model import AuthSession
from aurum.db import UnitOfWork
from aurum.errors import DomainError, NotFound
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.types import IdInput, Input, Node, UserError
from aurum.ids import decode_id, to_global_id


@strawberry.enum(description="How a session began.")
class SignInMethod(Enum):
    PASSWORD = "password"
    GOOGLE = "google"
    RESET = "reset"


@strawberry.type(description="A device signed in to the account: its refresh tokens and access tokens.")
class Session(Node):
    method: SignInMethod = strawberry.field(description="How it signed in.")
    user_agent: str | None = strawberry.field(description="The browser or app, as it last named itself.")
    client_address: str | None = strawberry.field(description="The address it was last used from.")
    current: bool = strawberry.field(description="Whether this request comes from it.")
    created_at: datetime = strawberry.field(description="When it signed in.")
    last_used_at: datetime = strawberry.field(description="When it last refreshed its tokens.")

    @classmethod
    def from_row(cls, row: AuthSession, current: uuid.UUID | None) -> Session:
        return cls(
            id=strawberry.ID(to_global_id("Session", row.id)),
            method=SignInMethod(row.method),
            user_agent=row.user_agent,
            client_address=row.client_address,
            current=row.id == current,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="The session signed out.")
class SessionRevokePayload:
    revoked_id: strawberry.ID | None = strawberry.field(description="The session that ended.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing ended, if so.")


@node_resolver("Session")
async def session_by_id(info: Info[Context, None], session_id: uuid.UUID) -> Session | None:
    """One of the viewer's signed-in devices; null once it has ended, or for an API key."""
    context = info.context
    if context.principal is not None and context.principal.is_api_key:
        return None
    async with context.reading() as session:
        rows = await sessions.live_sessions(session, context.user_id, only=session_id)
    return Session.from_row(rows[0], _current(context)) if rows else None


def _current(context: Context) -> uuid.UUID | None:
    return context.principal.session_id if context.principal is not None else None


@strawberry.type
class SessionQuery:
    @strawberry.field(
        description="The viewer's signed-in devices, most recently used first (API keys: refused)."
    )
    async def sessions(self, info: Info[Context, None]) -> list[Session]:
        user_id = require_person(info.context)
        async with info.context.reading() as session:
            rows = await sessions.live_sessions(session, user_id)
        return [Session.from_row(row, _current(info.context)) for row in rows]


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Sign one device out: its tokens stop working and its sockets close, in every process."
    )
    async def session_revoke(self, info: Info[Context, None], input: Input[IdInput]) -> SessionRevokePayload:
        try:
            user_id = require_person(info.context)
            session_id = decode_id(str(input.id), "Session", ["input", "id"])
        except DomainError as error:
            return SessionRevokePayload(revoked_id=None, user_errors=UserError.from_exception(error))

        async def work(uow: UnitOfWork) -> sessions.Revoked:
            revoked = await sessions.end_session(uow.session, user_id, session_id)
            if not revoked.session_ids:
                raise NotFound("No signed-in session with this id", ["input", "id"])
            return revoked

        outcome = await run_mutation(info, work)
        if outcome.value is None:
            return SessionRevokePayload(revoked_id=None, user_errors=outcome.errors)
        await forget_sessions(info, outcome.value)
        return SessionRevokePayload(revoked_id=input.id, user_errors=[])
