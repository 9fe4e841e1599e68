"""An update of a user-owned row (pillars, areas, projects, journal templates): one UPDATE … RETURNING
after the row is locked, a new version only when something changed, CONFLICT when the row moved on."""

from __future__ import annotations

from tests.hierarchy import make_area, make_pillar
from tests.support import GraphQLClient, StatementCounter

SELECTION = "pillar { id name description version updatedAt }"


async def test_an_update_locks_the_row_and_writes_it_in_one_statement(
    alice: GraphQLClient, statements: StatementCounter
) -> None:
    pillar = await make_pillar(alice, name="Before")
    before = (await alice.mutate("pillarUpdate", {"id": pillar}, SELECTION))["pillar"]
    statements.statements.clear()
    changed = await alice.mutate("pillarUpdate", {"id": pillar, "name": "After"}, SELECTION)
    assert changed["userErrors"] == []
    after = changed["pillar"]
    assert (after["name"], after["description"]) == ("After", before["description"])
    assert after["version"] == before["version"] + 1
    assert after["updatedAt"] > before["updatedAt"]
    writes = [s for s in statements.statements if "pillars" in s]
    assert len(writes) == 2, statements.statements
    assert "FOR UPDATE" in writes[0]
    assert writes[1].lstrip().startswith("UPDATE pillars")
    assert "RETURNING" in writes[1]
    read = await alice.ok(
        "query($id: ID!) { node(id: $id) { ... on Pillar { name version } } }", {"id": pillar}
    )
    assert read["node"] == {"name": "After", "version": after["version"]}


async def test_an_update_that_changes_nothing_writes_nothing(
    alice: GraphQLClient, statements: StatementCounter
) -> None:
    pillar = await make_pillar(alice, name="Same")
    first = (await alice.mutate("pillarUpdate", {"id": pillar, "name": "Same"}, SELECTION))["pillar"]
    statements.statements.clear()
    again = await alice.mutate("pillarUpdate", {"id": pillar, "name": "Same"}, SELECTION)
    assert again["pillar"] == first
    assert not [s for s in statements.statements if s.lstrip().startswith("UPDATE")], statements.statements


async def test_an_update_of_a_version_moved_on_is_a_conflict(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice, name="Health")
    area = await make_area(alice, pillar, name="Sleep")
    version = (await alice.mutate("areaUpdate", {"id": area}, "area { version }"))["area"]["version"]
    moved = await alice.mutate(
        "areaUpdate", {"id": area, "name": "Rest", "expectedVersion": version}, "area { name version }"
    )
    assert moved["area"] == {"name": "Rest", "version": version + 1}
    stale = await alice.mutate(
        "areaUpdate", {"id": area, "name": "Naps", "expectedVersion": version}, "area { name }"
    )
    assert [(e["code"], e["field"]) for e in stale["userErrors"]] == [
        ("CONFLICT", ["input", "expectedVersion"])
    ]
    assert (await alice.mutate("areaUpdate", {"id": area}, "area { name }"))["area"] == {"name": "Rest"}
