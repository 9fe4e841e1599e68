"""API keys for integrators: created with scopes, shown once, stored hashed, revoked at will."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.apikey.model import SCOPES, ApiKey
from aurum.auth.principal import API_KEY_PREFIX, READ, WRITE
from aurum.auth.tokens import digest, new_secret
from aurum.crud import get_owned
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput
from aurum.validation import Checks, text_length

MAX_ACTIVE_KEYS = 25
SHOWN_PREFIX = len(API_KEY_PREFIX) + 6


async def create(uow: UnitOfWork, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
    """A new key and its secret, which is never available again."""
    checks = Checks()
    checks.run(lambda: text_length(name.strip(), ["input", "name"], 1, 100))
    if not scopes or not set(scopes) <= set(SCOPES):
        checks.errors.append(InvalidInput("Give at least one scope: READ, WRITE", ["input", "scopes"]))
    checks.raise_any()
    active = await uow.session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == uow.user_id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise InvalidInput(f"You have {MAX_ACTIVE_KEYS} active API keys: revoke one first", ["input"])
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        user_id=uow.user_id,
        name=name.strip(),
        prefix=secret[:SHOWN_PREFIX],
        key_hash=digest(secret),
        scopes=with_implied(scopes),
    )
    uow.session.add(key)
    await uow.session.flush()
    await uow.session.refresh(key)
    return key, secret


def with_implied(scopes: Sequence[str]) -> list[str]:
    """The scopes as granted: whoever may write may read (a WRITE key always could, so it says so)."""
    granted = set(scopes)
    if WRITE in granted:
        granted.add(READ)
    return sorted(granted)


async def revoke(uow: UnitOfWork, key_id: uuid.UUID) -> ApiKey:
    key = await get_owned(uow.session, ApiKey, key_id, uow.user_id, ["input", "id"], for_update=True)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        key.version += 1
        key.updated_at = key.revoked_at
    return key


async def keys_of(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    statement = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
    return list(await session.scalars(statement))


async def key_by_id(session: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    found: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    )
    return found
