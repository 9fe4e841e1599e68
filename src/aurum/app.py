"""The Starlette application: GraphQL at /graphql, health endpoints, request ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aurum.account.routes import download_export
from aurum.auth import google
from aurum.calendar.routes import calendar_feed
from aurum.db import fill_pool
from aurum.graphql.view import AurumGraphQL
from aurum.health import liveness, readiness
from aurum.hrm.registry import verify_rules
from aurum.logging import configure_logging
from aurum.metrics import Measured, Metrics
from aurum.metrics import endpoint as metrics_endpoint
from aurum.realtime.hub import Hub
from aurum.resource.routes import BodyGuard, download_file
from aurum.resources import Resources, open_resources
from aurum.settings import Settings, load_settings
from aurum.unavailable import answers_unavailable

GRAPHQL_PATH = "/graphql"


def assign_request_id(scope: Scope) -> str:
    """The request's id (a sane one the client sent, or a new one), in its scope's state and in the logs."""
    sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
    request_id = sent if 8 <= len(sent) <= 64 and sent.isalnum() else uuid.uuid4().hex
    scope.setdefault("state", {})["request_id"] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


class RequestId:
    """Give every request an id (or keep a sane one the client sent), in logs and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = assign_request_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


class Application:
    """The process's ASGI app: GraphQL WebSockets go straight to the GraphQL view, all else to Starlette.

    A socket lives for hours, and every layer it passes keeps a coroutine frame and closures for that long:
    Starlette, its error and exception middleware, the router, the route and the request id wrapper cost
    ~3.5 KiB per idle socket (measured with bench/realtime.py), and none of them does anything for one."""

    def __init__(self, starlette: Starlette, graphql: AurumGraphQL) -> None:
        self.starlette = starlette
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GRAPHQL_PATH:
            scope["app"] = self.starlette
            assign_request_id(scope)
            try:
                await self.graphql(scope, receive, send)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
        else:
            await self.starlette(scope, receive, send)


def build_app(
    settings: Settings, resources: Resources | None = None, *, run_worker: bool = False
) -> Application:
    """The server. Without ``resources`` it opens its own (embedded engines included) for its lifespan."""
    graphql = AurumGraphQL(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            opened = (
                resources
                if resources is not None
                else await stack.enter_async_context(open_resources(settings))
            )
            if run_worker:
                from aurum.worker import running_worker

                await stack.enter_async_context(running_worker(opened))  # it verifies the rules too
            else:
                await verify_rules(opened.sessionmaker)
            await fill_pool(opened.engine, opened.settings.db_pool_size)
            hub = Hub(opened)
            await hub.start()
            stack.push_async_callback(hub.stop)
            graphql.resources = app.state.resources = opened
            graphql.hub = app.state.hub = hub
            metrics.live.hub, metrics.live.resources = hub, opened
            compiled = getattr(graphql.schema, "compiled", None)
            metrics.live.reads = compiled.answered if compiled is not None else None
            yield

    app = Starlette(
        routes=[
            Route("/health", liveness),
            Route("/api/health", readiness),
            # Every method reaches the view, which answers each the way GraphQL clients read errors.
            Route(GRAPHQL_PATH, BodyGuard(graphql, settings.max_request_bytes)),
            Route(
                "/metrics",
                metrics_endpoint(metrics, settings.metrics_token, production=not settings.is_development),
            ),
            Route("/account/exports/{export_id}", answers_unavailable(download_export)),
            Route("/files/{resource_id}", answers_unavailable(download_file)),
            Route("/calendar/{token}.ics", answers_unavailable(calendar_feed)),
            Route("/auth/google/start", google.start),
            Route("/auth/google/callback", google.callback),
        ],
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id", "apollo-require-preflight"],
            expose_headers=["x-request-id"],
            max_age=600,
        )
    app.add_middleware(RequestId)
    app.add_middleware(Measured, metrics=metrics)
    return Application(app, graphql)


def create_app() -> Application:
    """For ``uvicorn aurum.app:create_app --factory``: settings from the environment."""
    settings = load_settings()
    configure_logging(settings)
    return build_app(settings)
