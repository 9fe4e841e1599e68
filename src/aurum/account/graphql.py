"""The account over GraphQL: update the profile, export everything, delete it all."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import cast

import strawberry
from strawberry import Info
from strawberry.file_uploads import Upload

from aurum.account import service
from aurum.auth.graphql import PasswordGuard, User, forget_sessions, require_person
from aurum.auth.sessions import Revoked
from aurum.db import UnitOfWork
from aurum.errors import DomainError
from aurum.graphql.context import Context
from aurum.graphql.mutations import provided, run_mutation
from aurum.graphql.types import DeletePayload, Input, UserError
from aurum.ids import to_global_id
from aurum.resource import service as files


@strawberry.input(description="Changes to the account; fields left out stay as they are.")
class AccountUpdateInput:
    display_name: str | None = strawberry.field(default=strawberry.UNSET, description="The name shown.")
    username: str | None = strawberry.field(default=strawberry.UNSET, description="An optional handle.")
    timezone: str | None = strawberry.field(default=strawberry.UNSET, description="IANA time zone.")
    monthly_alignment_goal: int | None = strawberry.field(
        default=strawberry.UNSET, description="Alignment points aimed for each month."
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new sign-in email; needs currentPassword."
    )
    current_password: str | None = strawberry.field(
        default=strawberry.UNSET, description="The password, to change the email."
    )
    avatar: Upload | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new avatar, sent as a multipart request (the GraphQL multipart spec): a PNG, JPEG, "
        "GIF or WebP image of at most 5 MB, kept as an IMAGE resource; null removes it. The old one is "
        "deleted.",
    )
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the account is at this version."
    )


@strawberry.input(description="Confirmation for deleting the account.")
class AccountDeleteInput:
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="The account after the change.")
class AccountPayload:
    user: User | None = strawberry.field(description="The account.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="Where to download the export.")
class AccountExportPayload:
    url: str | None = strawberry.field(
        description="Download with the same 'Authorization: Bearer <token>' header; nobody else can."
    )
    expires_at: datetime | None = strawberry.field(description="The download works until then.")
    user_errors: list[UserError] = strawberry.field(description="Why there is no export, if so.")


NOT_NULL = ("display_name", "timezone")


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Change the profile: name, username, time zone, goal, email or avatar (the avatar as a "
        "multipart request, with an 'apollo-require-preflight' header)."
    )
    async def account_update(
        self, info: Info[Context, None], input: Input[AccountUpdateInput]
    ) -> AccountPayload:
        current = input.current_password if isinstance(input.current_password, str) else None
        try:
            require_person(info.context)
            guard = (
                await PasswordGuard.enter(info.context, ["input", "currentPassword"])
                if current is not None
                else None
            )
        except DomainError as error:
            return AccountPayload(user=None, user_errors=UserError.from_exception(error))
        values = provided(input, skip=("expected_version", "current_password", "avatar"))
        avatar = input.avatar
        storage = files.storage_for(info.context.resources.settings)
        for name in NOT_NULL:
            if name in values and values[name] is None:
                values.pop(name)

        async def work(uow: UnitOfWork) -> service.Updated:
            updated = await service.update(uow, values, input.expected_version, current)
            if avatar is not strawberry.UNSET:
                await files.set_avatar(uow, storage, updated.user, cast(files.Upload | None, avatar))
            return updated

        async with guard.given_back_if_we_fail() if guard is not None else contextlib.nullcontext():
            outcome = await run_mutation(info, work)
        # Only a password actually checked clears the throttle: a password sent along with a change that
        # needs none must not become a way to reset the count between guesses elsewhere.
        if guard is not None and outcome.value is not None and outcome.value.password_checked:
            await guard.passed()
        user = User.from_row(outcome.value.user) if outcome.value is not None else None
        return AccountPayload(user=user, user_errors=outcome.errors)

    @strawberry.mutation(description="Prepare a JSON download of everything the account owns (kept a day).")
    async def account_export(self, info: Info[Context, None]) -> AccountExportPayload:
        try:
            require_person(info.context)
        except DomainError as error:
            return AccountExportPayload(
                url=None, expires_at=None, user_errors=UserError.from_exception(error)
            )
        outcome = await run_mutation(info, service.export)
        if outcome.value is None:
            return AccountExportPayload(url=None, expires_at=None, user_errors=outcome.errors)
        base = info.context.resources.settings.public_url.rstrip("/")
        url = f"{base}/account/exports/{outcome.value.id}"
        return AccountExportPayload(url=url, expires_at=outcome.value.expires_at, user_errors=[])

    @strawberry.mutation(
        description="Delete the account and everything it owns, for good. Every session ends."
    )
    async def account_delete(
        self, info: Info[Context, None], input: Input[AccountDeleteInput]
    ) -> DeletePayload:
        try:
            user_id = require_person(info.context)
            guard = await PasswordGuard.enter(info.context, ["input", "password"])
        except DomainError as error:
            return DeletePayload(deleted_id=None, user_errors=UserError.from_exception(error))

        async def work(uow: UnitOfWork) -> Revoked:
            return await service.delete_account(uow, input.password)

        async with guard.given_back_if_we_fail():
            outcome = await run_mutation(info, work)
        if outcome.value is None:
            return DeletePayload(deleted_id=None, user_errors=outcome.errors)
        await guard.passed()
        await forget_sessions(info, outcome.value, user_id)
        return DeletePayload(deleted_id=strawberry.ID(to_global_id("User", user_id)), user_errors=[])
