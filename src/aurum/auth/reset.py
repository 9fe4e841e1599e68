"""Password reset by email: a single-use token valid for an hour, kept only as its hash."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.auth.model import PasswordResetToken, User
from aurum.auth.passwords import check_password_policy, hash_password
from aurum.auth.service import user_by_email
from aurum.auth.sessions import Revoked, revoke_all
from aurum.auth.tokens import digest, new_secret
from aurum.db import act_as
from aurum.mail import Message
from aurum.settings import Settings

RESET_PREFIX = "aurum_reset_"
RESET_LIFETIME = timedelta(hours=1)
INVALID_RESET = "This reset link is invalid or has expired: ask for a new one"


@dataclass(frozen=True)
class ResetRequested:
    user: User
    message: Message


async def request_reset(session: AsyncSession, settings: Settings, email: str) -> ResetRequested | None:
    """Make a reset token for the account with this email, if there is one, and the mail that carries it."""
    user = await user_by_email(session, email)
    if user is None:
        return None
    token = new_secret(RESET_PREFIX)
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=digest(token), expires_at=datetime.now(UTC) + RESET_LIFETIME
        )
    )
    await session.flush()
    return ResetRequested(user, reset_message(settings, user, token))


def reset_message(settings: Settings, user: User, token: str) -> Message:
    link = f"{settings.app_url.rstrip('/')}/reset-password#token={token}"
    text = (
        f"Hello {user.display_name},\n\n"
        "Someone (we hope you) asked to reset the password of your Aurum Life account.\n"
        f"Open this link within the hour to choose a new one:\n\n{link}\n\n"
        f"Or paste this code into the app: {token}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )
    return Message(to=user.email, subject="Reset your Aurum Life password", text=text)


async def reset_password(
    session: AsyncSession, token: str, password: str, field: list[str]
) -> tuple[User, Revoked] | None:
    """Consume the token and set the password; every session of the account ends. ``None``: bad token."""
    owner = await session.scalar(select(func.aurum_auth_reset_token_owner(digest(token))))
    if owner is None:
        return None
    await act_as(session, owner)
    consumed = await session.scalar(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == digest(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(PasswordResetToken.id)
    )
    user = await session.get(User, owner)
    if consumed is None or user is None:
        return None
    check_password_policy(password, user.email, field)
    await set_password(session, user, password)
    user.email_verified_at = datetime.now(UTC)  # the link reached them
    return user, await revoke_all(session, user.id, "password reset")


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Set the password (this transaction acts as ``user``); reset links sent before no longer work."""
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await forget_reset_tokens(session, user.id)
    user.version = user.version + 1
    user.updated_at = datetime.now(UTC)


async def forget_reset_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Use up every outstanding reset token of the user: after a new password or a new email, a link sent
    before (perhaps to an old address, perhaps read by someone else) must not set the password again."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=func.now())
    )
