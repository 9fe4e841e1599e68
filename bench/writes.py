"""Writes as an account grows: tasks created one by one over HTTP, as a client creates them.

One ``aurum serve`` subprocess, with its in-process worker (as ``make run`` runs it), on embedded PostgreSQL
and Redis in a temporary directory. Each create is the client's own ``TaskCreate`` document, sent after the
previous answer came back. Measured:

- **import**: a fresh account with 5 pillars x 4 areas x 5 projects (made over the API) gets 2,000 tasks one
  by one, spread over its projects; creates per minute in windows as it grows (around 300 and 1,700 tasks),
  and the whole import including the scoring job catching up (target: under a minute);
- **grown accounts**: accounts of 200 and 20,000 tasks (bulk-loaded as the versus bench loads them: a
  quarter completed, some waiting for another) get 200 more, one by one; creates per minute at each size
  (target: at 20,000 within 20 % of that at 200), once their scores are current and the minutely scan has
  sent the reminders of what was loaded overdue. The sizes take turns, a quarter of their creates at a
  time (the order reversed every other round), so that both meet the same load from whatever else the
  machine runs: the ratio is then of the account's size, not of the moment.

"Catching up" is the time from the last answer until the person's scores are current again (the scoring
job has scored every change, ``hrm_score_state``). Server CPU is the ``aurum serve`` process's own (API and
worker), per create, over the same span. ``create_throughput`` is the reusable part: give it a client, an
account and its projects.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from aurum.ids import parse_global_id, to_global_id
from bench.accounts import Shape, hierarchy
from bench.addresses import own_address
from bench.realtime import REGISTER, Engines, engines, free_port, serve_env, wait_healthy

PILLARS, AREAS, PROJECTS = 5, 4, 5
IMPORT_TASKS = 2_000
IMPORT_WINDOWS = ((200, 400), (1_600, 1_800))  # creates per minute measured while the account is this big
IMPORT_TARGET_SECONDS = 60.0
GROWN_SIZES = (200, 20_000)
GROWN_CREATES = 200
GROWN_ROUNDS = 4  # turns the sizes take
RATIO_TARGET = 0.8  # creates per minute at the largest size / at the smallest
CATCH_UP_TIMEOUT = 600.0

# The client's document (client/operations/hierarchy.graphql, TaskCreate with its fragments).
TASK_CREATE = """mutation TaskCreate($input: TaskCreateInput!) {
  taskCreate(input: $input) {
    task { ...TaskFields project { id } }
    userErrors { ...UserErrorFields }
  }
}
fragment TaskFields on Task {
  id name status kanbanColumn priority dueDate dueTime estimatedMinutes energy category isOverdue canStart
  completedAt sortOrder version updatedAt
}
fragment UserErrorFields on UserError { field message code }"""
CREATE = (
    "mutation($input: {type}CreateInput!) {{ {name}Create(input: $input) {{"
    " {name} {{ id }} userErrors {{ message }} }} }}"
)
SCORES_BEHIND = (
    "SELECT coalesce(bool_or(generation > scored_generation), false) FROM hrm_score_state WHERE user_id = $1"
)
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
ENERGIES = (None, "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class Account:
    """A person signed in over HTTP, with the projects their tasks go into."""

    http: httpx.AsyncClient
    token: str
    user_id: uuid.UUID
    project_ids: Sequence[str]  # global ids
    headers: dict[str, str]

    async def ok(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        payload: dict[str, Any] = next(iter(body["data"].values()))
        if payload.get("userErrors"):
            raise RuntimeError(payload["userErrors"])
        return payload


@dataclass(frozen=True)
class CreateRun:
    """Creates sent one by one: how fast, and how long the scores took to be current afterwards."""

    tasks_before: int
    creates: int
    seconds: float  # first send to last answer
    catch_up_seconds: float  # last answer to scores current
    server_cpu_ms: float | None = None  # the server process, per create, over both spans
    window_rates: tuple[tuple[int, int, float], ...] = ()  # (from, to, creates per minute)

    @property
    def per_minute(self) -> float:
        return 60 * self.creates / self.seconds if self.seconds else 0.0

    @property
    def total_seconds(self) -> float:
        return self.seconds + self.catch_up_seconds


def task_input(project_id: str, n: int) -> dict[str, Any]:
    """The n-th task of an import: varied as real ones are (priorities, some due dates and energies)."""
    fields: dict[str, Any] = {"projectId": project_id, "name": f"Imported task {n}"}
    fields["priority"] = PRIORITIES[n % len(PRIORITIES)]
    if n % 3 == 0:
        fields["dueDate"] = (date.today() + timedelta(days=n % 40 - 5)).isoformat()
    if energy := ENERGIES[n % len(ENERGIES)]:
        fields["energy"] = energy
    if n % 5 == 0:
        fields["estimatedMinutes"] = 15 + n % 120
    return fields


async def scores_behind(connection: asyncpg.Connection, user_id: uuid.UUID) -> bool:
    return bool(await connection.fetchval(SCORES_BEHIND, user_id))


async def caught_up(connection: asyncpg.Connection, user_id: uuid.UUID, timeout: float) -> float:
    """Seconds until the person's scores are current (the scoring job has scored every change)."""
    start = time.perf_counter()
    while await scores_behind(connection, user_id):
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the scores were not current after {timeout:.0f} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def create_throughput(
    account: Account,
    connection: asyncpg.Connection,
    count: int,
    *,
    tasks_before: int = 0,
    windows: Sequence[tuple[int, int]] = (),
    server: psutil.Process | None = None,
    spread_from: int = 0,
) -> CreateRun:
    """Create ``count`` tasks one by one over HTTP (each after the previous answer), spread over the
    account's projects (the first into project ``spread_from``, the next into the next); then wait for the
    scoring job to catch up. ``connection`` reads the score state (any role that sees ``hrm_score_state``);
    ``windows`` (account sizes) get creates per minute of their own; ``server``, the serving process, gets
    its CPU time counted."""
    projects = account.project_ids
    sent_at: list[float] = []
    cpu_before = _cpu(server)
    start = time.perf_counter()
    for n in range(count):
        sent_at.append(time.perf_counter())
        project = projects[(spread_from + n) % len(projects)]
        await account.ok(TASK_CREATE, {"input": task_input(project, tasks_before + n)})
    seconds = time.perf_counter() - start
    catch_up = await caught_up(connection, account.user_id, CATCH_UP_TIMEOUT)
    cpu_after = _cpu(server)
    sent_at.append(start + seconds)
    rates = []
    for low, high in windows:
        first, last = max(0, low - tasks_before), min(count, high - tasks_before)
        if last > first:
            rates.append((low, high, 60 * (last - first) / (sent_at[last] - sent_at[first])))
    cpu = (cpu_after - cpu_before) * 1000 / count if server is not None and count else None
    return CreateRun(tasks_before, count, seconds, catch_up, cpu, tuple(rates))


