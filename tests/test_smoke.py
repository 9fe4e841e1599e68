from __future__ import annotations

from tests.support import GraphQLClient


async def test_register_and_create_pillar(alice: GraphQLClient) -> None:
    payload = await alice.mutate(
        "pillarCreate", {"name": "Health", "timeAllocation": 30}, "pillar { id name timeAllocation version }"
    )
    assert payload["userErrors"] == []
    assert payload["pillar"]["name"] == "Health"
    data = await alice.ok("{ viewer { email } pillars { totalCount nodes { name progress { percent } } } }")
    assert data["pillars"]["totalCount"] == 1
