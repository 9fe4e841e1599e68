"""One of the realtime bench's client processes: its share of the subscribers' sockets, and the HTTP
connections of the users those sockets belong to. ``bench.realtime`` starts several and drives each over its
stdin and stdout, one JSON command a line and one JSON answer a line.

A user's sockets and its mutations live in the same process: a delivery's latency runs from the moment this
process sends the mutation to the moment the same process reads the event off the socket, both stamped here
on CLOCK_MONOTONIC (one clock for every process on the machine, so the coordinator can also lay the arrivals
of all clients on one time line). The sockets are spread over several processes so that no single client
event loop holds arrivals in a queue: what is measured is the servers' delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aurum.ids import to_global_id

PROTOCOL = "graphql-transport-ws"
DELIVERY_TIMEOUT = 30.0
SUBSCRIPTION = "subscription($after: String) { recordChanged(after: $after) { cursor operation entityId } }"
CREATE = (
    "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) {"
    " pillar { id } userErrors { message } } }"
)
UPDATE = (
    "mutation($input: PillarUpdateInput!) { pillarUpdate(input: $input) {"
    " pillar { id } userErrors { message } } }"
)


def now() -> float:
    """Seconds on the machine's monotonic clock, the same in every process."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass(eq=False)
class Expected:
    """The event one mutation must bring to every socket of its user: arrival times as they come."""

    sockets: int
    done: asyncio.Future[None]
    arrivals: dict[Subscriber, float] = field(default_factory=dict)
    duplicates: int = 0

    def arrive(self, subscriber: Subscriber, at: float) -> None:
        if subscriber in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[subscriber] = at
        if len(self.arrivals) == self.sockets and not self.done.done():
            self.done.set_result(None)


@dataclass
class Book:
    """What the sockets are waiting for, by (entity id, operation); a user has one mutation in flight."""

    pending: dict[tuple[str, str], Expected] = field(default_factory=dict)
    unexpected: int = 0
    others: list[dict[str, Any]] = field(default_factory=list)  # errors, completes: anything but data


@dataclass(eq=False)
class Subscriber:
    """One graphql-transport-ws socket of a user on one server; events stamped on arrival."""

    server: int
    ws: ClientConnection
    book: Book
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                arrived = now()
                message = orjson.loads(raw)
                payload = message.get("payload") or {}
                if message.get("type") == "next" and payload.get("data") and "errors" not in payload:
                    change = payload["data"]["recordChanged"]
                    expected = self.book.pending.get((change["entityId"], change["operation"]))
                    if expected is None:
                        self.book.unexpected += 1
                    else:
                        expected.arrive(self, arrived)
                elif message.get("type") == "ping":
                    await self.ws.send(orjson.dumps({"type": "pong"}).decode())
                else:
                    self.book.others.append(message)

    async def subscribe(self, after: str) -> None:
        self.reader = asyncio.create_task(self.read())
        message = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"after": after}},
        }
        await self.ws.send(orjson.dumps(message).decode())

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.ws.close()


class Http:
    """One kept-alive HTTP/1.1 connection to a server, opened when first used and again after the server
    closed it. httpx costs the client about a millisecond of CPU per request, taken from the two cores the
    servers share; this writes one request and reads one ``Content-Length`` answer (what our server sends)."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.head = f"POST /graphql HTTP/1.1\r\nhost: {address.netloc}\r\ncontent-type: application/json\r\n"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes, token: str) -> tuple[int, bytes]:
        if self.streams is None or self.streams[1].is_closing():
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = f"{self.head}authorization: Bearer {token}\r\ncontent-length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        try:
            lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):  # closed while idle: again, on a new one
            self.streams = None
            return await self.post(body, token)
        headers = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
        fields = {k.strip().lower(): v.strip() for k, v in headers.items()}
        answer = await reader.readexactly(int(fields[b"content-length"]))
        if fields.get(b"connection") == b"close":
            writer.close()
            self.streams = None
        return int(lines[0].split()[1]), answer

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


@dataclass(eq=False)
class User:
    index: int
    token: str
    pillar: str  # the uuid of the pillar its updates rename
    renames: int = 0
    subscribers: list[Subscriber] = field(default_factory=list)
    # Its own HTTP connection to each server, as a browser of its own would have.
    http: list[Http] = field(default_factory=list)


@dataclass(frozen=True)
class Mutation:
    name: str
    query: str
    variables: dict[str, Any]
    entity_id: str  # the global id its event carries
    operation: str

    @classmethod
    def of(cls, user: User, create: bool) -> Mutation:
        """Create a pillar (a fresh client-made id) or rename the user's pillar."""
        if create:
            pillar = uuid.uuid4()
            variables = {"input": {"id": str(pillar), "name": f"Pillar {pillar.hex[:6]}"}}
            return cls("pillarCreate", CREATE, variables, to_global_id("Pillar", pillar), "CREATED")
        user.renames += 1
        entity_id = to_global_id("Pillar", uuid.UUID(user.pillar))
        variables = {"input": {"id": entity_id, "name": f"Renamed {user.renames}"}}
        return cls("pillarUpdate", UPDATE, variables, entity_id, "UPDATED")


async def send(http: Http, user: User, mutation: Mutation) -> None:
    status, answer = await http.post(
        orjson.dumps({"query": mutation.query, "variables": mutation.variables}), user.token
    )
    body = orjson.loads(answer)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body}")
    if "errors" in body:
        raise RuntimeError(body["errors"])
    if body["data"][mutation.name]["userErrors"]:
        raise RuntimeError(body["data"][mutation.name]["userErrors"])


