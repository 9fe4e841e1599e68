"""Who is calling: a person with an access token, or an integrator's API key acting for its owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aurum.auth.revocation import is_revoked
from aurum.auth.tokens import digest, read_access_token
from aurum.resources import Resources

API_KEY_PREFIX = "aurum_key_"
READ = "read"
WRITE = "write"
INVALID_ACCESS_TOKEN = "The access token is invalid or expired: sign in again or refresh it"
INVALID_API_KEY = "This API key is revoked or unknown: use a current key or create a new one"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] = frozenset({READ, WRITE})
    expires_at: datetime | None = None

    @property
    def can_write(self) -> bool:
        return WRITE in self.scopes

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None


async def principal_for(resources: Resources, credential: str) -> Principal | None:
    """The principal a bearer credential stands for, or ``None`` when it is not valid now."""
    if credential.startswith(API_KEY_PREFIX):
        return await _api_key(resources.sessionmaker, credential)
    claims = read_access_token(resources.settings, credential)
    if claims is None or await is_revoked(resources, claims):
        return None
    return Principal(user_id=claims.user_id, session_id=claims.session_id, expires_at=claims.expires_at)


def why_refused(credential: str) -> str:
    """Why a bearer credential that ``principal_for`` refused was refused, in the terms of its kind: an API
    key cannot be refreshed or signed in again."""
    return INVALID_API_KEY if credential.startswith(API_KEY_PREFIX) else INVALID_ACCESS_TOKEN


async def _api_key(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> Principal | None:
    async with sessionmaker() as session, session.begin():
        found = (
            await session.execute(
                select(func.aurum_auth_api_key(digest(key)).table_valued("user_id", "key_id", "scopes"))
            )
        ).first()
    if found is None:
        return None
    return Principal(user_id=found.user_id, api_key_id=found.key_id, scopes=frozenset(found.scopes))
