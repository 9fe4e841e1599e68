"""Subscriptions over a real WebSocket speaking graphql-transport-ws: who may listen, what each listener
hears, resuming from a cursor, the server cutting sockets loose (expired or ended sign-ins, slow consumers,
caps), and the sweep that announces what nobody announced.

A subscription without ``after`` starts "from now", which races with a change made right after subscribing.
The tests therefore start from ``origin`` (a cursor from before any of their users existed: replay, then live,
with no gap) and read up to a marker change of their own (``listen``); from there every change must arrive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aurum.app import build_app
from aurum.db import act_as
from aurum.ids import to_global_id
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.hierarchy import act, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, serving, uuid_of, wait_for
from tests.test_auth import claims_for, sign
from tests.ws import RECORD_CHANGED, Closed, GraphQLSocket, signed_in, socket, ws_url

PASSWORD = "correct horse battery"  # what tests.conftest.register gives every account
Change = dict[str, Any]


# --- helpers ------------------------------------------------------------------------------------------------


def event_id(cursor: str) -> int:
    """The event a cursor stands for (base64 of ``Event:<id>``), to find it in the table."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert raw.startswith("Event:"), raw
    return int(raw.removeprefix("Event:"))


def what(change: Change) -> tuple[str, str, str]:
    return change["operation"], change["entityType"], change["entityId"]


def access_token(settings: Settings, client: GraphQLClient, **changes: Any) -> str:
    return sign(settings, claims_for(settings, str(uuid_of(client.user_id)), **changes))


@pytest.fixture(scope="session")
async def origin(server_url: str, http: httpx.AsyncClient) -> str:
    """A cursor taken before any user of a test here registered (session fixtures come first): resuming after
    it replays a user's whole history, then goes live, with no gap."""
    someone = await register(http)
    async with signed_in(server_url, someone.token or "") as ws:
        op = await ws.subscribe(RECORD_CHANGED)
        deadline = time.monotonic() + 10
        while True:  # without `after` the subscription starts "from now": a change may come before it joins
            await make_pillar(someone, name="Origin")
            try:
                cursor: str = (await ws.next_data(op, timeout=1))["recordChanged"]["cursor"]
                return cursor
            except TimeoutError:
                assert time.monotonic() < deadline, "no change ever reached the origin subscription"


async def marker(client: GraphQLClient) -> str:
    return await make_pillar(client, name=f"Marker {uuid.uuid4().hex[:6]}")


async def listen(
    ws: GraphQLSocket, client: GraphQLClient, origin: str, types: list[str] | None = None
) -> tuple[str, str]:
    """Subscribe for ``client``'s changes (of ``types``) and read its history up to a marker change made now;
    returns the operation id and the marker's cursor. Every later change must reach the operation."""
    op = await ws.subscribe(
        RECORD_CHANGED, {"after": origin, "types": None if types is None else [*types, "PILLAR"]}
    )
    made = await marker(client)
    while True:
        change = (await ws.next_data(op))["recordChanged"]
        if change["entityId"] == made:
            assert change["operation"] == "CREATED", change
            cursor: str = change["cursor"]
            if types is None or "PILLAR" in types:
                return op, cursor
            break
    # The marker needs PILLAR: with other types, resubscribe after the marker with exactly those.
    await ws.send({"id": op, "type": "complete"})
    return await ws.subscribe(RECORD_CHANGED, {"after": cursor, "types": types}), cursor


async def rejected(ws: GraphQLSocket) -> Closed:
    """The close that ends the socket, insisting that nothing at all arrived before it."""
    try:
        message = await ws.receive()
    except Closed as closed:
        return closed
    raise AssertionError(f"expected the socket to be closed, got {message}")


async def accepted(url: str, token: str) -> bool:
    """Whether a new socket signed in with ``token`` is acknowledged (it is closed again right after)."""
    async with socket(url) as ws:
        try:
            answer = await ws.init(f"Bearer {token}")
        except Closed:
            return False
        assert answer == {"type": "connection_ack"}, answer
        return True


async def until_closed(
    ws: GraphQLSocket, op: str, forbidden: str | None = None
) -> tuple[list[Change], Closed]:
    """The changes of ``op`` that arrive before the server closes the socket, and the close; failing at once
    when a change of the ``forbidden`` entity arrives instead."""
    received: list[Change] = []
    while True:
        try:
            message = await ws.receive()
        except Closed as closed:
            return received, closed
        assert (message.get("id"), message["type"]) == (op, "next"), message
        received.append(message["payload"]["data"]["recordChanged"])
        assert received[-1]["entityId"] != forbidden, f"still delivering: {received}"


