"""One change fanned out to many sockets: the frames each user's sockets get in a burst of writes (the same
bytes for the same document, in order, nobody else's), and the change log read and marked for many users in
one statement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.events.publish import announce_many
from aurum.realtime.reading import read_changes
from aurum.resources import Resources
from tests.hierarchy import act, make_pillar
from tests.support import GraphQLClient, uuid_of
from tests.test_realtime_scale import last_cursor
from tests.ws import GraphQLSocket, signed_in

# What the realtime bench subscribes to: nothing resolved per change, so the payload is ready at once.
LEAN = (
    "subscription($after: String) { recordChanged(after: $after) { cursor operation entityType entityId } }"
)
WITH_NODE = (
    "subscription($after: String) { recordChanged(after: $after) {"
    " cursor operation entityId node { id ... on Pillar { name } } } }"
)
SOCKETS = 6
BURST = 8


@asynccontextmanager
async def sockets(url: str, client: GraphQLClient, count: int) -> AsyncIterator[list[GraphQLSocket]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(signed_in(url, client.token or "")) for _ in range(count)]


async def raw_next(ws: GraphQLSocket, count: int) -> list[str]:
    """The text of the next ``count`` messages, each insisted to be a ``next`` without errors."""
    texts = []
    for _ in range(count):
        raw = await asyncio.wait_for(ws.socket.recv(), 10)
        assert isinstance(raw, str)
        message = json.loads(raw)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        texts.append(raw)
    return texts


def changes(texts: list[str]) -> list[dict[str, Any]]:
    return [json.loads(t)["payload"]["data"]["recordChanged"] for t in texts]


async def burst(client: GraphQLClient, count: int, name: str) -> set[str]:
    """``count`` pillars of the client's, created at once; their global ids."""
    made = await asyncio.gather(*(make_pillar(client, name=f"{name} {i}") for i in range(count)))
    return set(made)


