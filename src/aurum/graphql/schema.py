"""The schema: every domain's queries and mutations merged, with limits and error formatting."""

from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.tools import merge_types

from aurum.account.graphql import AccountMutation
from aurum.apikey.graphql import ApiKeyMutation, ApiKeyQuery
from aurum.area.graphql import AreaMutation, AreaQuery
from aurum.auth.exchange import GoogleMutation
from aurum.auth.graphql import AuthMutation, ViewerQuery
from aurum.graphql.extensions import AnonymousGate, ErrorFormatting, NulGuard, ScopeGate
from aurum.graphql.limits import alias_limit, depth_limit
from aurum.graphql.node import NodeQuery
from aurum.pillar.graphql import PillarMutation, PillarQuery
from aurum.project.graphql import ProjectMutation, ProjectQuery
from aurum.settings import Settings
from aurum.task.graphql import TaskQuery
from aurum.task.mutations import TaskMutation


def described(merged: type, description: str) -> type:
    """``merge_types`` takes no description; give the merged root type one."""
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]
    return merged


Query = described(
    merge_types(
        "Query", (ViewerQuery, NodeQuery, PillarQuery, AreaQuery, ProjectQuery, TaskQuery, ApiKeyQuery)
    ),
    "Reading: the viewer and their hierarchy, and any object by its global id.",
)
Mutation = described(
    merge_types(
        "Mutation",
        (
            AuthMutation,
            GoogleMutation,
            AccountMutation,
            ApiKeyMutation,
            PillarMutation,
            AreaMutation,
            ProjectMutation,
            TaskMutation,
        ),
    ),
    "Writing: each mutation runs in one transaction; expected failures come back as `userErrors`.",
)


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[object] = [
        ErrorFormatting,
        AnonymousGate,
        ScopeGate,
        NulGuard,
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(
            [depth_limit(settings.max_query_depth), alias_limit(settings.max_aliases)]
        ),
    ]
    if not settings.is_development:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)  # type: ignore[arg-type]


def schema_sdl(settings: Settings) -> str:
    return build_schema(settings).as_str() + "\n"
