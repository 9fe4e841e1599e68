"""``/metrics``: requests by route, method and status with their durations, and what the process holds now,
in Prometheus' text format, read back with prometheus_client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aurum.resources import Resources
from aurum.settings import Environment, Settings
from tests.support import GraphQLClient, wait_for
from tests.test_realtime import app_server
from tests.ws import signed_in

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, sorted labels) -> value


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests(found: Samples, route: str, status: str) -> float:
    labels = (("method", "POST" if route == "graphql" else "GET"), ("route", route), ("status", status))
    return found.get(("aurum_http_requests_total", labels), 0.0)


async def test_requests_are_counted_by_route_and_status(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    before = await scrape(http)
    for _ in range(3):
        await alice.ok("{ viewer { id } }")
    await http.post("/graphql", content=b'"not an object"', headers={"content-type": "application/json"})
    await http.get("/health")
    await http.get("/nowhere/" + "x" * 40)  # any unknown path is one series: "other"
    after = await scrape(http)
    assert requests(after, "graphql", "200") - requests(before, "graphql", "200") == 3
    assert requests(after, "graphql", "400") - requests(before, "graphql", "400") == 1
    assert requests(after, "health", "200") - requests(before, "health", "200") == 1
    assert requests(after, "other", "404") - requests(before, "other", "404") == 1
    timed = ("aurum_http_request_duration_seconds_count", (("route", "graphql"),))
    assert after[timed] - before.get(timed, 0.0) == 4
    assert ("aurum_db_pool_size", ()) in after


async def test_open_sockets_are_a_gauge(
    server_url: str, http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    async def sockets() -> float:
        return (await scrape(http))[("aurum_websocket_connections", ())]

    before = await sockets()
    async with signed_in(server_url, alice.token or ""), signed_in(server_url, alice.token or ""):
        assert await sockets() == before + 2

    async def let_go() -> bool:
        return await sockets() == before

    await wait_for(let_go, "the closed sockets to be let go")


async def test_a_metrics_token_guards_the_endpoint(settings: Settings, resources: Resources) -> None:
    token = "metrics-token-0123456789"
    async with (
        app_server(settings, resources, metrics_token=token) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (await http.get("/metrics")).status_code == 401
        assert (
            await http.get("/metrics", headers={"authorization": "Bearer wrong-token-0123456789"})
        ).status_code == 401
        assert ("aurum_db_pool_size", ()) in await scrape(http, authorization=f"Bearer {token}")


async def test_production_never_serves_metrics_without_a_token(
    settings: Settings, resources: Resources
) -> None:
    async with (
        app_server(settings, resources, env=Environment.PRODUCTION) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.get("/metrics")
        assert response.status_code == 403
        assert "AURUM_METRICS_TOKEN" in response.text
