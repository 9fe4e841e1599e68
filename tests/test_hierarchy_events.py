"""The change log of the hierarchy as a `recordChanged` subscriber hears it: an update that changes nothing
leaves no trace, and a parent reopened by its subtask is reported with it."""

from __future__ import annotations

from typing import Any

from tests import test_realtime
from tests.hierarchy import STATUS, act, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient
from tests.test_realtime import listen, what
from tests.ws import signed_in

origin = test_realtime.origin  # a cursor from before any user here existed (see test_realtime)
STATUS_FIELDS = ["completedAt", "kanbanColumn", "status"]


async def test_an_update_that_changes_nothing_leaves_no_change_event(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    pillar = await make_pillar(alice, name="Health")
    area = await make_area(alice, pillar, name="Fitness")
    project = await make_project(alice, area, name="Run a 10k")
    other = await make_task(alice, project, "Warm up")
    task = await make_task(alice, project, "Run", dependencyIds=[other])
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        unchanged: dict[str, dict[str, Any]] = {
            "pillar": {"id": pillar, "name": "Health"},
            "area": {"id": area, "name": "Fitness", "pillarId": pillar},
            "project": {"id": project, "name": "Run a 10k", "areaId": area},
            "task": {"id": task, "name": "Run", "status": "TODO", "dependencyIds": [other]},
        }
        for kind, fields in unchanged.items():
            payload = await alice.mutate(f"{kind}Update", fields, f"{kind} {{ version }}")
            assert payload == {kind: {"version": 1}, "userErrors": []}, kind
        await alice.mutate("pillarUpdate", {"id": pillar, "name": "Vitality"}, "pillar { id }")
        [renamed] = await ws.changes(op, 1)  # the first change after the no-ops is this one
        assert what(renamed) == ("UPDATED", "PILLAR", pillar)
        assert renamed["changedFields"] == ["name"]


async def test_a_parent_reopened_by_its_subtask_is_reported_with_it(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    project = await make_project(alice, await make_area(alice, await make_pillar(alice)))
    parent = await make_task(alice, project, "parent", subtasksRequired=True)
    child = await make_task(alice, project, "child", parentId=parent)
    for done in (child, parent):
        await act(alice, "taskComplete", {"id": done}, "task { id }", STATUS)
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        reopened = await act(alice, "taskReopen", {"id": child}, "task { status }", STATUS)
        assert reopened == {"task": {"status": "TODO"}, "userErrors": []}
        changes = await ws.changes(op, 2)
        assert [what(c) for c in changes] == [("UPDATED", "TASK", child), ("UPDATED", "TASK", parent)]
        assert [c["changedFields"] for c in changes] == [STATUS_FIELDS, STATUS_FIELDS]
        await ws.nothing_more(op)
