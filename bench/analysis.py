"""Analysis: ``analysisRequest`` → the run's first insight on a ``recordChanged`` subscriber, side by side
rules-only (AI off) and with the model (a stand-in Gemini on loopback that answers after a fixed 500 ms).

One ``aurum serve`` subprocess, with its worker, on embedded PostgreSQL and Redis in a temporary directory;
the stand-in Gemini runs in a thread of this process, reached by the server through the real google-genai SDK.
One user per series (analyses are limited to 60 an hour per user), each with the same hierarchy, some tasks
overdue, and one graphql-transport-ws socket following its insights' changes (a repeated analysis refreshes
the insights it finds again, so from the second run on they arrive as updates). One request at a time:
``analysisRequest(depth: BALANCED, force: true)`` on everything, timed from sending it until the run's first
insight arrives on the socket. ``force: true`` makes every run ask the model afresh: the Redis cache of model
answers never serves one (the bench checks that the stand-in saw one call per run).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from tests.gemini import StandInGemini, answer, delay
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aurum.ids import parse_global_id
from aurum.realtime.graphql import encode_cursor
from bench.addresses import own_address
from bench.realtime import REGISTER, Engines, engines, free_port, percentile, serve_env, wait_healthy

PILLARS, AREAS, PROJECTS, TASKS = 3, 2, 2, 8
WARMUP = 2
SAMPLES = {"rules-only": 30, "with model": 20}
MODEL_DELAY = 0.5
TARGET_P95_MS = {"rules-only": 1000.0, "with model": 3000.0}
DELIVERY_TIMEOUT = 30.0
PROTOCOL = "graphql-transport-ws"

ADVICE = {
    "insights": [
        {
            "type": "recommendation",
            "title": "Clear what is overdue before adding more",
            "summary": "Several tasks are late across your projects; finishing the oldest frees the week.",
            "confidence": 0.8,
            "impact": 0.5,
            "recommendations": ["Block an hour tomorrow morning for the oldest overdue task"],
            "entity_ids": [],
            "tags": ["focus"],
        }
    ]
}
# A run's insights reach clients as changes: created, or a finding found again refreshes the insight that
# stands for it (its run then is the new one).
SUBSCRIPTION = (
    "subscription($after: String) { recordChanged(after: $after, entityTypes: [INSIGHT]) {"
    " operation node { ... on Insight { id source run { id } } } } }"
)
REQUEST = (
    "mutation($input: AnalysisRequestInput!) { analysisRequest(input: $input) {"
    " run { id } userErrors { message } } }"
)
CREATE = (
    "mutation($input: {type}CreateInput!) {{ {name}Create(input: $input) {{"
    " {name} {{ id }} userErrors {{ message }} }} }}"
)
LAST_EVENT = text("SELECT coalesce(max(id), 0) FROM events WHERE user_id = :user_id")
TIMINGS = text(
    "SELECT extract(epoch FROM started_at - created_at) * 1000 AS pickup,"
    " extract(epoch FROM finished_at - started_at) * 1000 AS job FROM analysis_runs WHERE id = ANY(:runs)"
)
SCORES_BEHIND = text(
    "SELECT coalesce(bool_or(generation > scored_generation), false) FROM hrm_score_state"
    " WHERE user_id = :user_id"
)
PREFERENCES = (
    "mutation($input: HrmPreferencesUpdateInput!) { hrmPreferencesUpdate(input: $input) {"
    " userErrors { message } } }"
)


# --- the server ---


@asynccontextmanager
async def aurum_serve(directory: Path, found: Engines, gemini: StandInGemini) -> AsyncIterator[str]:
    """``aurum serve`` (API and worker) on a free port, healthy on entry; its URL."""
    port = free_port()
    env = serve_env(
        found, directory / "data", AURUM_GEMINI_API_KEY=gemini.api_key, AURUM_GEMINI_BASE_URL=gemini.url
    )
    aurum = Path(sys.executable).with_name("aurum")
    with tempfile.TemporaryFile("w+", dir=directory) as log:
        process = await asyncio.create_subprocess_exec(
            *(str(aurum), "serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(url, process, lambda: tail(log))
            yield url
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            if "Traceback" in tail(log):
                print(f"aurum serve logged a traceback:\n{tail(log)}", file=sys.stderr)


def tail(log: IO[str]) -> str:
    log.seek(0)
    return log.read()[-4000:]


# --- a user and their socket ---


@dataclass
class Client:
    http: httpx.AsyncClient
    token: str = ""
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    address: dict[str, str] = field(default_factory=own_address)

    async def ok(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {**self.address, "authorization": f"Bearer {self.token}"} if self.token else self.address
        body = (
            await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        ).json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        data: dict[str, Any] = next(iter(body["data"].values()))
        if data.get("userErrors"):
            raise RuntimeError(data["userErrors"])
        return data

    async def create(self, kind: str, fields: dict[str, Any]) -> str:
        query = CREATE.format(type=kind[0].upper() + kind[1:], name=kind)
        return str((await self.ok(query, {"input": fields}))[kind]["id"])


async def register(http: httpx.AsyncClient, ai: bool) -> Client:
    client = Client(http)
    email = f"analysis-{uuid.uuid4().hex[:8]}@example.com"
    payload = await client.ok(REGISTER, {"input": {"email": email, "password": "correct horse battery"}})
    parsed = parse_global_id(payload["user"]["id"])
    assert parsed is not None
    client.token, client.user_id = payload["accessToken"], parsed[1]
    if ai:
        await client.ok(PREFERENCES, {"input": {"aiEnabled": True}})
    return client


async def plant(client: Client) -> int:
    """The hierarchy, one level at a time (each level's creations at once); a third of the tasks overdue."""
    late = (date.today() - timedelta(days=3)).isoformat()
    pillars = await asyncio.gather(
        *(client.create("pillar", {"name": f"Pillar {p}"}) for p in range(PILLARS))
    )
    areas = await asyncio.gather(
        *(client.create("area", {"pillarId": p, "name": f"Area {a}"}) for p in pillars for a in range(AREAS))
    )
    projects = await asyncio.gather(
        *(
            client.create("project", {"areaId": a, "name": f"Project {j}"})
            for a in areas
            for j in range(PROJECTS)
        )
    )
    tasks = [
        {"projectId": project, "name": f"Task {t}", **({"dueDate": late} if t % 3 == 0 else {})}
        for project in projects
        for t in range(TASKS)
    ]
    await asyncio.gather(*(client.create("task", fields) for fields in tasks))
    return len(tasks)


@dataclass(eq=False)
class Subscriber:
    """One socket following insight changes: the first arrival of each run's insights, stamped."""

    ws: ClientConnection
    arrivals: dict[str, float] = field(default_factory=dict)
    insights: dict[str, list[str]] = field(default_factory=dict)  # sources, by run
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    others: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                arrived = time.perf_counter()
                message = orjson.loads(raw)
                payload = message.get("payload") or {}
                if message.get("type") == "next" and payload.get("data") and "errors" not in payload:
                    insight = payload["data"]["recordChanged"]["node"]
                    if insight is not None and insight.get("run"):
                        self.arrive(insight["run"]["id"], insight["source"], arrived)
                elif message.get("type") == "ping":
                    await self.ws.send(orjson.dumps({"type": "pong"}).decode())
                else:
                    self.others.append(message)

    def arrive(self, run_id: str, source: str, at: float) -> None:
        self.insights.setdefault(run_id, []).append(source)
        if run_id not in self.arrivals:
            self.arrivals[run_id] = at
            future = self.waiting.get(run_id)
            if future is not None and not future.done():
                future.set_result(at)

    async def first_insight(self, run_id: str) -> float:
        if run_id in self.arrivals:
            return self.arrivals[run_id]
        future = self.waiting.setdefault(run_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(future, DELIVERY_TIMEOUT)
        except TimeoutError:
            raise RuntimeError(
                f"no insight of run {run_id} within {DELIVERY_TIMEOUT:.0f} s: {self.others}"
            ) from None


@asynccontextmanager
async def subscribed(url: str, client: Client, after: str) -> AsyncIterator[Subscriber]:
    async with connect(
        url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        compression=None,
    ) as ws:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {client.token}"}}
        await ws.send(orjson.dumps(init).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack}")
        subscriber = Subscriber(ws)
        subscriber.reader = asyncio.create_task(subscriber.read())
        message = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"after": after}},
        }
        await ws.send(orjson.dumps(message).decode())
        try:
            yield subscriber
        finally:
            subscriber.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await subscriber.reader


