"""Small helpers for tests of the pillar → area → project → task hierarchy over GraphQL."""

from __future__ import annotations

from typing import Any

from tests.support import GraphQLClient


def problems(payload: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """The userErrors of a payload as (field path, code), in order."""
    return [(tuple(e["field"] or ()), e["code"]) for e in payload["userErrors"]]


async def create(
    client: GraphQLClient, kind: str, fields: dict[str, Any], selection: str = "id version"
) -> dict[str, Any]:
    payload = await client.mutate(f"{kind}Create", fields, f"{kind} {{ {selection} }}")
    assert payload["userErrors"] == [], payload
    node: dict[str, Any] = payload[kind]
    return node


async def make_pillar(client: GraphQLClient, **fields: Any) -> str:
    return str((await create(client, "pillar", {"name": "Health", **fields}))["id"])


async def make_area(client: GraphQLClient, pillar_id: str, **fields: Any) -> str:
    return str((await create(client, "area", {"pillarId": pillar_id, "name": "Fitness", **fields}))["id"])


async def make_project(client: GraphQLClient, area_id: str, **fields: Any) -> str:
    return str((await create(client, "project", {"areaId": area_id, "name": "Run a 10k", **fields}))["id"])


async def make_task(client: GraphQLClient, project_id: str, name: str = "Run", **fields: Any) -> str:
    return str((await create(client, "task", {"projectId": project_id, "name": name, **fields}))["id"])


async def chain(client: GraphQLClient) -> tuple[str, str, str]:
    """A fresh pillar → area → project; returns their ids."""
    pillar = await make_pillar(client)
    area = await make_area(client, pillar)
    return pillar, area, await make_project(client, area)


async def total(client: GraphQLClient, list_name: str, filter: str = "") -> int:
    args = f"(filter: {{{filter}}})" if filter else ""
    data = await client.ok(f"{{ {list_name}{args} {{ totalCount }} }}")
    count: int = data[list_name]["totalCount"]
    return count


async def node(client: GraphQLClient, node_id: str, selection: str = "") -> dict[str, Any] | None:
    """``node(id:)`` with its id and ``selection`` (fragments on the concrete type)."""
    data = await client.ok("query($id: ID!) { node(id: $id) { id " + selection + " } }", {"id": node_id})
    found: dict[str, Any] | None = data["node"]
    return found


async def act(
    client: GraphQLClient, name: str, input: dict[str, Any], selection: str, input_type: str = "IdInput"
) -> dict[str, Any]:
    """A mutation whose input type is shared (delete, archive, complete …) rather than named after it."""
    data = await client.ok(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection}"
        " userErrors { field message code } } }",
        {"input": input},
    )
    payload: dict[str, Any] = data[name]
    return payload


NAME = ("input", "name")
STATUS = "TaskStatusInput"
