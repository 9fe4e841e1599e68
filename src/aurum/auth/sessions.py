"""Signed-in sessions: access and refresh tokens, rotation with reuse detection, and revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from aurum.auth.model import AuthSession, RefreshToken, User
from aurum.auth.tokens import digest, issue_access_token, issue_device_token, new_secret
from aurum.db import act_as
from aurum.settings import Settings

REFRESH_PREFIX = "aurum_rt_"
# Two tabs of one browser refreshing at the same moment present the same token twice: the second, from the
# device that used it (the same address and user agent) within this window, is refused without ending the
# session (the first one's successor carries on). From anywhere else, or later, it is reuse: the session ends.
REUSE_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Device:
    """Where a sign-in comes from, kept with the session so people can recognise it."""

    user_agent: str | None
    address: str | None


def device_of(connection: HTTPConnection) -> Device:
    client = connection.client
    return Device(user_agent=connection.headers.get("user-agent"), address=client.host if client else None)


def _user_agent(device: Device) -> str | None:
    return (device.user_agent or "")[:300] or None


@dataclass(frozen=True)
class Tokens:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    device_token: str


@dataclass(frozen=True)
class Revoked:
    """Sessions ended in this transaction: their access tokens are refused once it commits."""

    session_ids: list[uuid.UUID]


async def start_session(
    session: AsyncSession, settings: Settings, user: User, method: str, device: Device
) -> Tokens:
    """A new session for ``user`` (this transaction must act as them), with its first pair of tokens."""
    auth = AuthSession(
        user_id=user.id,
        method=method,
        user_agent=_user_agent(device),
        client_address=device.address,
    )
    session.add(auth)
    await session.flush()
    return await _tokens(session, settings, user, auth)


async def _tokens(session: AsyncSession, settings: Settings, user: User, auth: AuthSession) -> Tokens:
    refresh = new_secret(REFRESH_PREFIX)
    session.add(
        RefreshToken(
            user_id=user.id,
            session_id=auth.id,
            token_hash=digest(refresh),
            expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    access = issue_access_token(settings, user.id, auth.id)
    device = issue_device_token(settings, user.email)
    return Tokens(user, access.token, refresh, access.expires_in, auth.id, device)


INVALID_REFRESH = "This refresh token is not valid: sign in again"


async def _refresh_token(session: AsyncSession, presented: str) -> RefreshToken | None:
    owner = await session.scalar(select(func.aurum_auth_refresh_token_owner(digest(presented))))
    if owner is None:
        return None
    await act_as(session, owner)
    statement = select(RefreshToken).where(RefreshToken.token_hash == digest(presented)).with_for_update()
    return await session.scalar(statement)


async def rotate(
    session: AsyncSession, settings: Settings, presented: str, device: Device
) -> Tokens | Revoked | None:
    """Trade a refresh token for a new pair. A token used twice ends its whole family (``Revoked``), unless
    it is a concurrent refresh (see ``REUSE_GRACE``); an unknown, expired or revoked one, or a concurrent
    refresh, gives ``None``. Either way the caller commits, then refuses."""
    token = await _refresh_token(session, presented)
    if token is None:
        return None
    auth = await session.get(AuthSession, token.session_id, with_for_update=True)
    now = datetime.now(UTC)
    if auth is None or auth.revoked_at is not None or token.expires_at <= now:
        return None
    if token.used_at is not None:
        if _concurrent(token.used_at, auth, device, now):
            return None
        auth.revoked_at, auth.revoke_reason = now, "refresh token reused"
        return Revoked([auth.id])
    user = await session.get(User, token.user_id)
    if user is None:
        return None
    token.used_at = now
    # The session remembers the device that last used it: the grace below is for that device's other tabs,
    # never for whoever signed in first (a thief who refreshed first would otherwise be left in).
    auth.last_used_at, auth.client_address, auth.user_agent = now, device.address, _user_agent(device)
    return await _tokens(session, settings, user, auth)


def _concurrent(used_at: datetime, auth: AuthSession, device: Device, now: datetime) -> bool:
    """A used token presented again within the grace by the very device that used it (two of its tabs)."""
    same_device = auth.client_address == device.address and auth.user_agent == _user_agent(device)
    return same_device and now - used_at <= REUSE_GRACE


async def revoke_session(session: AsyncSession, presented: str) -> Revoked:
    """Log out the session of a refresh token (used or not); an unknown token revokes nothing."""
    token = await _refresh_token(session, presented)
    if token is None:
        return Revoked([])
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == token.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoke_reason="signed out")
    )
    return Revoked([token.session_id])


async def revoke_all(session: AsyncSession, user_id: uuid.UUID, reason: str) -> Revoked:
    """End every session of the user (this transaction acts as them): password change, reset, deletion."""
    ended = await session.scalars(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoke_reason=reason)
        .returning(AuthSession.id)
    )
    return Revoked(list(ended))


def _live(now: datetime) -> ColumnElement[bool]:
    """Not ended, and still holding a refresh token that can be used."""
    usable = (
        select(RefreshToken.id)
        .where(
            RefreshToken.session_id == AuthSession.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .exists()
    )
    return AuthSession.revoked_at.is_(None) & usable


async def live_sessions(
    session: AsyncSession, user_id: uuid.UUID, only: uuid.UUID | None = None
) -> list[AuthSession]:
    """The user's signed-in devices (or just ``only``), most recently used first."""
    statement = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id, _live(datetime.now(UTC)))
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
    )
    if only is not None:
        statement = statement.where(AuthSession.id == only)
    return list(await session.scalars(statement))


async def end_session(session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> Revoked:
    """Sign one of the user's devices out; nothing when it is not theirs or has ended already."""
    ended = await session.scalars(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.user_id == user_id, _live(datetime.now(UTC)))
        .values(revoked_at=func.now(), revoke_reason="signed out elsewhere")
        .returning(AuthSession.id)
    )
    return Revoked(list(ended))