async def test_a_burst_reaches_every_socket_of_its_user_alone_in_order_as_the_same_frames(
    server_url: str, alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    async with (
        sockets(server_url, alice, SOCKETS) as hers,
        sockets(server_url, bob, 2) as his,
        signed_in(server_url, alice.token or "") as with_node,
    ):
        after, bobs_after = await last_cursor(owner, alice), await last_cursor(owner, bob)
        for ws in hers:
            assert await ws.subscribe(LEAN, {"after": after}) == "1"
        for ws in his:
            await ws.subscribe(LEAN, {"after": bobs_after})
        await with_node.subscribe(WITH_NODE, {"after": after})
        # Both users write at once, so that their events are read, rendered and sent in the same rounds.
        alices, bobs = await asyncio.gather(burst(alice, BURST, "Alice's"), burst(bob, BURST, "Bob's"))

        received = [await raw_next(ws, BURST) for ws in hers]
        assert all(texts == received[0] for texts in received), "sockets of one document differ"
        seen = changes(received[0])
        assert {c["entityId"] for c in seen} == alices
        assert all(c["operation"] == "CREATED" and c["entityType"] == "PILLAR" for c in seen)
        cursors = [c["cursor"] for c in seen]
        assert len(set(cursors)) == BURST, cursors
        for ws in his:
            assert {c["entityId"] for c in changes(await raw_next(ws, BURST))} == bobs

        # A selection that resolves the node takes the feed's task: the same changes, in the same order.
        node_changes = changes(await raw_next(with_node, BURST))
        assert [c["cursor"] for c in node_changes] == cursors
        assert [c["node"]["id"] for c in node_changes] == [c["entityId"] for c in seen]

        # Nothing more, and nothing of Bob's, came to Alice's sockets: a change of hers is the next.
        control = await make_pillar(alice, name="Control")
        for ws in [*hers, with_node]:
            [after_burst] = changes(await raw_next(ws, 1))
            assert after_burst["entityId"] == control


async def test_the_change_log_is_read_for_many_users_at_once_each_after_its_position(
    resources: Resources, alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    alice_id, bob_id = uuid_of(alice.user_id), uuid_of(bob.user_id)
    alices_first = await read_changes(resources.engine, [(alice_id, 0)])
    await burst(alice, 3, "Alice's")
    await burst(bob, 2, "Bob's")
    everything = await read_changes(resources.engine, [(alice_id, 0), (bob_id, 0)])
    ids = {user: [c.id for c in found] for user, found in everything.items()}
    assert set(ids) == {alice_id, bob_id}
    assert all(found == sorted(found) and len(set(found)) == len(found) for found in ids.values())
    assert not set(ids[alice_id]) & set(ids[bob_id])
    assert len(ids[alice_id]) == len(alices_first[alice_id]) + 3

    position = ids[alice_id][-3]
    page = await read_changes(resources.engine, [(alice_id, position), (bob_id, 0)], limit=1)
    assert [c.id for c in page[alice_id]] == [ids[alice_id][-2]]
    assert [c.id for c in page[bob_id]] == ids[bob_id][:1]
    async with owner.connect() as connection:
        owners = await connection.execute(
            text("SELECT id, user_id FROM events WHERE id = ANY(:ids)"),
            {"ids": [c.id for found in everything.values() for c in found]},
        )
        assert {row.id: row.user_id for row in owners} == {
            i: user for user, found in ids.items() for i in found
        }


async def test_announcing_marks_every_users_events_in_one_round(
    resources: Resources, alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    alice_id, bob_id = uuid_of(alice.user_id), uuid_of(bob.user_id)
    async with owner.begin() as connection:  # as if no announcement had gone out for either
        await connection.execute(
            text("UPDATE events SET published_at = NULL WHERE user_id = ANY(:users)"),
            {"users": [alice_id, bob_id]},
        )
    await announce_many(resources, [bob_id, alice_id, bob_id])
    async with owner.connect() as connection:
        unmarked = await connection.scalar(
            text("SELECT count(*) FROM events WHERE user_id = ANY(:users) AND published_at IS NULL"),
            {"users": [alice_id, bob_id]},
        )
    assert unmarked == 0


SELECTIONS = [
    "cursor operation entityType entityId changedFields occurredAt __typename",
    "a: entityId b: cursor entityId __typename",
    "cursor cursor operation x: operation changedFields",
]


def payload_text(raw: str) -> str:
    """The payload of a ``next`` message, as the bytes the server wrote."""
    head, _, rest = raw.partition('"payload":')
    assert head.startswith('{"id":'), raw
    assert rest.endswith("}"), raw
    return rest[:-1]


async def test_a_payload_of_the_changes_own_fields_is_what_graphql_core_gives(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    """The same selections built by aurum.realtime.payload and, with an always-true directive on each field
    (which keeps them from it), by graphql-core: byte for byte, for each kind of change."""
    documents = []
    for selection in SELECTIONS:
        included = " ".join(
            part if part.endswith(":") else f"{part} @include(if: true)" for part in selection.split(" ")
        )
        for root in ("recordChanged", "changed: recordChanged"):
            documents.append(
                (
                    f"subscription($after: String) {{ {root}(after: $after) {{ {selection} }} }}",
                    f"subscription($after: String) {{ {root}(after: $after) {{ {included} }} }}",
                )
            )
    async with sockets(server_url, alice, 2) as (built, executed):
        after = await last_cursor(owner, alice)
        for lean, full in documents:
            await built.subscribe(lean, {"after": after})
            await executed.subscribe(full, {"after": after})
        pillar = await make_pillar(alice, name="Before")
        renamed = await alice.mutate("pillarUpdate", {"id": pillar, "name": "After"}, "pillar { id }")
        assert renamed["userErrors"] == []
        assert (await act(alice, "pillarDelete", {"id": pillar}, "deletedId"))["userErrors"] == []
        count = 3 * len(documents)
        left, right = await raw_next(built, count), await raw_next(executed, count)
    by_operation: dict[str, list[str]] = {}
    for texts in (left, right):
        for raw in texts:
            by_operation.setdefault(json.loads(raw)["id"], []).append(payload_text(raw))
    assert len(by_operation) == len(documents)
    for operation, payloads in by_operation.items():
        assert payloads[:3] == payloads[3:], operation
    first = json.loads(by_operation["1"][1])["data"]["recordChanged"]
    assert first["operation"] == "UPDATED"
    assert first["changedFields"] == ["name"]
    assert first["__typename"] == "ChangeEvent"
