"""The bench's other arms (bench/versus.py) give Aurum's answers, so that a fast wrong answer cannot win: the
raw floor's SQL (bench/floor.py), the computed columns given to PostGraphile (bench/postgraphile/computed.sql)
and PostGraphile 4 itself, with the bench's documents, against Aurum's own GraphQL, on a small account whose
overdue tasks show only in the person's time zone and whose tasks wait for open and for completed ones.
PostGraphile's test needs Node and bench/node_modules (``npm ci --prefix bench``) and is skipped without them.

Then the arithmetic of the verdicts against issue 14's targets, and statements counted from a PostgreSQL log.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import pytest
from bench import arms, servers
from bench.arms import ARMS, AURUM, FLOOR, POSTGRAPHILE
from bench.floor import Floor
from bench.loadgen import Sample
from bench.results import Results, Window
from bench.statements import Count, count_of, statements_between
from bench.verdicts import rate_verdict, report, statements_verdict, tree_verdict

from aurum.ids import to_global_id
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.hierarchy import chain, make_task
from tests.support import GraphQLClient, uuid_of

ZONE = "Pacific/Kiritimati"  # UTC+14: a due time an hour ago there is hours ahead in UTC
COMPUTED = Path(__file__).resolve().parents[1] / "bench" / "postgraphile" / "computed.sql"


def moment(delta: timedelta) -> dict[str, str]:
    at = datetime.now(ZoneInfo(ZONE)) + delta
    return {"dueDate": at.date().isoformat(), "dueTime": at.strftime("%H:%M")}


async def small_account(client: GraphQLClient) -> str:
    """Tasks overdue or not in the person's zone, done or not, waiting for open or done ones; the project."""
    _, _, project = await chain(client)
    late = await make_task(client, project, "Late by an hour", **moment(timedelta(hours=-1)))
    await make_task(client, project, "Due in an hour", **moment(timedelta(hours=1)))
    done = await make_task(client, project, "Done late", status="COMPLETED", **moment(timedelta(days=-2)))
    await make_task(client, project, "Due tomorrow", dueDate=moment(timedelta(days=1))["dueDate"])
    await make_task(client, project, "Whenever")
    await make_task(client, project, "Waits for the late one", dependencyIds=[late])
    await make_task(client, project, "Waits for the done one", dependencyIds=[done])
    return project


async def plain_tree(client: GraphQLClient) -> list[arms.Row]:
    """Aurum's answer to the plain tree, in rows."""
    document = arms.aurum_tree(fields=arms.PLAIN_FIELDS)
    return arms.tree_rows(orjson.dumps({"data": await client.ok(document)}))


def asyncpg_url(resources: Resources) -> str:
    assert resources.database_url is not None
    return "postgresql://" + resources.database_url.split("://", 1)[1]


async def test_the_raw_floor_answers_as_aurum_does(
    http: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    alice = await register(http, timezone=ZONE)
    await small_account(await register(http))  # someone else's tasks, which no arm may show
    await small_account(alice)
    expected = arms.tree_rows(orjson.dumps({"data": await alice.ok(arms.aurum_tree())}))
    assert len(expected) == 7
    assert [r[7] for r in expected if r[4] == "Late by an hour"] == [True]  # isOverdue, in her zone
    task = next(r[3] for r in expected if r[4] == "Waits for the late one")

    floor = Floor(asyncpg_url(resources), settings.signing_key)
    await floor.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=floor), base_url="http://floor"
        ) as raw:
            headers = {"authorization": f"Bearer {alice.token}"}
            tree = await raw.post("/tree", json={"first": arms.PAGE}, headers=headers)
            plain = await raw.post("/plain-tree", json={"first": arms.PAGE}, headers=headers)
            node = await raw.post("/node", json={"id": to_global_id("Task", task)}, headers=headers)
            stranger = await raw.post("/tree", json={"first": arms.PAGE})
    finally:
        await floor.stop()
    assert arms.tree_rows(tree.content) == expected
    assert arms.tree_rows(plain.content) == await plain_tree(alice) == arms.plain_rows(expected)
    assert arms.node_row(node.content) == next(r[3:] for r in expected if r[3] == task)
    assert stranger.status_code == 401


