"""Accounts over GraphQL: register, sign in, and the viewer."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from aurum.auth import service
from aurum.auth.model import User as UserModel
from aurum.auth.tokens import issue_access_token
from aurum.errors import DomainError, DomainErrors, InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.types import Input, Node, UserError
from aurum.ids import to_global_id


@strawberry.type(description="A person using Aurum Life.")
class User(Node):
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
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    updated_at: datetime = strawberry.field(description="When the account last changed.")

    @classmethod
    def from_row(cls, row: UserModel) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            uuid=row.id,
            email=row.email,
            display_name=row.display_name,
            username=row.username,
            timezone=row.timezone,
            onboarding_completed=row.onboarding_completed,
            monthly_alignment_goal=row.monthly_alignment_goal,
            last_login_at=row.last_login_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="Tokens for a signed-in user, or why there are none.")
class AuthPayload:
    access_token: str | None = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    refresh_token: str | None = strawberry.field(description="Trade for new tokens with tokenRefresh.")
    expires_in: int | None = strawberry.field(description="Seconds until the access token expires.")
    user: User | None = strawberry.field(description="The signed-in user.")
    user_errors: list[UserError] = strawberry.field(description="Why sign-in failed, if it did.")

    @classmethod
    def failed(cls, error: DomainError | DomainErrors) -> AuthPayload:
        return cls(
            access_token=None,
            refresh_token=None,
            expires_in=None,
            user=None,
            user_errors=UserError.from_exception(error),
        )


@strawberry.input(description="A new account.")
class AccountRegisterInput:
    email: str = strawberry.field(description="The sign-in email.")
    password: str = strawberry.field(description="At least 10 characters.")
    display_name: str | None = strawberry.field(default=None, description="Defaults to the email's name.")
    timezone: str = strawberry.field(default="UTC", description="IANA time zone, such as Europe/Paris.")


@strawberry.input(description="Credentials for signing in.")
class TokenCreateInput:
    email: str = strawberry.field(description="The sign-in email.")
    password: str = strawberry.field(description="The password.")


def signed_in(info: Info[Context, None], user: UserModel) -> AuthPayload:
    token = issue_access_token(info.context.resources.settings, user.id)
    return AuthPayload(
        access_token=token.token,
        refresh_token=None,
        expires_in=token.expires_in,
        user=User.from_row(user),
        user_errors=[],
    )


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and sign in to it.")
    async def account_register(
        self, info: Info[Context, None], input: Input[AccountRegisterInput]
    ) -> AuthPayload:
        data = service.Registration(input.email, input.password, input.display_name, input.timezone)
        try:
            async with info.context.resources.sessionmaker() as session, session.begin():
                user = await service.register(session, data)
        except (DomainError, DomainErrors) as error:
            return AuthPayload.failed(error)
        return signed_in(info, user)

    @strawberry.mutation(description="Sign in with email and password.")
    async def token_create(self, info: Info[Context, None], input: Input[TokenCreateInput]) -> AuthPayload:
        async with info.context.resources.sessionmaker() as session, session.begin():
            user = await service.authenticate(session, input.email, input.password)
        if user is None:
            return AuthPayload.failed(InvalidInput("Wrong email or password", ["input", "password"]))
        return signed_in(info, user)


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The signed-in user.")
    async def viewer(self, info: Info[Context, None]) -> User:
        return User.from_row(await info.context.viewer())
