"""The account itself: profile changes, the personal data export, and deletion."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aurum import crud
from aurum.account.model import AccountExport
from aurum.auth.emails import check_email
from aurum.auth.model import User
from aurum.auth.passwords import verify_password
from aurum.auth.reset import forget_reset_tokens
from aurum.auth.service import user_id_by_email, validate_timezone
from aurum.auth.sessions import Revoked, revoke_all
from aurum.crud import check_version
from aurum.db import UnitOfWork
from aurum.errors import Conflict, InvalidInput, NotFound
from aurum.tables import metadata
from aurum.validation import Checks, text_length

EXPORT_LIFETIME = timedelta(hours=24)
# Credentials are not personal data worth exporting, and must never leave the database.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "key_hash"})
SKIPPED_TABLES = frozenset({"account_exports", "refresh_tokens", "password_reset_tokens"})
USERNAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


async def the_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("This account no longer exists")
    return user


async def check_password(user: User, password: str, field: list[str]) -> None:
    if user.password_hash is None:
        raise InvalidInput(
            "This account has no password (it signs in with Google): set one with passwordResetRequest first",
            field,
        )
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        raise InvalidInput("The password is wrong", field)


def _check_profile(values: dict[str, Any]) -> None:
    checks = Checks()
    if "display_name" in values:
        checks.run(lambda: text_length(values["display_name"], ["input", "displayName"], 1, 100))
    if "timezone" in values:
        checks.run(lambda: validate_timezone(values["timezone"], ["input", "timezone"]))
    username = values.get("username")
    if username is not None and (
        not 3 <= len(username) <= 50 or not set(username.lower()) <= USERNAME_CHARACTERS
    ):
        checks.errors.append(
            InvalidInput("Usernames have 3 to 50 letters, digits, '_', '.' or '-'", ["input", "username"])
        )
    goal = values.get("monthly_alignment_goal")
    if goal is not None and not 1 <= goal <= 100_000:
        checks.errors.append(
            InvalidInput("The goal is 1 to 100000 points", ["input", "monthlyAlignmentGoal"])
        )
    if values.get("email") is not None:
        checks.run(lambda: check_email(values["email"], ["input", "email"]))
    checks.raise_any()


@dataclass(frozen=True)
class Updated:
    user: User
    password_checked: bool  # a new email was confirmed with the current password


async def update(
    uow: UnitOfWork, values: dict[str, Any], expected_version: int | None, current_password: str | None
) -> Updated:
    """Change the profile; a new email needs the current password and must be free."""
    _check_profile(values)
    user = await the_user(uow.session, uow.user_id)
    check_version(user, expected_version)
    email = values.pop("email", None)
    new_email = email is not None and await _change_email(uow, user, email, current_password or "")
    stripped = {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}
    if not crud.assign(user, stripped) and not new_email:
        return Updated(user, password_checked=False)  # nothing changed: no version, no change event
    user.version += 1
    user.updated_at = datetime.now(UTC)
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError as error:
        if "username" in str(error.orig):
            raise Conflict("This username is taken", ["input", "username"]) from None
        raise Conflict("Another account uses this email", ["input", "email"]) from None
    if new_email:
        await forget_reset_tokens(uow.session, user.id)
    return Updated(user, password_checked=new_email)


async def _change_email(uow: UnitOfWork, user: User, email: str, current_password: str) -> bool:
    """Set a new email (the password confirms it); ``False`` when it is the one in use."""
    canonical = check_email(email, ["input", "email"])
    if canonical == user.email:
        return False
    await check_password(user, current_password, ["input", "currentPassword"])
    if await user_id_by_email(uow.session, canonical) is not None:
        raise Conflict("Another account uses this email", ["input", "email"])
    user.email = canonical
    user.email_verified_at = None
    return True


async def delete_account(uow: UnitOfWork, password: str) -> Revoked:
    """Remove the account and, through the cascades, every row it owns; its sessions end."""
    user = await the_user(uow.session, uow.user_id)
    await check_password(user, password, ["input", "password"])
    revoked = await revoke_all(uow.session, user.id, "account deleted")
    await uow.session.execute(delete(User).where(User.id == user.id))
    return revoked


def _owned_tables() -> list[tuple[Table, str]]:
    tables = []
    for table in metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        if table.name == "users":
            tables.append((table, "id"))
        elif "user_id" in table.c:
            tables.append((table, "user_id"))
    return tables


async def export(uow: UnitOfWork) -> AccountExport:
    """Everything the user owns, as one JSON document kept for a day for its owner to download."""
    document: dict[str, Any] = {"format": "aurum-export/1", "exportedAt": datetime.now(UTC).isoformat()}
    for table, owner_column in _owned_tables():
        columns = [c for c in table.c if c.name not in SECRET_COLUMNS]
        rows = await uow.session.execute(select(*columns).where(table.c[owner_column] == uow.user_id))
        document[str(table.name)] = [{str(k): v for k, v in row._asdict().items()} for row in rows]
    content = orjson.dumps(document, default=str, option=orjson.OPT_INDENT_2).decode()
    saved = AccountExport(
        user_id=uow.user_id, content=content, expires_at=datetime.now(UTC) + EXPORT_LIFETIME
    )
    uow.session.add(saved)
    await uow.session.flush()
    return saved


async def export_content(session: AsyncSession, user_id: uuid.UUID, export_id: uuid.UUID) -> str | None:
    found: str | None = await session.scalar(
        select(AccountExport.content).where(
            AccountExport.id == export_id,
            AccountExport.user_id == user_id,
            AccountExport.expires_at > datetime.now(UTC),
        )
    )
    return found