def combined(runs: Sequence[CreateRun]) -> CreateRun:
    """Runs on one account as one: their creates, sending time and catch-up waits added up."""
    creates = sum(run.creates for run in runs)
    spent = [run.server_cpu_ms * run.creates for run in runs if run.server_cpu_ms is not None]
    cpu = sum(spent) / creates if spent and creates else None
    seconds = sum(run.seconds for run in runs)
    return CreateRun(runs[0].tasks_before, creates, seconds, sum(run.catch_up_seconds for run in runs), cpu)


def _cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


# --- the server and the accounts ---


@asynccontextmanager
async def aurum_serve(directory: Path, found: Engines) -> AsyncIterator[tuple[str, psutil.Process]]:
    """``aurum serve`` (API and worker, as ``make run``) on a free port, healthy on entry."""
    port = free_port()
    aurum = Path(sys.executable).with_name("aurum")
    with tempfile.TemporaryFile("w+", dir=directory) as log:
        process = await asyncio.create_subprocess_exec(
            *(str(aurum), "serve", "--host", "127.0.0.1", "--port", str(port)),
            # A long import outlives a 15-minute access token; a client would refresh it, the bench need not.
            env=serve_env(found, directory / "data", AURUM_ACCESS_TOKEN_MINUTES="1440"),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
        url = f"http://127.0.0.1:{port}"

        def output() -> str:
            log.seek(0)
            return log.read()[-4000:]

        try:
            await wait_healthy(url, process, output)
            yield url, psutil.Process(process.pid)
        finally:
            if process.returncode is None:
                process.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 30)
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            if "Traceback" in output():
                print(f"aurum serve logged a traceback:\n{output()}", file=sys.stderr)


