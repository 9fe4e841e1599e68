"""What each arm is asked, and how its answers are read: Aurum's GraphQL, PostGraphile 4's GraphQL for the
same selection (its own names: ``allPillars``, ``areasByPillarIdAndUserId`` …, with ``orderBy`` and
``condition`` saying what Aurum's defaults say), and the raw floor's routes.

``tree_rows`` and ``task_row`` bring any arm's answer to one form, ids as UUIDs, so that the bench can require
the same answer from all three before it times any of them (``checked_tree``). The plain tree asks the tasks
for no computed fields; its rows must be the full tree's without them (``plain_rows``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from aurum.ids import parse_global_id, to_global_id
from bench.accounts import Account
from bench.loadgen import Accept, request_bytes

AURUM, POSTGRAPHILE, FLOOR = "Aurum", "PostGraphile 4", "raw"
ARMS = (AURUM, POSTGRAPHILE, FLOOR)

TASK_FIELDS = "name status dueDate isOverdue canStart"
# The plain tree: the same tasks without the computed fields, which PostGraphile answers by calling SQL
# functions PostgreSQL cannot inline (bench/postgraphile/computed.sql).
PLAIN_FIELDS = "name status dueDate"
ORDER = "orderBy: [SORT_ORDER_ASC, CREATED_AT_ASC, ID_ASC]"  # Aurum's SORT_ORDER: sort order, creation, id
# Every level asks for a page of 100, as a client would, whatever the account holds: one document for both
# sizes (each level of the bench's accounts has at most 100 under a parent, so the page holds them all).
PAGE = 100


def aurum_tree(page: int = PAGE, fields: str = TASK_FIELDS) -> str:
    return f"""{{ pillars(first: {page}) {{ nodes {{ id name
  areas(first: {page}) {{ nodes {{ id name
    projects(first: {page}) {{ nodes {{ id name
      tasks(first: {page}) {{ nodes {{ id {fields} }} }}
    }} }} }} }} }} }} }}"""


def postgraphile_tree(page: int = PAGE, fields: str = TASK_FIELDS) -> str:
    """Aurum's defaults said out loud: active pillars, areas and projects, top-level tasks, by sort order."""
    active = "condition: { archived: false }"
    return f"""{{ allPillars(first: {page}, {ORDER}, {active}) {{ nodes {{ nodeId name
  areasByPillarIdAndUserId(first: {page}, {ORDER}, {active}) {{ nodes {{ nodeId name
    projectsByAreaIdAndUserId(first: {page}, {ORDER}, {active}) {{ nodes {{ nodeId name
      tasksByProjectIdAndUserId(first: {page}, {ORDER}, condition: {{ parentId: null }}) {{
        nodes {{ nodeId {fields} }} }}
    }} }} }} }} }} }} }}"""


AURUM_NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Task {{ id {TASK_FIELDS} }} }} }}"
POSTGRAPHILE_NODE = f"query($id: ID!) {{ node(nodeId: $id) {{ ... on Task {{ nodeId {TASK_FIELDS} }} }} }}"
AURUM_CREATE = (
    "mutation($input: TaskCreateInput!) { taskCreate(input: $input) {"
    " task { id name } userErrors { message } } }"
)
POSTGRAPHILE_CREATE = (
    "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { nodeId name } } }"
)
CREATED_NAME = "Created by the bench"


def postgraphile_id(table: str, value: uuid.UUID) -> str:
    """PostGraphile 4's node id: base64 of the JSON ``[table, primary key]``."""
    return base64.b64encode(json.dumps([table, str(value)], separators=(",", ":")).encode()).decode()


def uuid_of(node_id: str) -> uuid.UUID:
    """The UUID behind an Aurum global id or a PostGraphile node id."""
    parsed = parse_global_id(node_id)
    if parsed is not None:
        return parsed[1]
    return uuid.UUID(json.loads(base64.b64decode(node_id))[1])


def graphql_ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"errors"' not in body


def node_ok(status: int, body: bytes) -> bool:
    return graphql_ok(status, body) and b'"node":null' not in body


def created_ok(status: int, body: bytes) -> bool:
    return graphql_ok(status, body) and b'"userErrors":[]' in body


def postgraphile_created_ok(status: int, body: bytes) -> bool:
    return graphql_ok(status, body) and b'"task":{' in body


@dataclass(frozen=True)
class Ask:
    """One request of a workload for one arm, ready to send, and what answers it."""

    request: bytes
    accept: Accept