@asynccontextmanager
async def app_server(settings: Settings, resources: Resources, **changes: Any) -> AsyncIterator[str]:
    """A second app on loopback whose settings differ by ``changes``; it shares the database and Redis."""
    configured = settings.model_copy(update=changes)
    app = build_app(configured, dataclasses.replace(resources, settings=configured))
    async with serving(app, configured) as url:
        yield url


# --- signing in ---------------------------------------------------------------------------------------------


async def test_a_socket_without_a_valid_credential_is_closed_4403_and_hears_nothing(
    server_url: str, settings: Settings, alice: GraphQLClient, origin: str
) -> None:
    forged = {
        "no authorization": None,
        "not a bearer": f"Basic {alice.token}",
        "wrong signature": "Bearer "
        + sign(settings, claims_for(settings, str(uuid_of(alice.user_id))), key="another-key-" * 4),
        "expired": "Bearer "
        + access_token(
            settings,
            alice,
            iat=datetime.now(UTC) - timedelta(minutes=20),
            nbf=datetime.now(UTC) - timedelta(minutes=20),
            exp=datetime.now(UTC) - timedelta(minutes=5),
        ),
        "garbage": "Bearer not.a.token",
        "refresh token": f"Bearer {alice.refresh_token}",
    }
    for case, authorization in forged.items():
        async with socket(server_url) as ws:
            payload = {"authorization": authorization} if authorization is not None else {}
            await ws.send({"type": "connection_init", "payload": payload})
            # A subscribe right behind the init, and a change to report: none of it may come back.
            await ws.subscribe(RECORD_CHANGED)
            await marker(alice)
            closed = await rejected(ws)
            assert (case, closed.code) == (case, 4403), closed.reason
    # The control: the same recipe, well made, is accepted and hears Alice's changes.
    token = access_token(settings, alice)
    async with signed_in(server_url, token) as ws:
        op, _ = await listen(ws, alice, origin)
        pillar = await make_pillar(alice, name="Heard")
        [change] = await ws.changes(op, 1)
        assert what(change) == ("CREATED", "PILLAR", pillar)


async def test_a_subscribe_before_connection_init_is_closed_4401(
    server_url: str, alice: GraphQLClient
) -> None:
    async with socket(server_url) as ws:
        await ws.subscribe(RECORD_CHANGED)
        await marker(alice)
        closed = await rejected(ws)
        assert closed.code == 4401


async def test_an_api_key_signs_a_socket_in(server_url: str, alice: GraphQLClient, origin: str) -> None:
    created = await alice.mutate("apiKeyCreate", {"name": "Dashboard", "scopes": ["READ"]}, "secret")
    assert created["userErrors"] == [], created
    assert created["secret"], created
    async with signed_in(server_url, created["secret"]) as ws:
        op, _ = await listen(ws, alice, origin)
        pillar = await make_pillar(alice, name="Seen through a key")
        [change] = await ws.changes(op, 1)
        assert what(change) == ("CREATED", "PILLAR", pillar)
        assert change["node"] == {"__typename": "Pillar", "id": pillar, "name": "Seen through a key"}


async def test_the_legacy_graphql_ws_protocol_is_refused(server_url: str, alice: GraphQLClient) -> None:
    async with connect(ws_url(server_url), subprotocols=["graphql-ws"], compression=None) as raw:  # type: ignore[list-item]
        assert raw.subprotocol is None  # the server did not agree to speak it
        # What a graphql-ws client sends first; it must not be answered (connection_ack, ka …).
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {alice.token}"}}
        with contextlib.suppress(ConnectionClosed):  # the server may have closed already
            await raw.send(json.dumps(init))
        try:
            message = await asyncio.wait_for(raw.recv(), 10)
        except ConnectionClosed as closed:
            close = closed.rcvd
        else:
            raise AssertionError(f"the legacy protocol was answered: {message!r}")
    assert close is not None
    assert (close.code, close.reason) == (4406, "Subprotocol not acceptable")


async def test_ping_is_answered_with_pong(server_url: str, alice: GraphQLClient) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


# --- isolation ----------------------------------------------------------------------------------------------


