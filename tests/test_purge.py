"""The hourly purge of expired credentials, across every user, through the one function allowed to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.account.model import AccountExport
from aurum.auth.model import AuthSession, PasswordResetToken, RefreshToken
from aurum.events.model import Event
from aurum.resources import Resources
from aurum.worker import purge_expired_credentials, purge_old_events
from tests.conftest import register
from tests.support import uuid_of


async def counts(engine: AsyncEngine, user_id: uuid.UUID) -> dict[str, int]:
    found = {}
    async with engine.connect() as connection:
        for model in (RefreshToken, PasswordResetToken, AccountExport, AuthSession):
            statement = select(func.count()).select_from(model).where(model.user_id == user_id)
            found[model.__tablename__] = int(await connection.scalar(statement) or 0)
    return found


async def test_purge_removes_what_expired_for_every_user_and_keeps_the_rest(
    resources: Resources, http: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    expired, current = await register(http), await register(http)
    for client in (expired, current):
        await client.mutate("passwordResetRequest", {"email": client.email}, "ok")
        assert (await client.ok("mutation { accountExport { url } }"))["accountExport"]["url"]
    long_ago = datetime.now(UTC) - timedelta(days=40)
    gone = uuid_of(expired.user_id)
    async with owner.begin() as connection:
        for model in (RefreshToken, PasswordResetToken, AccountExport):
            await connection.execute(update(model).where(model.user_id == gone).values(expires_at=long_ago))
        await connection.execute(
            update(AuthSession).where(AuthSession.user_id == gone).values(revoked_at=long_ago)
        )
    before = await counts(owner, uuid_of(current.user_id))
    assert all(before.values()), before

    purged = await purge_expired_credentials({"resources": resources})

    assert purged >= 4
    assert await counts(owner, gone) == {
        "refresh_tokens": 0,
        "password_reset_tokens": 0,
        "account_exports": 0,
        "auth_sessions": 0,
    }
    assert await counts(owner, uuid_of(current.user_id)) == before


async def test_events_older_than_the_retention_are_purged(
    resources: Resources, http: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    old, recent = await register(http), await register(http)
    for client in (old, recent):
        await client.mutate("pillarCreate", {"name": "Health"}, "pillar { id }")
    past = datetime.now(UTC) - timedelta(days=resources.settings.event_retention_days + 1)
    async with owner.begin() as connection:
        await connection.execute(
            update(Event).where(Event.user_id == uuid_of(old.user_id)).values(occurred_at=past)
        )

    assert await purge_old_events({"resources": resources}) >= 1

    async with owner.connect() as connection:
        left = {
            client.user_id: await connection.scalar(
                select(func.count()).select_from(Event).where(Event.user_id == uuid_of(client.user_id))
            )
            for client in (old, recent)
        }
    assert left[old.user_id] == 0
    assert left[recent.user_id] >= 1