def _graphql(port: int, account: Account, query: str, variables: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return request_bytes(port, "/graphql", body, account.bearer)


def tree(arm: str, port: int, account: Account, plain: bool = False) -> Ask:
    """The tree, or with ``plain`` the plain tree (no computed fields): the floor's ``/plain-tree``."""
    assert max(account.shape.counts) <= PAGE, "a page would not hold every row"
    fields = PLAIN_FIELDS if plain else TASK_FIELDS
    if arm == AURUM:
        return Ask(_graphql(port, account, aurum_tree(fields=fields)), graphql_ok)
    if arm == POSTGRAPHILE:
        return Ask(_graphql(port, account, postgraphile_tree(fields=fields)), graphql_ok)
    route = "/plain-tree" if plain else "/tree"
    return Ask(request_bytes(port, route, {"first": PAGE}, account.bearer), _ok)


def node(arm: str, port: int, account: Account, task: uuid.UUID) -> Ask:
    if arm == AURUM:
        variables = {"id": to_global_id("Task", task)}
        return Ask(_graphql(port, account, AURUM_NODE, variables), node_ok)
    if arm == POSTGRAPHILE:
        variables = {"id": postgraphile_id("tasks", task)}
        return Ask(_graphql(port, account, POSTGRAPHILE_NODE, variables), node_ok)
    body = {"id": to_global_id("Task", task)}
    return Ask(request_bytes(port, "/node", body, account.bearer), node_ok)


def create(arm: str, port: int, account: Account) -> Ask:
    assert account.project_id is not None
    if arm == AURUM:
        fields = {"projectId": to_global_id("Project", account.project_id), "name": CREATED_NAME}
        return Ask(_graphql(port, account, AURUM_CREATE, {"input": fields}), created_ok)
    if arm == POSTGRAPHILE:
        task = {"projectId": str(account.project_id), "userId": str(account.user_id), "name": CREATED_NAME}
        return Ask(
            _graphql(port, account, POSTGRAPHILE_CREATE, {"input": {"task": task}}), postgraphile_created_ok
        )
    body = {"projectId": to_global_id("Project", account.project_id), "name": CREATED_NAME}
    return Ask(request_bytes(port, "/create", body, account.bearer), created_ok)


def _ok(status: int, body: bytes) -> bool:
    return status == 200


# --- answers in one form ---

Row = tuple[Any, ...]
COMPUTED = ("isOverdue", "canStart")
PLAIN_WIDTH = 7  # a tree row's pillar, area and project, then the task's id, name, status and due date


def task_row(task: dict[str, Any]) -> Row:
    """The task's id, name, status and due date, then the computed fields the answer holds (none in a plain
    tree's: a plain answer carrying them differs from one without, so no arm can answer more or less)."""
    node_id = task.get("id") or task["nodeId"]
    plain = (uuid_of(node_id), task["name"], task["status"].lower(), task["dueDate"])
    return plain + tuple(task[name] for name in COMPUTED if name in task)


def _nodes(parent: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    for name in names:
        if name in parent:
            found: list[dict[str, Any]] = parent[name]["nodes"]
            return found
    raise KeyError(f"none of {names} in {sorted(parent)}")


def tree_rows(body: bytes) -> list[Row]:
    """Every task of a tree answer with the ids of its pillar, area and project, in the answer's order."""
    data = orjson.loads(body)["data"]
    rows: list[Row] = []
    level: Callable[[dict[str, Any]], uuid.UUID] = lambda n: uuid_of(n.get("id") or n["nodeId"])  # noqa: E731
    for pillar in _nodes(data, "pillars", "allPillars"):
        for area in _nodes(pillar, "areas", "areasByPillarIdAndUserId"):
            for project in _nodes(area, "projects", "projectsByAreaIdAndUserId"):
                for task in _nodes(project, "tasks", "tasksByProjectIdAndUserId"):
                    rows.append((level(pillar), level(area), level(project), *task_row(task)))
    return rows


def plain_rows(rows: list[Row]) -> list[Row]:
    """Tree rows without their computed fields: what the plain tree's answer must be."""
    return [row[:PLAIN_WIDTH] for row in rows]


def node_row(body: bytes) -> Row:
    return task_row(orjson.loads(body)["data"]["node"])


def created_id(body: bytes) -> uuid.UUID:
    data = orjson.loads(body)["data"]
    payload = data.get("taskCreate") or data["createTask"]
    task = payload["task"]
    return uuid_of(task.get("id") or task["nodeId"])


def checked_tree(
    workload: str, trees: dict[str, list[Row]], total: int, full: list[Row] | None = None
) -> list[Row]:
    """Aurum's rows hold ``total`` tasks, with the computed fields, or for a plain tree the ``full`` tree's
    rows without them, and every arm's are the same; returns Aurum's."""
    reference = trees[AURUM]
    if len(reference) != total:
        raise RuntimeError(f"Aurum's {workload} has {len(reference)} tasks, not {total}")
    if full is None:
        expected = all(len(r) == PLAIN_WIDTH + len(COMPUTED) for r in reference)
    else:
        expected = reference == plain_rows(full)
    if not expected:
        raise RuntimeError(f"Aurum's {workload} is not the tree it should be: {reference[0]}")
    for arm, rows in trees.items():
        if rows != reference:
            wrong = next((a, b) for a, b in zip(rows, reference, strict=False) if a != b) if rows else ()
            raise RuntimeError(f"{arm}'s {workload} differs from Aurum's ({len(rows)} tasks); first: {wrong}")
    return reference
