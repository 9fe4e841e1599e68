"""Handing a browser sign-in's tokens to the SPA without putting them in a URL.

The redirect back to the SPA carries a one-time code in its fragment (never sent to servers, not logged);
the SPA trades it for the tokens with ``tokenExchange``, once, within a minute.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

import strawberry
from redis.asyncio import Redis
from strawberry import Info

from aurum.auth import sessions
from aurum.auth.graphql import AuthPayload
from aurum.auth.model import User
from aurum.auth.tokens import issue_device_token, new_secret
from aurum.db import read_session
from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.types import Input

HANDOFF_SECONDS = 60
CODE_PREFIX = "aurum_xc_"
INVALID_CODE = "This sign-in code is not valid or has expired: sign in again"


@dataclass(frozen=True)
class Handoff:
    user_id: uuid.UUID
    session_id: uuid.UUID
    access_token: str
    refresh_token: str
    expires_in: int


def _key(code: str) -> str:
    """Kept under the code's SHA-256, so what Redis holds cannot be replayed as a code."""
    return "aurum:auth:handoff:" + hashlib.sha256(code.encode()).hexdigest()


async def hand_off(redis: Redis, tokens: sessions.Tokens) -> str:
    """Park the tokens and return the one-time code that fetches them."""
    code = new_secret(CODE_PREFIX)
    value = {
        "user_id": str(tokens.user.id),
        "session_id": str(tokens.session_id),
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_in": tokens.expires_in,
    }
    await redis.set(_key(code), json.dumps(value), ex=HANDOFF_SECONDS)
    return code


async def take(redis: Redis, code: str) -> Handoff | None:
    """The tokens parked under ``code``, removed as they are read: a second try finds nothing."""
    if not code.startswith(CODE_PREFIX) or len(code) > 200:
        return None
    raw = await redis.getdel(_key(code))
    if raw is None:
        return None
    data = json.loads(raw)
    return Handoff(
        user_id=uuid.UUID(data["user_id"]),
        session_id=uuid.UUID(data["session_id"]),
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        expires_in=int(data["expires_in"]),
    )


@strawberry.input(description="The one-time code from a sign-in redirect.")
class TokenExchangeInput:
    code: str = strawberry.field(description="The `code` of the redirect's fragment (`#code=…`).")


@strawberry.type
class GoogleMutation:
    @strawberry.mutation(
        description="Finish signing in with Google: trade the one-time code of the redirect back to the app "
        "for tokens. The code works once, within a minute."
    )
    async def token_exchange(
        self, info: Info[Context, None], input: Input[TokenExchangeInput]
    ) -> AuthPayload:
        resources = info.context.resources
        handoff = await take(resources.redis, input.code)
        user = None
        if handoff is not None:
            async with read_session(resources.sessionmaker, handoff.user_id) as session:
                user = await session.get(User, handoff.user_id)
        if handoff is None or user is None:
            return AuthPayload.failed(InvalidInput(INVALID_CODE, ["input", "code"]))
        device = issue_device_token(resources.settings, user.email)
        tokens = sessions.Tokens(
            user, handoff.access_token, handoff.refresh_token, handoff.expires_in, handoff.session_id, device
        )
        return AuthPayload.signed_in(tokens)