# --- the series ---


@dataclass
class Series:
    name: str
    tasks: int = 0
    latency_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    runs: list[uuid.UUID] = field(default_factory=list)
    insights: list[list[str]] = field(default_factory=list)
    pickup_ms: list[float] = field(default_factory=list)  # requested -> started by the worker
    job_ms: list[float] = field(default_factory=list)  # started -> finished (insights written)
    model_calls: int = 0


async def one_request(client: Client, subscriber: Subscriber) -> tuple[float, float, str]:
    """Request an analysis; (ms until the mutation answered, ms until the first insight arrived, run id)."""
    sent = time.perf_counter()
    payload = await client.ok(REQUEST, {"input": {"depth": "BALANCED", "force": True}})
    answered = time.perf_counter()
    run_id: str = payload["run"]["id"]
    arrived = await subscriber.first_insight(run_id)
    return (answered - sent) * 1000, (arrived - sent) * 1000, run_id


async def scores_settled(database: AsyncEngine, user_id: uuid.UUID) -> None:
    deadline = time.monotonic() + 60
    while True:
        async with database.connect() as connection:
            behind = await connection.scalar(SCORES_BEHIND, {"user_id": user_id})
        if not behind:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the scoring job did not catch up within 60 s")
        await asyncio.sleep(0.05)


