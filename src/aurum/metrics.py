"""Prometheus metrics at ``/metrics``: requests by route and status with their durations, and what the process
holds now (open sockets, users followed live, database connections in use).

Each app has a registry of its own (a test process runs several apps). Every API process answers for itself:
scrape each one. Route labels come from a fixed list, so no client can grow the series without bound.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from aurum.realtime.hub import Hub
    from aurum.resources import Resources

ROUTES = {"/graphql": "graphql", "/health": "health", "/api/health": "readiness", "/metrics": "metrics"}
PREFIXES = (("/files/", "files"), ("/account/exports/", "exports"), ("/auth/google/", "google"))
# Mostly tens of milliseconds; a nested page of two thousand tasks is a few hundred.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_of(path: str) -> str:
    found = ROUTES.get(path)
    if found is not None:
        return found
    return next((name for prefix, name in PREFIXES if path.startswith(prefix)), "other")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aurum_http_requests",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "aurum_http_request_duration_seconds",
            "Time from a request's start to its response's last byte",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.live = LiveState()
        self.registry.register(self.live)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.duration.labels(route).observe(seconds)


class LiveState(Collector):
    """Read at scrape time from what the process holds; nothing until the app has started."""

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.resources: Resources | None = None
        self.reads: Mapping[str, int] | None = None  # GraphQL requests by the path that answered them

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        if self.reads is not None:
            answered = CounterMetricFamily(
                "aurum_graphql_answers", "GraphQL requests over HTTP by what answered them", labels=["path"]
            )
            for path, count in self.reads.items():
                answered.add_metric([path], count)
            yield answered
        if self.hub is not None:
            sockets = sum(len(c) for c in self.hub.connections.values())
            yield GaugeMetricFamily("aurum_websocket_connections", "WebSockets signed in", value=sockets)
            yield GaugeMetricFamily(
                "aurum_live_users", "Users whose changes are followed live", value=len(self.hub.streams)
            )
        if self.resources is not None:
            pool = self.resources.engine.pool
            checked_out = getattr(pool, "checkedout", lambda: 0)()
            yield GaugeMetricFamily(
                "aurum_db_connections_in_use", "Database connections checked out", value=checked_out
            )
            size = getattr(pool, "size", lambda: 0)()
            yield GaugeMetricFamily("aurum_db_pool_size", "Database connections the pool keeps", value=size)


class Measured:
    """Counts and times every HTTP request (WebSockets live for hours: their count is a gauge instead)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(route_of(scope["path"]), scope["method"], status, elapsed)


CLOSED = "/metrics needs AURUM_METRICS_TOKEN in production: set it, and scrape with 'Authorization: Bearer …'"


def endpoint(
    metrics: Metrics, token: str | None, *, production: bool
) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics``; with ``AURUM_METRICS_TOKEN`` set, only for ``Authorization: Bearer <token>``. In
    production it is never open: without a token it is closed, as the operator would not expect it open."""

    async def serve(request: Request) -> Response:
        if token is None and production:
            return Response(CLOSED, status_code=403)
        if token is not None:
            presented = request.headers.get("authorization", "")
            if not secrets.compare_digest(presented.encode(), f"Bearer {token}".encode()):
                return Response("Unauthorized", status_code=401, headers={"www-authenticate": "Bearer"})
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return serve
