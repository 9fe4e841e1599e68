"""Accounts over GraphQL: register, sign in, and the viewer."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import datetime

import strawberry
from strawberry import Info

from aurum.auth import reset, service, sessions
from aurum.auth.model import User as UserModel
from aurum.auth.passwords import check_password_policy, same_password, verify_password
from aurum.auth.revocation import sessions_ended
from aurum.auth.throttle import LoginThrottle, RegistrationThrottle, Reservation
from aurum.auth.tokens import read_device_token
from aurum.errors import DomainError, DomainErrors, Forbidden, InvalidInput, RateLimited, Unauthenticated
from aurum.graphql.context import Context
from aurum.graphql.node import node_resolver
from aurum.graphql.types import Input, Node, Payload, UserError
from aurum.ids import to_global_id


@strawberry.type(description="A person using Aurum Life.")
class User(Node):
    avatar_id: strawberry.Private[uuid.UUID | None]  # before ``uuid``, which hides the module below it
    uuid: strawberry.Private[uuid.UUID]
    email: str = strawberry.field(description="The sign-in email, lower case.")
    display_name: str = strawberry.field(description="The name shown to the person.")
    username: str | None = strawberry.field(description="An optional handle.")
    timezone: str = strawberry.field(description="IANA time zone; dates and due times are read in it.")
    onboarding_completed: bool = strawberry.field(description="Whether onboarding is done.")
    monthly_alignment_goal: int | None = strawberry.field(
        description="Alignment points aimed for each month."
    )
    last_login_at: datetime | None = strawberry.field(description="The last sign-in.")
    email_verified_at: datetime | None = strawberry.field(
        description="When the person last proved they receive mail at this email (Google, a reset)."
    )
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    updated_at: datetime = strawberry.field(description="When the account last changed.")

    @classmethod
    def from_row(cls, row: UserModel) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            uuid=row.id,
            avatar_id=row.avatar_resource_id,
            email=row.email,
            display_name=row.display_name,
            username=row.username,
            timezone=row.timezone,
            onboarding_completed=row.onboarding_completed,
            monthly_alignment_goal=row.monthly_alignment_goal,
            last_login_at=row.last_login_at,
            email_verified_at=row.email_verified_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(
        description="Where to download the avatar, with the owner's 'Authorization: Bearer' credentials; "
        "null without one."
    )
    def avatar_url(self, info: Info[Context, None]) -> str | None:
        if self.avatar_id is None:
            return None
        base = info.context.resources.settings.public_url.rstrip("/")
        return f"{base}/files/{to_global_id('Resource', self.avatar_id)}"


@strawberry.type(description="Tokens for a signed-in user, or why there are none.")
class AuthPayload:
    access_token: str | None = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    refresh_token: str | None = strawberry.field(
        description="Trade for new tokens with tokenRefresh, once: each use returns a new one."
    )
    expires_in: int | None = strawberry.field(description="Seconds until the access token expires.")
    device_token: str | None = strawberry.field(
        description="Keep it on this device for this account, after signing out too, and send it with "
        "tokenCreate: sign-ins from a device that signed in before are throttled on their own, so others' "
        "failed guesses never lock it out. Replace it with each new one; it grants nothing else."
    )
    user: User | None = strawberry.field(description="The signed-in user.")
    user_errors: list[UserError] = strawberry.field(description="Why sign-in failed, if it did.")

    @classmethod
    def failed(cls, error: DomainError | DomainErrors) -> AuthPayload:
        return cls(
            access_token=None,
            refresh_token=None,
            expires_in=None,
            device_token=None,
            user=None,
            user_errors=UserError.from_exception(error),
        )

    @classmethod
    def signed_in(cls, tokens: sessions.Tokens) -> AuthPayload:
        return cls(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            device_token=tokens.device_token,
            user=User.from_row(tokens.user),
            user_errors=[],
        )


@strawberry.input(description="A new account.")
class AccountRegisterInput:
    email: str = strawberry.field(description="The sign-in email.")
    password: str = strawberry.field(description="At least 10 characters, not a common password.")
    display_name: str | None = strawberry.field(default=None, description="Defaults to the email's name.")
    timezone: str = strawberry.field(default="UTC", description="IANA time zone, such as Europe/Paris.")


@strawberry.input(description="Credentials for signing in.")
class TokenCreateInput:
    email: str = strawberry.field(description="The sign-in email.")
    password: str = strawberry.field(description="The password.")
    device_token: str | None = strawberry.field(
        default=None,
        description="The deviceToken of this device's last sign-in to this account, if it has one: its "
        "attempts are then counted apart from everyone else's. One that is not valid is ignored.",
    )


@strawberry.input(description="A refresh token to trade for new tokens.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(description="The refresh token of the last AuthPayload.")


@strawberry.input(description="The refresh token of the session to end.")
class TokenRevokeInput:
    refresh_token: str = strawberry.field(description="The refresh token of the last AuthPayload.")


@strawberry.input(description="Whose password to reset.")
class PasswordResetRequestInput:
    email: str = strawberry.field(description="The account's email; the answer is the same if there is none.")


@strawberry.input(description="A new password, with the token from the reset email.")
class PasswordResetInput:
    token: str = strawberry.field(description="The token from the email.")
    password: str = strawberry.field(description="The new password.")


@strawberry.input(description="A new password for the signed-in account.")
class PasswordChangeInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="The new password.")


WRONG_CREDENTIALS = "Wrong email or password"
BAD_REFRESH = "This refresh token is not valid: sign in again"
SAME_PASSWORD = "The new password is the current one: choose another"


async def forget_sessions(
    info: Info[Context, None], revoked: sessions.Revoked, user_id: uuid.UUID | None = None
) -> None:
    await sessions_ended(info.context.resources, revoked.session_ids, user_id)


def require_person(context: Context) -> uuid.UUID:
    """Account and credential changes need the person, not one of their API keys."""
    user_id = context.user_id
    if context.principal is not None and context.principal.is_api_key:
        raise Forbidden("API keys cannot manage the account or its credentials; sign in as the person")
    return user_id


class PasswordGuard:
    """Confirming the password inside a session is throttled like signing in, in the buckets of the session
    (a known device): a stolen access token must not become a way to guess the password, and strangers'
    failed sign-ins must not keep the owner from changing it."""

    def __init__(self, reservation: Reservation) -> None:
        self._reservation = reservation

    @classmethod
    async def enter(cls, context: Context, field: list[str]) -> PasswordGuard:
        """Count the attempt; ``RateLimited`` names ``field``, the input's password field."""
        throttle = LoginThrottle(context.resources.redis, context.resources.settings)
        session_id = context.principal.session_id if context.principal is not None else None
        reservation = await throttle.attempt(
            (await context.viewer()).email,
            context.device.address,
            known_device=f"session:{session_id.hex}" if session_id else None,
            field=field,
        )
        return cls(reservation)

    def given_back_if_we_fail(self) -> AbstractAsyncContextManager[None]:
        return self._reservation.given_back_if_we_fail()

    async def passed(self) -> None:
        await self._reservation.succeeded()


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and sign in to it.")
    async def account_register(
        self, info: Info[Context, None], input: Input[AccountRegisterInput]
    ) -> AuthPayload:
        data = service.Registration(input.email, input.password, input.display_name, input.timezone)
        resources, device = info.context.resources, info.context.device
        settings = resources.settings
        try:
            service.check_registration(data)
            reservation = await RegistrationThrottle(resources.redis).attempt(device.address)
            async with (
                reservation.given_back_if_we_fail(),
                resources.sessionmaker() as session,
                session.begin(),
            ):
                user = await service.register(session, data)
                tokens = await sessions.start_session(session, settings, user, "password", device)
        except (DomainError, DomainErrors) as error:
            return AuthPayload.failed(error)
        return AuthPayload.signed_in(tokens)

    @strawberry.mutation(
        description="Sign in with email and password. Repeated failures are throttled: per account and "
        "address, per address, and per account from anywhere over a longer window; a device that sends its "
        "deviceToken is counted on its own."
    )
    async def token_create(self, info: Info[Context, None], input: Input[TokenCreateInput]) -> AuthPayload:
        resources, device = info.context.resources, info.context.device
        throttle = LoginThrottle(resources.redis, resources.settings)
        known = (
            read_device_token(resources.settings, input.device_token, input.email)
            if input.device_token
            else None
        )
        try:
            reservation = await throttle.attempt(
                input.email, device.address, known_device=f"device:{known}" if known else None
            )
        except RateLimited as error:
            return AuthPayload.failed(error)
        async with (
            reservation.given_back_if_we_fail(),
            resources.sessionmaker() as session,
            session.begin(),
        ):
            user = await service.authenticate(session, input.email, input.password)
            if user is not None:
                tokens = await sessions.start_session(session, resources.settings, user, "password", device)
        if user is None:
            return AuthPayload.failed(InvalidInput(WRONG_CREDENTIALS, ["input", "password"]))
        await reservation.succeeded()
        return AuthPayload.signed_in(tokens)

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. Each refresh token works once: "
        "presenting a used one again ends its whole session, except from the session's own device within "
        "30 seconds (two tabs refreshing at once), which is only refused."
    )
    async def token_refresh(self, info: Info[Context, None], input: Input[TokenRefreshInput]) -> AuthPayload:
        resources = info.context.resources
        async with resources.sessionmaker() as session, session.begin():
            outcome = await sessions.rotate(
                session, resources.settings, input.refresh_token, info.context.device
            )
        if isinstance(outcome, sessions.Tokens):
            return AuthPayload.signed_in(outcome)
        if isinstance(outcome, sessions.Revoked):
            await forget_sessions(info, outcome)
        return AuthPayload.failed(Unauthenticated(BAD_REFRESH, ["input", "refreshToken"]))

    @strawberry.mutation(description="Sign out: end the session of this refresh token and its access tokens.")
    async def token_revoke(self, info: Info[Context, None], input: Input[TokenRevokeInput]) -> Payload:
        async with info.context.resources.sessionmaker() as session, session.begin():
            revoked = await sessions.revoke_session(session, input.refresh_token)
        await forget_sessions(info, revoked)
        return Payload.done()

    @strawberry.mutation(
        description="Email a single-use link to reset the password, valid for an hour. "
        "The answer is the same whether or not the email has an account."
    )
    async def password_reset_request(
        self, info: Info[Context, None], input: Input[PasswordResetRequestInput]
    ) -> Payload:
        resources = info.context.resources
        throttle = LoginThrottle(resources.redis, resources.settings, purpose="reset")
        try:
            reservation = await throttle.attempt(input.email, info.context.device.address)
        except RateLimited as error:
            return Payload.failed(error)
        async with reservation.given_back_if_we_fail():
            async with resources.sessionmaker() as session, session.begin():
                requested = await reset.request_reset(session, resources.settings, input.email)
            if requested is not None:
                message = requested.message
                await resources.jobs.enqueue("send_email", message.to, message.subject, message.text)
        return Payload.done()

    @strawberry.mutation(
        description="Set a new password with the token from the reset email; every other session ends."
    )
    async def password_reset(
        self, info: Info[Context, None], input: Input[PasswordResetInput]
    ) -> AuthPayload:
        resources = info.context.resources
        try:
            async with resources.sessionmaker() as session, session.begin():
                done = await reset.reset_password(session, input.token, input.password, ["input", "password"])
                if done is None:
                    raise InvalidInput(reset.INVALID_RESET, ["input", "token"])
                user, revoked = done
                tokens = await sessions.start_session(
                    session, resources.settings, user, "reset", info.context.device
                )
        except DomainError as error:
            return AuthPayload.failed(error)
        await forget_sessions(info, revoked)
        return AuthPayload.signed_in(tokens)

    @strawberry.mutation(
        description="Change the password. Every session ends; the answer carries tokens for a new one."
    )
    async def password_change(
        self, info: Info[Context, None], input: Input[PasswordChangeInput]
    ) -> AuthPayload:
        resources = info.context.resources
        try:
            user_id = require_person(info.context)
            guard = await PasswordGuard.enter(info.context, ["input", "currentPassword"])
            async with guard.given_back_if_we_fail(), info.context.writing() as uow:
                user = await uow.session.get(UserModel, user_id)
                if user is None:
                    raise Unauthenticated("This account no longer exists")
                if not await asyncio.to_thread(verify_password, user.password_hash, input.current_password):
                    raise InvalidInput("The current password is wrong", ["input", "currentPassword"])
                if same_password(input.new_password, input.current_password):
                    raise InvalidInput(SAME_PASSWORD, ["input", "newPassword"])
                check_password_policy(input.new_password, user.email, ["input", "newPassword"])
                await reset.set_password(uow.session, user, input.new_password)
                revoked = await sessions.revoke_all(uow.session, user_id, "password changed")
                tokens = await sessions.start_session(
                    uow.session, resources.settings, user, "password", info.context.device
                )
        except DomainError as error:
            return AuthPayload.failed(error)
        await guard.passed()
        await forget_sessions(info, revoked)
        return AuthPayload.signed_in(tokens)


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The signed-in user.")
    async def viewer(self, info: Info[Context, None]) -> User:
        return User.from_row(await info.context.viewer())


@node_resolver("User")
async def user_by_id(info: Info[Context, None], user_id: uuid.UUID) -> User | None:
    """Only the viewer is visible: other people are not found."""
    if user_id != info.context.user_id:
        return None
    return User.from_row(await info.context.viewer())