async def test_the_computed_columns_given_to_postgraphile_answer_as_aurum_does(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    alice = await register(http, timezone=ZONE)
    await small_account(alice)
    data = await alice.ok(arms.aurum_tree())
    tasks = data["pillars"]["nodes"][0]["areas"]["nodes"][0]["projects"]["nodes"][0]["tasks"]["nodes"]
    expected = {uuid_of(t["id"], "Task"): (t["isOverdue"], t["canStart"]) for t in tasks}
    assert sorted(expected.values()) == [(False, False), *[(False, True)] * 5, (True, True)]

    connection = await asyncpg.connect(asyncpg_url(resources))
    transaction = connection.transaction()
    await transaction.start()
    try:  # created, used and rolled back: the test database keeps none of it
        await connection.execute(COMPUTED.read_text())
        await connection.execute("SET LOCAL ROLE aurum_app")
        await connection.execute(f"SELECT set_config('app.user_id', '{uuid_of(alice.user_id)}', true)")
        rows: list[Any] = await connection.fetch(
            "SELECT t.id, tasks_is_overdue(t) AS overdue, tasks_can_start(t) AS can_start FROM tasks t"
        )
    finally:
        await transaction.rollback()
        await connection.close()
    assert {r["id"]: (r["overdue"], r["can_start"]) for r in rows} == expected


NODE_READY = shutil.which("node") is not None and (servers.NODE_MODULES / "postgraphile").is_dir()


@pytest.mark.skipif(not NODE_READY, reason="needs node and bench/node_modules: npm ci --prefix bench")
async def test_postgraphile_answers_the_benchs_documents_as_aurum_does(
    http: httpx.AsyncClient, resources: Resources, settings: Settings, tmp_path: Path
) -> None:
    alice = await register(http, timezone=ZONE)
    await small_account(await register(http))
    await small_account(alice)
    expected = arms.tree_rows(orjson.dumps({"data": await alice.ok(arms.aurum_tree())}))
    task = next(r[3] for r in expected if r[4] == "Waits for the late one")
    owner = await asyncpg.connect(asyncpg_url(resources))
    try:
        await owner.execute(COMPUTED.read_text())  # before PostGraphile reads the schema
        assert alice.token is not None
        graphile = servers.postgraphile(tmp_path, asyncpg_url(resources), settings.signing_key, alice.token)
        async with graphile as server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as pg:
            headers = {"authorization": f"Bearer {alice.token}"}
            tree = await pg.post("/graphql", json={"query": arms.postgraphile_tree()}, headers=headers)
            document = {"query": arms.postgraphile_tree(fields=arms.PLAIN_FIELDS)}
            plain = await pg.post("/graphql", json=document, headers=headers)
            variables = {"id": arms.postgraphile_id("tasks", task)}
            query = {"query": arms.POSTGRAPHILE_NODE, "variables": variables}
            node = await pg.post("/graphql", json=query, headers=headers)
    finally:
        await owner.execute("DROP FUNCTION IF EXISTS tasks_is_overdue, tasks_can_start")
        await owner.close()
    assert arms.graphql_ok(tree.status_code, tree.content), tree.text
    assert arms.tree_rows(tree.content) == expected
    assert arms.tree_rows(plain.content) == await plain_tree(alice) == arms.plain_rows(expected)
    assert arms.node_row(node.content) == next(r[3:] for r in expected if r[3] == task)


def latencies(aurum: float, postgraphile: float, raw: float) -> dict[str, float]:
    return {AURUM: aurum, POSTGRAPHILE: postgraphile, FLOOR: raw}


def test_the_tree_is_met_only_at_or_below_postgraphile_and_within_3x_raw_on_both_percentiles() -> None:
    assert tree_verdict(latencies(30, 30, 10), latencies(40, 40, 20)).met  # both bounds exactly
    assert not tree_verdict(latencies(20, 30, 10), latencies(41, 40, 20)).met  # p95 above PostGraphile's
    assert not tree_verdict(latencies(31, 40, 10), latencies(30, 40, 20)).met  # p50 past 3x raw
    found = tree_verdict(latencies(15, 30, 10), latencies(20, 40, 10))
    assert found.to_postgraphile == (0.5, 0.5)
    assert found.to_raw == (1.5, 2.0)
    assert found.met


def test_rates_are_met_at_their_share_of_postgraphiles() -> None:
    assert rate_verdict(latencies(170, 340, 900), 0.5) == (0.5, True)
    assert rate_verdict(latencies(169, 340, 900), 0.5)[1] is False
    assert rate_verdict(latencies(400, 369, 900), 0.8)[1] is True


def test_statements_are_equal_when_most_requests_of_both_sizes_take_as_many() -> None:
    def counted(*numbers: int) -> list[Count]:
        return [Count(n, 2) for n in numbers]

    assert statements_verdict(counted(6, 5, 5), counted(5, 5, 5))  # one statement prepared afresh
    assert not statements_verdict(counted(5, 5, 5), counted(7, 7, 7))


IDS = [uuid.UUID(int=n) for n in range(1, 5)]  # a pillar, an area, a project, a task
LEVELS = {
    AURUM: ("pillars", "areas", "projects", "tasks"),
    POSTGRAPHILE: (
        "allPillars",
        "areasByPillarIdAndUserId",
        "projectsByAreaIdAndUserId",
        "tasksByProjectIdAndUserId",
    ),
}


def one_task_tree(arm: str, **computed: bool) -> bytes:
    """A tree answer of one pillar, area, project and task, with its ids and names as ``arm`` gives them."""
    types = ("Pillar", "Area", "Project", "Task")
    below: dict[str, Any] = {"name": "Write", "status": "TODO", "dueDate": "2026-12-07", **computed}
    for level in reversed(range(4)):
        if arm == AURUM:
            node = {"id": to_global_id(types[level], IDS[level]), **below}
        else:
            node = {"nodeId": arms.postgraphile_id(types[level].lower() + "s", IDS[level]), **below}
        below = {"name": types[level], LEVELS[arm][level]: {"nodes": [node]}}
    return orjson.dumps({"data": {LEVELS[arm][0]: below[LEVELS[arm][0]]}})


def test_the_plain_tree_asks_the_same_tree_without_the_computed_fields() -> None:
    for full, plain in (
        (arms.aurum_tree(), arms.aurum_tree(fields=arms.PLAIN_FIELDS)),
        (arms.postgraphile_tree(), arms.postgraphile_tree(fields=arms.PLAIN_FIELDS)),
    ):
        assert [name in full for name in arms.COMPUTED] == [True, True]
        assert [name in plain for name in arms.COMPUTED] == [False, False]
        assert plain == full.replace(" isOverdue canStart", "")


def test_a_plain_answer_reads_as_the_full_rows_without_their_computed_fields() -> None:
    computed = {"isOverdue": True, "canStart": False}
    full = {arm: arms.tree_rows(one_task_tree(arm, **computed)) for arm in LEVELS}
    plain = {arm: arms.tree_rows(one_task_tree(arm)) for arm in LEVELS}
    assert full[AURUM] == full[POSTGRAPHILE] == [(*IDS, "Write", "todo", "2026-12-07", True, False)]
    assert plain[AURUM] == plain[POSTGRAPHILE] == arms.plain_rows(full[AURUM]) == [full[AURUM][0][:7]]

    reference = arms.checked_tree("tree", full, 1)
    assert arms.checked_tree("plain tree", plain, 1, reference) == plain[AURUM]
    with pytest.raises(RuntimeError, match="raw's plain tree differs"):  # answered more than asked
        arms.checked_tree("plain tree", {**plain, FLOOR: full[AURUM]}, 1, reference)
    with pytest.raises(RuntimeError, match="Aurum's plain tree is not"):  # the computed fields again
        arms.checked_tree("plain tree", full, 1, reference)
    with pytest.raises(RuntimeError, match="Aurum's tree is not"):  # the full tree without them
        arms.checked_tree("tree", plain, 1)
    with pytest.raises(RuntimeError, match="has 1 tasks, not 2"):
        arms.checked_tree("plain tree", plain, 2, reference)


LOG = """2026-12-07 16:00:00.001 UTC [101] LOG:  statement: SELECT 'aurum-bench-mark 1'
2026-12-07 16:00:00.002 UTC [102] LOG:  execute __asyncpg_stmt_3__: BEGIN READ ONLY
2026-12-07 16:00:00.003 UTC [102] LOG:  execute __asyncpg_stmt_4__: SELECT set_config('app.user_id', $1, true)
2026-12-07 16:00:00.003 UTC [102] DETAIL:  parameters: $1 = '7d1c'
2026-12-07 16:00:00.004 UTC [103] LOG:  execute <unnamed>: select to_json(
    json_build_object('pillars', x)
  ) from pillars
2026-12-07 16:00:00.005 UTC [102] LOG:  statement: COMMIT
2026-12-07 16:00:00.006 UTC [101] LOG:  statement: SELECT 'aurum-bench-mark 2'
2026-12-07 16:00:00.007 UTC [102] LOG:  statement: SELECT 'after the last marker'
"""


def test_statements_are_counted_between_the_markers_whatever_the_driver() -> None:
    lines = statements_between(LOG, "aurum-bench-mark 1", "aurum-bench-mark 2")
    assert lines is not None
    assert count_of(lines) == Count(4, 2, tuple(lines))
    assert lines[2] == "select to_json("  # a statement of many lines counts once
    assert statements_between(LOG, "aurum-bench-mark 2", "aurum-bench-mark 3") is None  # not logged yet


def synthetic_results() -> Results:
    """A run's findings as bench/versus.py gathers them, made up: Aurum as fast as PostGraphile on the tree,
    at 0.4x its node(id) rate, at 0.9x its create rate."""
    results = Results(cpus=2)
    with results.phases("made up"):
        pass
    per_arm = {AURUM: 1.0, POSTGRAPHILE: 1.0, FLOOR: 0.5}
    rates = {
        "tree 2,000": per_arm,
        "tree 20,000": per_arm,
        "node": {AURUM: 0.4, POSTGRAPHILE: 1.0, FLOOR: 2.0},
    }
    rates["plain tree 2,000"] = {AURUM: 1.0, POSTGRAPHILE: 2.0, FLOOR: 0.5}  # PostGraphile twice as fast
    rates["plain tree 20,000"] = per_arm
    rates["create"] = {AURUM: 0.9, POSTGRAPHILE: 1.0, FLOOR: 2.0}
    for workload, share in rates.items():
        if workload != "create":
            results.latency[workload] = {arm: [10.0 / share[arm]] * 20 for arm in ARMS}
            results.answered[workload] = {"compiled": 60, "resolvers": 0}
        sample = {arm: Sample([5.0] * int(100 * share[arm]), 1.0) for arm in ARMS}
        cpu = {"server": 0.5, "engines": 0.2, "client": 0.01, "worker": 0.0}
        results.windows[workload] = {arm: [Window(sample[arm], cpu)] for arm in ARMS}
        texts = ("BEGIN", "SELECT 1", "COMMIT")
        results.statements[workload] = {arm: [Count(3, 2, texts)] * 3 for arm in ARMS}
    results.tasks = {"tree 2,000": 2000, "tree 20,000": 20000, "plain tree 2,000": 2000}
    return results


def test_the_report_marks_each_target(capsys: pytest.CaptureFixture[str]) -> None:
    report(synthetic_results())
    lines = capsys.readouterr().out.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.startswith(label))

    assert row("nested tree, 2,000 tasks: p50 / p95").endswith("met")
    assert row("nested tree, 20,000 tasks: p50 / p95").endswith("met")
    assert row("plain tree, 2,000 tasks: p50 / p95").split("ms")[-1].split() == [
        *("2.00,", "2.00", "/", "0.5,", "0.5"),  # Aurum ÷ PostGraphile, ÷ raw: p50, p95
        *("<=", "1.0", "/", "<=", "3", "MISSED"),
    ]
    assert row("plain tree, 20,000 tasks: p50 / p95").endswith("met")
    assert row("plain tree, 2,000 tasks, rps at c = 8").split()[-6:] == [
        "100",
        "200",
        "50.0",
        "0.50",
        "/",
        "2.00",
    ]
    assert row("server CPU per request: plain tree 2k / 20k").split("k  ")[-1].split() == [
        *("5.00", "/", "5.00", "ms"),
        *("2.50", "/", "5.00", "ms"),  # PostGraphile's half the CPU at twice the rate
        *("10.0", "/", "10.0", "ms"),
    ]
    assert row("node(id) of one task, rps").endswith("MISSED")
    assert row("taskCreate, rps").endswith("met")
    assert row("SQL statements per request").endswith("met")
    assert any("tree 2,000 60 of 60" in line for line in lines)
    assert any(line.startswith("  made up") for line in lines)  # the load around each phase
