"""Accounts: registration and sign-in with email and password."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.auth.model import User
from aurum.auth.passwords import hash_password, verify_password
from aurum.errors import Conflict, DomainError, DomainErrors, InvalidInput
from aurum.validation import Checks, text_length

MIN_PASSWORD = 10
MAX_PASSWORD = 256


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    display_name: str | None = None
    timezone: str = "UTC"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_timezone(name: str, field: list[str]) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{name}' is not an IANA time zone (for example 'Europe/Paris')", field) from None
    return name


def _check_registration(data: Registration) -> list[DomainError]:
    errors: list[DomainError] = []
    email = normalize_email(data.email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or " " in email:
        errors.append(InvalidInput("Enter a valid email address", ["input", "email"]))
    if not MIN_PASSWORD <= len(data.password) <= MAX_PASSWORD:
        errors.append(
            InvalidInput(f"Passwords have {MIN_PASSWORD} to {MAX_PASSWORD} characters", ["input", "password"])
        )
    checks = Checks()
    checks.run(lambda: text_length(data.display_name or local, ["input", "displayName"], 1, 100))
    checks.run(lambda: validate_timezone(data.timezone, ["input", "timezone"]))
    return errors + checks.errors


async def register(session: AsyncSession, data: Registration) -> User:
    errors = _check_registration(data)
    if errors:
        raise DomainErrors(errors)
    email = normalize_email(data.email)
    taken = await session.scalar(select(User.id).where(func.lower(User.email) == email))
    if taken is not None:
        raise Conflict("An account with this email exists; sign in instead", ["input", "email"])
    password_hash = await asyncio.to_thread(hash_password, data.password)
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=(data.display_name or email.partition("@")[0]).strip(),
        timezone=data.timezone,
    )
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user for these credentials, or ``None``; unknown emails cost the same time as wrong passwords."""
    user = await session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not ok:
        return None
    user.last_login_at = datetime.now(UTC)
    return user