async def test_a_subscriber_hears_her_own_changes_only(
    server_url: str, alice: GraphQLClient, bob: GraphQLClient, origin: str
) -> None:
    bobs_old = await make_pillar(bob, name="Bob's old")
    async with signed_in(server_url, alice.token or "") as ws:
        op, alices_cursor = await listen(ws, alice, origin)
        bobs = await make_pillar(bob, name="Bob's")
        renamed = await bob.mutate("pillarUpdate", {"id": bobs, "name": "Bob's renamed"}, "pillar { id }")
        assert renamed["userErrors"] == []
        assert (await act(bob, "pillarDelete", {"id": bobs}, "deletedId"))["userErrors"] == []
        assert (await act(bob, "pillarDelete", {"id": bobs_old}, "deletedId"))["userErrors"] == []
        hers = await make_pillar(alice, name="Alice's")
        [first] = await ws.changes(op, 1)
        assert what(first) == ("CREATED", "PILLAR", hers)
        await ws.nothing_more(op)

    # Cursors are positions in one's own stream: Bob resuming after a cursor of Alice's gets his events only.
    async with signed_in(server_url, bob.token or "") as ws:
        op = await ws.subscribe(RECORD_CHANGED, {"after": alices_cursor})
        replayed = await ws.changes(op, 4)
        assert [what(c) for c in replayed] == [
            ("CREATED", "PILLAR", bobs),
            ("UPDATED", "PILLAR", bobs),
            ("DELETED", "PILLAR", bobs),
            ("DELETED", "PILLAR", bobs_old),
        ]
        await make_pillar(alice, name="Alice's again")  # must not reach Bob …
        control = await make_pillar(bob, name="Bob's control")  # … so this is the next he hears
        [live] = await ws.changes(op, 1)
        assert what(live) == ("CREATED", "PILLAR", control)


# --- what an event says -------------------------------------------------------------------------------------


async def test_created_updated_archived_and_deleted_events(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        pillar = await make_pillar(alice, name="Health")
        [created] = await ws.changes(op, 1)
        assert what(created) == ("CREATED", "PILLAR", pillar)
        assert created["changedFields"] == []
        assert created["node"] == {"__typename": "Pillar", "id": pillar, "name": "Health"}

        updated = await alice.mutate("pillarUpdate", {"id": pillar, "name": "Vitality"}, "pillar { id }")
        assert updated["userErrors"] == []
        [renamed] = await ws.changes(op, 1)
        assert what(renamed) == ("UPDATED", "PILLAR", pillar)
        assert renamed["changedFields"] == ["name"]
        assert renamed["node"]["name"] == "Vitality"

        await alice.mutate("pillarUpdate", {"id": pillar, "timeAllocation": 30}, "pillar { id }")
        [allocated] = await ws.changes(op, 1)
        assert allocated["changedFields"] == ["timeAllocation"]  # camelCase, not time_allocation

        assert (await act(alice, "pillarArchive", {"id": pillar}, "pillar { id }"))["userErrors"] == []
        [archived] = await ws.changes(op, 1)
        assert what(archived) == ("ARCHIVED", "PILLAR", pillar)
        assert archived["changedFields"] == ["archived"]
        assert archived["node"]["id"] == pillar

        assert (await act(alice, "pillarDelete", {"id": pillar}, "deletedId"))["userErrors"] == []
        [deleted] = await ws.changes(op, 1)
        assert what(deleted) == ("DELETED", "PILLAR", pillar)
        assert deleted["node"] is None
        assert deleted["changedFields"] == []
        cursors = [c["cursor"] for c in (created, renamed, allocated, archived, deleted)]
        assert [event_id(c) for c in cursors] == sorted(event_id(c) for c in cursors)
        await ws.nothing_more(op)


async def test_task_status_and_dependency_changes(server_url: str, alice: GraphQLClient, origin: str) -> None:
    pillar = await make_pillar(alice)
    project = await make_project(alice, await make_area(alice, pillar))
    task = await make_task(alice, project, "Stretch")
    other = await make_task(alice, project, "Warm up")
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        completed = await act(alice, "taskComplete", {"id": task}, "task { id }", "TaskStatusInput")
        assert completed["userErrors"] == []
        [done] = await ws.changes(op, 1)
        assert what(done) == ("UPDATED", "TASK", task)
        assert done["changedFields"] == ["completedAt", "kanbanColumn", "status"]
        assert done["node"] == {"__typename": "Task", "id": task, "name": "Stretch"}

        linked = await alice.mutate("taskUpdate", {"id": task, "dependencyIds": [other]}, "task { id }")
        assert linked["userErrors"] == []
        [dependency] = await ws.changes(op, 1)
        assert what(dependency) == ("UPDATED", "TASK", task)
        assert dependency["changedFields"] == ["dependencies"]

        unlinked = await alice.mutate("taskUpdate", {"id": task, "dependencyIds": []}, "task { id }")
        assert unlinked["userErrors"] == []
        [removed] = await ws.changes(op, 1)
        assert what(removed) == ("UPDATED", "TASK", task)
        assert removed["changedFields"] == ["dependencies"]
        await ws.nothing_more(op)


async def test_a_cascade_reports_every_deleted_record_in_one_burst(
    server_url: str, alice: GraphQLClient, origin: str, owner: AsyncEngine
) -> None:
    pillar = await make_pillar(alice)
    area = await make_area(alice, pillar)
    project = await make_project(alice, area)
    task = await make_task(alice, project)
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        assert (await act(alice, "pillarDelete", {"id": pillar}, "deletedId"))["userErrors"] == []
        burst = await ws.changes(op, 4)
        assert {what(c) for c in burst} == {
            ("DELETED", "PILLAR", pillar),
            ("DELETED", "AREA", area),
            ("DELETED", "PROJECT", project),
            ("DELETED", "TASK", task),
        }
        assert all(c["node"] is None and c["changedFields"] == [] for c in burst)
        control = await make_pillar(alice, name="After the cascade")
        [next_one] = await ws.changes(op, 1)
        assert what(next_one) == ("CREATED", "PILLAR", control)  # nothing else came of the delete
    # One burst: written by the one transaction of the one request, in a row of the user's events.
    ids = [event_id(c["cursor"]) for c in burst]
    assert ids == sorted(ids)
    async with owner.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT id, request_id FROM events"
                    " WHERE user_id = :u AND id BETWEEN :lo AND :hi ORDER BY id"
                ),
                {"u": uuid_of(alice.user_id), "lo": ids[0], "hi": ids[-1]},
            )
        ).all()
    assert [row.id for row in rows] == ids
    assert len({row.request_id for row in rows}) == 1
    assert rows[0].request_id is not None


