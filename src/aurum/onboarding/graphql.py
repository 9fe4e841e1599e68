"""Onboarding over GraphQL: ``onboardingApply``."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import Info

from aurum.auth.graphql import User
from aurum.db import UnitOfWork
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.types import Input, UserError
from aurum.onboarding import service
from aurum.onboarding.templates import Template
from aurum.pillar.graphql import Pillar


@strawberry.enum(description="A ready-made first hierarchy: 3 pillars × 3 areas × 1 project × 3 tasks.")
class OnboardingTemplate(Enum):
    STUDENT = strawberry.enum_value(
        Template.STUDENT.value, description="Academics (50 %), Well-being (30 %) and Finances (20 %)."
    )
    ENTREPRENEUR = strawberry.enum_value(
        Template.ENTREPRENEUR.value,
        description="Business Development (40 %), Product (40 %) and Personal Life (20 %).",
    )
    BUSY_EMPLOYEE = strawberry.enum_value(
        Template.BUSY_EMPLOYEE.value,
        description="Career (40 %), Health & Wellness (35 %) and Relationships (25 %).",
    )


@strawberry.input(description="Which template to start from.")
class OnboardingApplyInput:
    template: OnboardingTemplate = strawberry.field(description="The kind of life to start from.")


@strawberry.type(description="The answer of onboardingApply.")
class OnboardingApplyPayload:
    pillars: list[Pillar] = strawberry.field(
        description="The template's pillars (their areas, projects and tasks hang below them): the ones "
        "just made, or on a repeat the ones that still exist. Empty when userErrors says why."
    )
    created: bool = strawberry.field(
        description="True when this call made the hierarchy; false when it was already there (a repeat)."
    )
    user: User | None = strawberry.field(description="The viewer, with onboardingCompleted now true.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was made, if so.")


@strawberry.type
class OnboardingMutation:
    @strawberry.mutation(
        description="Start from a template and finish onboarding, in one transaction. Repeating it (a retry, "
        "even at the same moment) makes nothing twice and returns the same pillars; once onboarding is done, "
        "another template is refused with CONFLICT."
    )
    async def onboarding_apply(
        self, info: Info[Context, None], input: Input[OnboardingApplyInput]
    ) -> OnboardingApplyPayload:
        template = Template[input.template.name]

        async def work(uow: UnitOfWork) -> service.Applied:
            return await service.apply(uow, template)

        outcome = await run_mutation(info, work)
        applied: service.Applied | None = outcome.value
        if applied is None:
            return OnboardingApplyPayload(pillars=[], created=False, user=None, user_errors=outcome.errors)
        return OnboardingApplyPayload(
            pillars=[Pillar.from_row(p) for p in applied.pillars],
            created=applied.created,
            user=User.from_row(applied.user),
            user_errors=[],
        )
