"""The Strawberry ASGI view: builds each request's context from the bearer token."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from aurum.auth.principal import principal_for
from aurum.graphql.context import Context
from aurum.resources import Resources
from aurum.settings import Settings

BAD_TOKEN = "The access token is invalid or expired: sign in again or refresh it"


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class AurumGraphQL(GraphQL[Context, None]):
    resources: Resources

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        from aurum.graphql.schema import build_schema

        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.is_development else None,
            allow_queries_via_get=True,
            **kwargs,
        )

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        token = bearer(request.headers.get("authorization"))
        principal = await principal_for(self.resources, token) if token else None
        return Context(
            resources=self.resources,
            request=request,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            principal=principal,
            auth_error=BAD_TOKEN if token and principal is None else None,
        )