async def run_series(
    series: Series, url: str, http: httpx.AsyncClient, database: AsyncEngine, gemini: StandInGemini
) -> None:
    client = await register(http, ai=series.name == "with model")
    series.tasks = await plant(client)
    await scores_settled(database, client.user_id)  # the scoring job's work on the new tasks is not measured
    async with database.connect() as connection:
        last = await connection.scalar(LAST_EVENT, {"user_id": client.user_id})
    async with subscribed(url, client, encode_cursor(int(last))) as subscriber:
        for _ in range(WARMUP):
            await one_request(client, subscriber)
        calls = gemini.count
        for _ in range(SAMPLES[series.name]):
            http_ms, latency_ms, run_id = await one_request(client, subscriber)
            series.http_ms.append(http_ms)
            series.latency_ms.append(latency_ms)
            parsed = parse_global_id(run_id)
            assert parsed is not None
            series.runs.append(parsed[1])
            series.insights.append(subscriber.insights[run_id])
        series.model_calls = gemini.count - calls
    async with database.connect() as connection:
        rows = (await connection.execute(TIMINGS, {"runs": series.runs})).all()
    series.pickup_ms = [float(r.pickup) for r in rows]
    series.job_ms = [float(r.job) for r in rows]


async def measure() -> list[Series]:
    with tempfile.TemporaryDirectory(prefix="aurum-analysis-") as name, StandInGemini() as gemini:
        gemini.default = delay(MODEL_DELAY, answer(ADVICE))
        directory = Path(name)
        async with AsyncExitStack() as stack:
            found = await stack.enter_async_context(engines(directory))
            url = await stack.enter_async_context(aurum_serve(directory, found, gemini))
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
            database = create_async_engine(found.database_url)  # the owner's role: every user's rows
            stack.push_async_callback(database.dispose)
            measured = [Series(name) for name in SAMPLES]
            for series in measured:
                await run_series(series, url, http, database, gemini)
    return measured


# --- the report ---


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(measured: list[Series]) -> None:
    rules, model = measured
    p50 = {s.name: statistics.median(s.latency_ms) for s in measured}
    p95 = {s.name: percentile(s.latency_ms, 0.95) for s in measured}
    print(
        "\nAnalysis: analysisRequest -> first insight of the run on a recordChanged socket; `aurum serve` "
        f"with its worker; one user per series with {PILLARS} pillars x {AREAS} areas x {PROJECTS} "
        f"projects x {TASKS} tasks ({rules.tasks} tasks, a third overdue); scope everything, depth BALANCED, "
        f"force: true (the model's cache never answers); one request at a time, after {WARMUP} warm-up\n"
    )

    def row(label: str, cells: Callable[[Series], str], target: str = "", mark: str = "") -> None:
        print(f"{label:46}{cells(rules):>14}{cells(model):>14}{target:>20}{mark:>13}")

    row("", lambda s: s.name)
    row("runs", lambda s: str(len(s.latency_ms)))
    row("request -> insight p50", lambda s: f"{p50[s.name]:.0f} ms")
    row(
        "request -> insight p95",
        lambda s: f"{p95[s.name]:.0f} ms",
        f"< {TARGET_P95_MS[rules.name]:.0f} / {TARGET_P95_MS[model.name]:.0f} ms",
        " / ".join(verdict(p95[s.name] < TARGET_P95_MS[s.name]) for s in measured),
    )
    row("request -> insight max", lambda s: f"{max(s.latency_ms):.0f} ms")
    row("  mutation answered p50", lambda s: f"{statistics.median(s.http_ms):.0f} ms")
    row("  queue pickup p50 / p95 (created->started)", lambda s: ms_pair(s.pickup_ms))
    row("  job p50 / p95 (started->insights written)", lambda s: ms_pair(s.job_ms))
    row("model calls / runs", lambda s: f"{s.model_calls} / {len(s.runs)}")
    row("insights per run (from the model)", lambda s: insight_counts(s.insights))
    extra = p50[model.name] - p50[rules.name]
    ratios = [f"{name} {m[model.name] / m[rules.name]:.1f}x" for name, m in (("p50", p50), ("p95", p95))]
    print(
        f"\nwith model - rules-only, p50: {extra:+.0f} ms (the stand-in answers after "
        f"{MODEL_DELAY * 1000:.0f} ms); ratio with model / rules-only: {', '.join(ratios)}"
    )


def ms_pair(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} / {percentile(samples, 0.95):.0f} ms"


def insight_counts(runs: list[list[str]]) -> str:
    total = statistics.median(len(sources) for sources in runs)
    llm = statistics.median(sources.count("LLM") for sources in runs)
    return f"{total:.0f} ({llm:.0f})"


async def main() -> None:
    started = time.perf_counter()
    report(await measure())
    print(f"\nanalysis bench time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":  # the analysis part alone: python -m bench.analysis (or python -m bench analysis)
    asyncio.run(main())