async def open_socket(book: Book, url: str, server: int, token: str) -> Subscriber:
    ws = await connect(
        url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        compression=None,
        ping_interval=None,
        open_timeout=60,
        max_queue=None,
    )
    try:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(orjson.dumps(init).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack}")
    except BaseException:
        await ws.close()
        raise
    return Subscriber(server, ws, book)


async def gather_bounded(limit: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


@dataclass
class Tally:
    """Deliveries as [latency ms, on the process that ran the mutation, arrival], and HTTP answer times."""

    deliveries: list[tuple[float, bool, float]] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    duplicates: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "http_ms": self.http_ms,
            "sent": self.sent,
            "duplicates": self.duplicates,
        }


class Client:
    """The sockets and users of this process, and the commands the coordinator gives it."""

    def __init__(self) -> None:
        self.book = Book()
        self.servers: list[str] = []
        self.users: dict[int, User] = {}

    async def setup(self, servers: list[str], users: list[dict[str, Any]]) -> dict[str, Any]:
        self.servers = servers
        for described in users:
            user = User(described["index"], described["token"], described["pillar"])
            user.http = [Http(url) for url in servers]
            self.users[user.index] = user
        return {"users": len(self.users)}

    async def open(self, users: list[int], sockets: int, concurrency: int) -> dict[str, Any]:
        """``sockets`` per user, spread evenly over the servers; connection_init and ack on each."""
        plan = [(self.users[u], k % len(self.servers)) for u in users for k in range(sockets)]
        jobs: list[Callable[[], Awaitable[Any]]] = [
            functools.partial(open_socket, self.book, self.servers[server], server, user.token)
            for user, server in plan
        ]
        opened: list[Subscriber] = await gather_bounded(concurrency, jobs)
        for (user, _), subscriber in zip(plan, opened, strict=True):
            user.subscribers.append(subscriber)
        return {"per_server": [sum(1 for _, s in plan if s == i) for i in range(len(self.servers))]}

    async def subscribe(self, cursors: dict[str, str]) -> dict[str, Any]:
        """Subscribe each socket of these users from its cursor, confirmed by one delivery to every socket."""
        users = [self.users[int(u)] for u in cursors]
        for user in users:
            for subscriber in user.subscribers:
                await subscriber.subscribe(cursors[str(user.index)])
        confirmed = Tally()
        servers = len(self.servers)
        await asyncio.gather(*(self.round_trip(u, u.index % servers, False, confirmed) for u in users))
        return {"deliveries": len(confirmed.deliveries)}

    async def round_trip(self, user: User, server: int, create: bool, tally: Tally) -> None:
        """One mutation of ``user`` through ``server``; every socket of the user must see its event."""
        mutation = Mutation.of(user, create)
        key = (mutation.entity_id, mutation.operation)
        loop = asyncio.get_running_loop()
        expected = self.book.pending[key] = Expected(len(user.subscribers), loop.create_future())
        try:
            sent = now()
            await send(user.http[server], user, mutation)
            tally.http_ms.append((now() - sent) * 1000)
            try:
                await asyncio.wait_for(expected.done, DELIVERY_TIMEOUT)
            except TimeoutError:
                raise RuntimeError(
                    f"{len(expected.arrivals)} of {len(user.subscribers)} sockets got {key} within "
                    f"{DELIVERY_TIMEOUT:.0f} s; other messages: {self.book.others[:3]}"
                ) from None
        finally:
            del self.book.pending[key]
        tally.sent.append(sent)
        for subscriber, arrived in expected.arrivals.items():
            tally.deliveries.append(((arrived - sent) * 1000, subscriber.server == server, arrived))
        tally.duplicates += expected.duplicates

    async def mutate(self, user: int, server: int, create: bool) -> dict[str, Any]:
        tally = Tally()
        await self.round_trip(self.users[user], server, create, tally)
        return tally.as_json()

    async def burst(self, through: dict[str, int], create: bool) -> dict[str, Any]:
        """A mutation of every one of these users at once, each through the server named for it."""
        tally = Tally()
        await asyncio.gather(
            *(self.round_trip(self.users[int(u)], server, create, tally) for u, server in through.items())
        )
        return tally.as_json()

    async def warm(self, user: int, cursor: str) -> dict[str, Any]:
        """One subscribed socket of ``user`` per server and a delivery through each, then closed: one-time
        costs of the servers paid before anything is measured."""
        warm = self.users[user]
        warm.subscribers = [
            await open_socket(self.book, url, i, warm.token) for i, url in enumerate(self.servers)
        ]
        for subscriber in warm.subscribers:
            await subscriber.subscribe(cursor)
        for server in range(len(self.servers)):
            await self.round_trip(warm, server, False, Tally())
        for subscriber in warm.subscribers:
            await subscriber.close()
        warm.subscribers = []
        return {}

    def report(self) -> dict[str, Any]:
        sockets = [s for u in self.users.values() for s in u.subscribers]
        return {
            "closed_early": sum(1 for s in sockets if s.ws.close_code is not None),
            "others": self.book.others[:3],
            "unexpected": self.book.unexpected,
        }

    async def close(self) -> dict[str, Any]:
        sockets = [s for u in self.users.values() for s in u.subscribers]
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        await asyncio.gather(
            *(http.close() for u in self.users.values() for http in u.http), return_exceptions=True
        )
        return {}


async def serve_commands() -> None:
    """Read commands from stdin until ``close``; answer each on stdout, an error as ``{"error": ...}``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = Client()
    while line := await reader.readline():
        command = orjson.loads(line)
        op = command.pop("op")
        try:
            if op == "report":
                answer: dict[str, Any] = client.report()
            else:
                answer = await getattr(client, op)(**command)
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.buffer.write(orjson.dumps(answer) + b"\n")
        sys.stdout.buffer.flush()
        if op == "close":
            return


if __name__ == "__main__":
    uvloop.run(serve_commands())