async def test_entity_types_deliver_only_the_requested_kinds(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin, types=["TASK", "AREA"])
        pillar = await make_pillar(alice, name="Unheard")
        area = await make_area(alice, pillar)
        project = await make_project(alice, area)
        task = await make_task(alice, project)
        await alice.mutate("pillarUpdate", {"id": pillar, "name": "Still unheard"}, "pillar { id }")
        await alice.mutate("taskUpdate", {"id": task, "name": "Heard"}, "task { id }")
        changes = await ws.changes(op, 3)
        assert [what(c) for c in changes] == [
            ("CREATED", "AREA", area),
            ("CREATED", "TASK", task),
            ("UPDATED", "TASK", task),
        ]
        await ws.nothing_more(op)


# --- resuming -----------------------------------------------------------------------------------------------


async def test_resuming_after_a_cursor_replays_what_was_missed_then_goes_live(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        pillar = await make_pillar(alice, name="One")
        await alice.mutate("pillarUpdate", {"id": pillar, "name": "Two"}, "pillar { id }")
        area = await make_area(alice, pillar)
        seen = await ws.changes(op, 3)
    assert [what(c) for c in seen] == [
        ("CREATED", "PILLAR", pillar),
        ("UPDATED", "PILLAR", pillar),
        ("CREATED", "AREA", area),
    ]
    first, last = seen[0]["cursor"], seen[-1]["cursor"]

    # While no one listens:
    await alice.mutate("areaUpdate", {"id": area, "name": "Renamed"}, "area { id }")
    project = await make_project(alice, area)
    await alice.mutate("pillarUpdate", {"id": pillar, "name": "Three"}, "pillar { id }")
    assert (await act(alice, "projectDelete", {"id": project}, "deletedId"))["userErrors"] == []
    missed = [
        ("UPDATED", "AREA", area),
        ("CREATED", "PROJECT", project),
        ("UPDATED", "PILLAR", pillar),
        ("DELETED", "PROJECT", project),
    ]

    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(RECORD_CHANGED, {"after": last})
        replayed = await ws.changes(op, 4)
        assert [what(c) for c in replayed] == missed
        assert replayed[0]["changedFields"] == ["name"]
        live = await make_pillar(alice, name="Live")
        [now] = await ws.changes(op, 1)
        assert what(now) == ("CREATED", "PILLAR", live)
        control = await make_pillar(alice, name="Control")
        [after] = await ws.changes(op, 1)
        assert what(after) == ("CREATED", "PILLAR", control)  # the live change came once, not twice

        # From the first cursor: everything after it, in order, each once.
        again = await ws.subscribe(RECORD_CHANGED, {"after": first})
        everything = await ws.changes(again, 8)
        assert [what(c) for c in everything] == [
            *[what(c) for c in seen[1:]],
            *missed,
            ("CREATED", "PILLAR", live),
            ("CREATED", "PILLAR", control),
        ]
        await ws.nothing_more(again)


async def test_an_invalid_cursor_is_an_error_of_that_operation_only(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        for cursor in ["not a cursor", base64.urlsafe_b64encode(b"Task:12").decode(), ""]:
            op = await ws.subscribe(RECORD_CHANGED, {"after": cursor})
            failed = await ws.receive()
            assert (failed["id"], failed["type"]) == (op, "next"), failed
            assert failed["payload"]["data"] is None
            assert [e["message"] for e in failed["payload"]["errors"]] == [
                "This is not a cursor of recordChanged"
            ], failed
            assert await ws.receive() == {"id": op, "type": "complete"}
        # The socket is still in business.
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
        op, _ = await listen(ws, alice, origin)
        pillar = await make_pillar(alice, name="Still listening")
        [change] = await ws.changes(op, 1)
        assert what(change) == ("CREATED", "PILLAR", pillar)


async def test_a_subscription_error_carries_its_code_like_any_other_error(
    server_url: str, alice: GraphQLClient
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(RECORD_CHANGED, {"after": "not a cursor"})
        failed = await ws.receive()
        assert (failed["id"], failed["type"]) == (op, "next"), failed
        assert [e.get("extensions", {}).get("code") for e in failed["payload"]["errors"]] == [
            "BAD_USER_INPUT"
        ]


# --- the server closing sockets -----------------------------------------------------------------------------


async def test_a_socket_closes_when_its_token_expires(
    server_url: str, settings: Settings, alice: GraphQLClient, origin: str
) -> None:
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=3)
    token = access_token(settings, alice, iat=now, nbf=now, exp=expires)
    exp = int(expires.timestamp())  # JWT times are whole seconds
    async with signed_in(server_url, token) as ws:
        op, _ = await listen(ws, alice, origin)  # accepted, and it works until then
        assert time.time() < exp
        _, closed = await until_closed(ws, op)
        closed_at = time.time()
    assert closed.code == 4403
    assert "expired" in closed.reason.lower()
    assert exp - 0.25 <= closed_at <= exp + 3, (closed_at, exp)


async def test_signing_out_closes_that_sessions_sockets(
    server_url: str, anonymous: GraphQLClient, alice: GraphQLClient, origin: str
) -> None:
    signed = await anonymous.ok(
        "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken } }",
        {"input": {"email": alice.email, "password": PASSWORD}},
    )
    other_session = signed["tokenCreate"]["accessToken"]
    async with AsyncExitStack() as stack:
        ws = await stack.enter_async_context(signed_in(server_url, alice.token or ""))
        op, _ = await listen(ws, alice, origin)
        elsewhere = await stack.enter_async_context(signed_in(server_url, other_session))
        other_op, _ = await listen(elsewhere, alice, origin)
        revoked = await anonymous.mutate("tokenRevoke", {"refreshToken": alice.refresh_token}, "ok")
        assert revoked["ok"] is True, revoked
        _, closed = await until_closed(ws, op)
        assert closed.code == 4403
        # Her other session goes on.
        client = GraphQLClient(alice.http, other_session)
        pillar = await make_pillar(client, name="Still signed in here")
        [change] = await elsewhere.changes(other_op, 1)
        assert what(change) == ("CREATED", "PILLAR", pillar)


async def test_changing_the_password_closes_the_old_sockets(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    async with AsyncExitStack() as stack:
        old = [await stack.enter_async_context(signed_in(server_url, alice.token or "")) for _ in range(2)]
        ops = [(await listen(ws, alice, origin))[0] for ws in old]
        changed = await alice.mutate(
            "passwordChange",
            {"currentPassword": PASSWORD, "newPassword": "a brand new long passphrase"},
            "accessToken",
        )
        assert changed["userErrors"] == [], changed
        assert changed["accessToken"], changed
        for ws, op in zip(old, ops, strict=True):
            _, closed = await until_closed(ws, op)
            assert closed.code == 4403
        fresh = GraphQLClient(alice.http, changed["accessToken"])
        ws = await stack.enter_async_context(signed_in(server_url, changed["accessToken"]))
        op, _ = await listen(ws, fresh, origin)
        pillar = await make_pillar(fresh, name="New password")
        [change] = await ws.changes(op, 1)
        assert what(change) == ("CREATED", "PILLAR", pillar)


async def test_deleting_the_account_closes_its_sockets(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    key = (await alice.mutate("apiKeyCreate", {"name": "Watcher", "scopes": ["READ"]}, "secret"))["secret"]
    async with AsyncExitStack() as stack:
        ws = await stack.enter_async_context(signed_in(server_url, alice.token or ""))
        op, _ = await listen(ws, alice, origin)
        keyed = await stack.enter_async_context(signed_in(server_url, key))
        key_op, key_marker = await listen(keyed, alice, origin)
        [also] = await ws.changes(op, 1)
        assert also["cursor"] == key_marker
        deleted = await alice.mutate("accountDelete", {"password": PASSWORD}, "deletedId")
        assert (deleted["userErrors"], deleted["deletedId"]) == ([], alice.user_id), deleted
        for socket_, operation in [(ws, op), (keyed, key_op)]:
            received, closed = await until_closed(socket_, operation)
            assert closed.code == 4403
            assert received == []  # the account's rows go without a trace: no DELETED storm either


async def test_revoking_an_api_key_closes_its_sockets(
    server_url: str, alice: GraphQLClient, origin: str
) -> None:
    created = await alice.mutate(
        "apiKeyCreate", {"name": "Revoked", "scopes": ["READ"]}, "apiKey { id } secret"
    )
    async with signed_in(server_url, created["secret"]) as ws:
        op, _ = await listen(ws, alice, origin)
        revoked = await act(alice, "apiKeyRevoke", {"id": created["apiKey"]["id"]}, "apiKey { id }")
        assert revoked["userErrors"] == []
        assert not await accepted(server_url, created["secret"])  # a new socket with the key is refused
        after = await make_pillar(alice, name="Made after the revocation")
        # The revocation's own API_KEY event may still come before the close; nothing made after it may.
        received, closed = await until_closed(ws, op, forbidden=after)
        assert closed.code == 4403
        assert after not in [c["entityId"] for c in received]


async def test_a_revocation_this_process_never_heard_of_closes_the_socket_at_the_next_recheck(
    settings: Settings, resources: Resources, alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    """As when the control message was lost with Redis: only the durable record says the session or the
    key ended."""
    session_id = json.loads(base64.urlsafe_b64decode((alice.token or "").split(".")[1] + "=="))["sid"]
    created = await bob.mutate(
        "apiKeyCreate", {"name": "Rechecked", "scopes": ["READ"]}, "apiKey { id } secret"
    )
    async with (
        app_server(settings, resources, ws_recheck_interval=0.2) as url,
        signed_in(url, alice.token or "") as ended,
        signed_in(url, created["secret"]) as keyed,
        signed_in(url, bob.token or "") as standing,
    ):
        async with owner.begin() as connection:
            revoked = await connection.execute(
                text("UPDATE auth_sessions SET revoked_at = now() WHERE id = :id"), {"id": session_id}
            )
            assert revoked.rowcount == 1
            revoked = await connection.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"),
                {"id": uuid_of(created["apiKey"]["id"], "ApiKey")},
            )
            assert revoked.rowcount == 1
        for socket_ in (ended, keyed):
            closed = await socket_.closed(timeout=10)
            assert closed.code == 4403, closed
        await standing.send({"type": "ping"})
        assert (await standing.receive())["type"] == "pong"


async def test_a_slow_consumer_is_cut_loose_and_resumes_from_its_cursor(
    settings: Settings, resources: Resources, alice: GraphQLClient, origin: str
) -> None:
    pillar = await make_pillar(alice, name="Big")
    areas = [await make_area(alice, pillar, name=f"Area {n}") for n in range(14)]
    cascade = {("DELETED", "PILLAR", pillar), *(("DELETED", "AREA", area) for area in areas)}
    async with app_server(settings, resources, ws_queue_size=8) as url:
        async with signed_in(url, alice.token or "") as ws:
            op, before = await listen(ws, alice, origin)
            assert (await act(alice, "pillarDelete", {"id": pillar}, "deletedId"))["userErrors"] == []
            received, closed = await until_closed(ws, op)
        assert closed.code == 4413, closed
        assert len(received) < len(cascade)
        assert {what(c) for c in received} <= cascade

        resume_from = received[-1]["cursor"] if received else before
        async with signed_in(url, alice.token or "") as ws:
            op = await ws.subscribe(RECORD_CHANGED, {"after": resume_from})
            rest = await ws.changes(op, len(cascade) - len(received))
            assert {what(c) for c in received + rest} == cascade
            assert len(received + rest) == len(cascade)
            # From before the delete: the whole cascade, once each, then nothing more.
            again = await ws.subscribe(RECORD_CHANGED, {"after": before})
            everything = await ws.changes(again, len(cascade))
            assert [what(c) for c in everything] == [what(c) for c in received + rest]
            await ws.nothing_more(again)


async def test_connection_and_subscription_caps(
    settings: Settings, resources: Resources, alice: GraphQLClient, bob: GraphQLClient, origin: str
) -> None:
    caps = {"ws_max_subscriptions_per_connection": 2, "ws_max_connections_per_user": 2}
    async with app_server(settings, resources, **caps) as url, AsyncExitStack() as stack:
        first = await stack.enter_async_context(signed_in(url, alice.token or ""))
        one, cursor = await listen(first, alice, origin)
        two = await first.subscribe(RECORD_CHANGED, {"after": cursor})
        three = await first.subscribe(RECORD_CHANGED, {"after": cursor})
        refusal = await first.receive()
        assert (refusal["id"], refusal["type"]) == (three, "error"), refusal
        assert [e["extensions"]["code"] for e in refusal["payload"]] == ["RATE_LIMITED"]
        assert "the most it may" in refusal["payload"][0]["message"]
        pillar = await make_pillar(alice, name="Both hear it")
        heard = [await first.receive() for _ in range(2)]
        assert sorted(m["id"] for m in heard) == sorted([one, two])
        assert all(
            what(m["payload"]["data"]["recordChanged"]) == ("CREATED", "PILLAR", pillar) for m in heard
        )

        async with signed_in(url, alice.token or "") as second:
            async with socket(url) as third:
                await third.send(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {alice.token}"}}
                )
                refused = await rejected(third)
                assert (refused.code, refused.reason) == (1013, "Too many connections for this account")
            assert await accepted(url, bob.token or "")  # the cap is per user
            await second.send({"type": "ping"})
            assert await second.receive() == {"type": "pong"}
        # The second one closed: once the server noticed, there is room again.
        await wait_for(lambda: accepted(url, alice.token or ""), "room for a new connection")


# --- the sweep ----------------------------------------------------------------------------------------------


async def test_a_change_nobody_announced_reaches_subscribers_through_the_sweep(
    server_url: str, resources: Resources, owner: AsyncEngine, alice: GraphQLClient, origin: str
) -> None:
    alice_uuid = uuid_of(alice.user_id)
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        # Written straight to the database, as the app's role, with no announcement after the commit.
        async with resources.sessionmaker() as session, session.begin():
            await act_as(session, alice_uuid)
            inserted = await session.execute(
                text("INSERT INTO pillars (user_id, name) VALUES (:u, 'Swept') RETURNING id"),
                {"u": alice_uuid},
            )
            pillar = inserted.scalar_one()
        async with owner.connect() as connection:
            [event] = (
                await connection.execute(
                    text("SELECT id, operation, published_at FROM events WHERE entity_id = :e"), {"e": pillar}
                )
            ).all()
        assert (event.operation, event.published_at) == ("CREATED", None)

        [change] = await ws.changes(op, 1, timeout=5)
        assert what(change) == ("CREATED", "PILLAR", to_global_id("Pillar", pillar))
        assert change["node"]["name"] == "Swept"
        assert event_id(change["cursor"]) == event.id

    async def published() -> bool:
        async with owner.connect() as connection:
            found = await connection.scalar(
                text("SELECT published_at FROM events WHERE id = :id"), {"id": event.id}
            )
        return found is not None

    await wait_for(published, "the swept event to be marked published", timeout=5)
