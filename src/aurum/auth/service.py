"""Accounts: registration and sign-in with email and password."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.auth.emails import check_email, normalize_email
from aurum.auth.model import User
from aurum.auth.passwords import (
    AS_TYPED,
    check_password_policy,
    hash_password,
    password_match,
)
from aurum.db import act_as
from aurum.errors import Conflict, DomainError, DomainErrors, InvalidInput
from aurum.validation import Checks, text_length

EMAIL_TAKEN = "An account with this email exists; sign in instead"
# Names in the zone directory that are no place: the host's own setting, a rules file, a placeholder.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    display_name: str | None = None
    timezone: str = "UTC"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_ZONES


def validate_timezone(name: str, field: list[str]) -> str:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{name}' is not an IANA time zone (for example 'Europe/Paris')", field) from None
    return name


def check_registration(data: Registration) -> None:
    """Every fault of the input at once (``DomainErrors``), before anything is looked up."""
    errors = _registration_errors(data)
    if errors:
        raise DomainErrors(errors)


def _registration_errors(data: Registration) -> list[DomainError]:
    email = normalize_email(data.email)
    checks = Checks()
    checks.run(lambda: check_email(data.email, ["input", "email"]))
    checks.run(lambda: check_password_policy(data.password, email, ["input", "password"]))
    if _given_name(data) is not None:
        checks.run(lambda: text_length(data.display_name or "", ["input", "displayName"], 1, 100))
    checks.run(lambda: validate_timezone(data.timezone, ["input", "timezone"]))
    return checks.errors


def _given_name(data: Registration) -> str | None:
    # A blank name is no name: it defaults to the email's, which a valid address keeps within 64 characters.
    return data.display_name.strip() if data.display_name and data.display_name.strip() else None


async def user_id_by_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """Who owns this email, whoever the transaction acts for (a narrow lookup run with the owner's rights)."""
    found: uuid.UUID | None = await session.scalar(
        select(func.aurum_auth_user_by_email(normalize_email(email)))
    )
    return found


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this email; the transaction then acts as that user."""
    user_id = await user_id_by_email(session, email)
    if user_id is None:
        return None
    await act_as(session, user_id)
    return await session.get(User, user_id)


async def register(session: AsyncSession, data: Registration) -> User:
    """A new account, signed in as it is made (``last_login_at`` set)."""
    check_registration(data)
    email = check_email(data.email, ["input", "email"])
    if await user_id_by_email(session, email) is not None:
        raise Conflict(EMAIL_TAKEN, ["input", "email"])
    password_hash = await asyncio.to_thread(hash_password, data.password)
    return await create_user(
        session,
        email=email,
        password_hash=password_hash,
        display_name=_given_name(data) or email.partition("@")[0],
        timezone=data.timezone,
        last_login_at=datetime.now(UTC),
    )


async def create_user(session: AsyncSession, **values: object) -> User:
    """Insert an account; the transaction acts as the new user from here on."""
    user = User(id=uuid.uuid4(), **values)
    await act_as(session, user.id)
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(EMAIL_TAKEN, ["input", "email"]) from None
    await session.refresh(user)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user for these credentials, or ``None``; unknown emails cost the same time as wrong passwords:
    the same statements, and a dummy hash to verify."""
    user = await user_by_email(session, email)
    if user is None:
        nobody = uuid.uuid4()
        await act_as(session, nobody)
        await session.get(User, nobody)
    matched = await asyncio.to_thread(password_match, user.password_hash if user else None, password)
    if user is None or matched is None:
        return None
    if matched == AS_TYPED:  # from before passwords were normalised: once, then it is like any other
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = datetime.now(UTC)
    return user