async def sign_up(http: httpx.AsyncClient) -> tuple[str, uuid.UUID, dict[str, str]]:
    address = own_address()
    email = f"writes-{uuid.uuid4().hex[:8]}@example.com"
    variables = {"input": {"email": email, "password": "correct horse battery"}}
    body = (
        await http.post("/graphql", json={"query": REGISTER, "variables": variables}, headers=address)
    ).json()
    payload = body["data"]["accountRegister"]
    if payload["userErrors"]:
        raise RuntimeError(payload["userErrors"])
    parsed = parse_global_id(payload["user"]["id"])
    assert parsed is not None
    return (
        payload["accessToken"],
        uuid.UUID(str(parsed[1])),
        {**address, "authorization": f"Bearer {payload['accessToken']}"},
    )


async def hierarchy_over_http(http: httpx.AsyncClient) -> Account:
    """A fresh account whose pillars, areas and projects are made over the API."""
    token, user_id, headers = await sign_up(http)
    account = Account(http, token, user_id, [], headers)
    projects: list[str] = []
    for p in range(PILLARS):
        pillar = await _create(account, "pillar", {"name": f"Pillar {p}", "timeAllocation": 10 + 5 * p})
        for a in range(AREAS):
            area = await _create(account, "area", {"pillarId": pillar, "name": f"Area {p}.{a}"})
            for j in range(PROJECTS):
                projects.append(
                    await _create(account, "project", {"areaId": area, "name": f"Project {p}.{a}.{j}"})
                )
    return Account(http, token, user_id, projects, headers)


async def _create(account: Account, kind: str, fields: dict[str, Any]) -> str:
    query = CREATE.format(type=kind[0].upper() + kind[1:], name=kind)
    return str((await account.ok(query, {"input": fields}))[kind]["id"])


async def grown_account(http: httpx.AsyncClient, connection: asyncpg.Connection, tasks: int) -> Account:
    """A fresh account bulk-loaded with ``tasks`` tasks, its scores current."""
    token, user_id, headers = await sign_up(http)
    # Laid out as the versus bench lays its accounts out (a quarter completed, every fifth waiting).
    tables = hierarchy(
        user_id, Shape(PILLARS, AREAS, PROJECTS, max(1, tasks // (PILLARS * AREAS * PROJECTS)))
    )
    projects = [record[0] for record in tables["projects"][1]]
    async with connection.transaction():
        for table, (columns, records) in tables.items():
            await connection.copy_records_to_table(table, records=records, columns=columns)
    account = Account(http, token, user_id, [to_global_id("Project", p) for p in projects], headers)
    # A write of the person's own makes the job score what was loaded behind the API's back.
    await account.ok(TASK_CREATE, {"input": task_input(account.project_ids[0], 0)})
    await caught_up(connection, user_id, CATCH_UP_TIMEOUT)
    # What autovacuum does within a minute or so of writes this many (the versus bench too, after its load):
    # without it, plans cached while the tables were small stay, and the measure is of those, not of the
    # account's size. After the first pass, which wrote a score and an event for every open task.
    await connection.execute("ANALYZE")
    return account


# --- the runs ---


async def measure(
    import_tasks: int = IMPORT_TASKS, sizes: Sequence[int] = GROWN_SIZES, creates: int = GROWN_CREATES
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aurum-writes-") as name:
        directory = Path(name)
        async with (
            engines(directory) as found,
            aurum_serve(directory, found) as (url, server),
            httpx.AsyncClient(base_url=url, timeout=600) as http,
        ):
            connection = await asyncpg.connect("postgresql://" + found.database_url.split("://", 1)[1])
            try:
                account = await hierarchy_over_http(http)
                imported = await create_throughput(
                    account, connection, import_tasks, windows=IMPORT_WINDOWS, server=server
                )
                print(f"imported {import_tasks} tasks in {imported.total_seconds:.1f} s", file=sys.stderr)
                grown = await grown_runs(http, connection, sizes, creates, server)
                for size, run in grown.items():
                    print(f"{size} tasks: {run.per_minute:.0f} creates a minute", file=sys.stderr)
            finally:
                await connection.close()
    return {"import": imported, "grown": grown}


REMINDED = "SELECT count(DISTINCT user_id) FROM notifications WHERE user_id = ANY($1::uuid[])"


async def reminded(connection: asyncpg.Connection, users: Sequence[uuid.UUID], timeout: float) -> None:
    """Until the minutely scan has sent these people the reminders of what was loaded (every grown account
    has overdue tasks): a quarter of a loaded account is overdue at once, as no account's tasks fall due in
    use, and the measure is of creates, not of that one burst."""
    start = time.perf_counter()
    while await connection.fetchval(REMINDED, list(users)) < len(users):
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"no reminders after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def grown_runs(
    http: httpx.AsyncClient,
    connection: asyncpg.Connection,
    sizes: Sequence[int],
    creates: int,
    server: psutil.Process,
) -> dict[int, CreateRun]:
    """``creates`` tasks for an account of each size, the sizes taking turns (``GROWN_ROUNDS``)."""
    accounts = {size: await grown_account(http, connection, size) for size in sizes}
    await reminded(connection, [account.user_id for account in accounts.values()], CATCH_UP_TIMEOUT)
    runs: dict[int, list[CreateRun]] = {size: [] for size in sizes}
    for turn in range(GROWN_ROUNDS):
        for size in sizes if turn % 2 == 0 else tuple(reversed(sizes)):
            made = sum(run.creates for run in runs[size])
            count = creates * (turn + 1) // GROWN_ROUNDS - made
            if count:
                run = await create_throughput(
                    accounts[size],
                    connection,
                    count,
                    tasks_before=size + 1 + made,
                    server=server,
                    spread_from=made,
                )
                runs[size].append(run)
    return {size: combined(found) for size, found in runs.items() if found}


def _row(label: str, creates: int, rate: float, catch_up: float | None, cpu: float | None) -> str:
    waited = f"{catch_up:.2f}" if catch_up is not None else ""
    spent = f"{cpu:.1f}" if cpu is not None else ""
    return f"{label:34}{creates:>8}{rate:>10.0f}{waited:>12}{spent:>15}"


def report(result: dict[str, Any]) -> None:
    imported: CreateRun = result["import"]
    grown: dict[int, CreateRun] = result["grown"]
    print("\nWrites: tasks created one by one over HTTP (aurum serve with its worker)\n")
    print(f"{'':34}{'creates':>8}{'per min':>10}{'catch-up s':>12}{'server CPU ms':>15}")
    for low, high, rate in imported.window_rates:
        print(_row(f"import, at {low:,}-{high:,} tasks", high - low, rate, None, None))
    whole = f"import of {imported.creates:,}, whole"
    print(
        _row(whole, imported.creates, imported.per_minute, imported.catch_up_seconds, imported.server_cpu_ms)
    )
    for size, run in grown.items():
        print(
            _row(
                f"account of {size:,} tasks",
                run.creates,
                run.per_minute,
                run.catch_up_seconds,
                run.server_cpu_ms,
            )
        )
    total = imported.total_seconds
    verdict = "PASS" if total < IMPORT_TARGET_SECONDS else "MISS"
    print(
        f"\nimport of {imported.creates:,} tasks with scores current: {total:.1f} s"
        f" (target < {IMPORT_TARGET_SECONDS:.0f} s: {verdict})"
    )
    if len(grown) > 1:
        small, large = min(grown), max(grown)
        ratio = grown[large].per_minute / grown[small].per_minute
        verdict = "PASS" if ratio >= RATIO_TARGET else "MISS"
        print(
            f"creates per minute at {large:,} / at {small:,} tasks: {ratio:.2f}"
            f" (target >= {RATIO_TARGET}: {verdict})"
        )


async def main(arguments: Sequence[str] = ()) -> None:
    """``python -m bench writes [IMPORT_TASKS [CREATES [SIZE ...]]]``: the defaults are the targets' runs."""
    numbers = [int(a) for a in arguments]
    import_tasks = numbers[0] if numbers else IMPORT_TASKS
    creates = numbers[1] if len(numbers) > 1 else GROWN_CREATES
    sizes = tuple(numbers[2:]) or GROWN_SIZES
    report(await measure(import_tasks, sizes, creates))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
