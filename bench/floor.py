"""The raw floor: the bench's reads and the create, answered by hand-written SQL over asyncpg and encoded by
orjson, in a plain ASGI app under uvicorn in a process of its own: what the same answers cost with no
GraphQL layer at all.

It verifies the request's Aurum access token as Aurum does (HS256, issuer, audience, expiry) and runs each
request in one transaction as ``aurum_app`` with ``app.user_id`` set, so row-level security applies as it
does to Aurum and PostGraphile. Answers have the shape of Aurum's (``data`` → ``pillars`` → ``nodes`` …,
global ids, enum names), so one check reads all three.

    python -m bench.floor PORT DATABASE_URL SIGNING_KEY
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import asyncpg
import jwt
import orjson
import uvicorn

from aurum.ids import parse_global_id, to_global_id
from aurum.runtime import tune_gc

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ISSUER, AUDIENCE = "aurum-life", "aurum-life-api"
POOL_SIZE = 20  # Aurum's default AURUM_DB_POOL_SIZE
ACT_AS = "SELECT set_config('app.user_id', $1, true)"

# $1 the user; the time zone is read once per statement (an uncorrelated subquery).
OVERDUE = """t.status NOT IN ('completed', 'skipped') AND t.due_date IS NOT NULL
  AND (t.due_date + coalesce(t.due_time, time '23:59:59.999999'))
      AT TIME ZONE (SELECT u.timezone FROM users u WHERE u.id = $1) < now()"""
CAN_START = """NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks w ON w.id = d.depends_on_id
  WHERE d.task_id = t.id AND w.status NOT IN ('completed', 'skipped'))"""

# Each level: the first $3 rows under each parent of $2 (kept in the parents' order), in Aurum's SORT_ORDER:
# sort order, creation, id.
PILLARS = """SELECT id, name FROM pillars WHERE user_id = $1 AND NOT archived
  ORDER BY sort_order, created_at, id LIMIT $2"""
AREAS = """SELECT a.id, a.pillar_id AS parent, a.name
  FROM unnest($2::uuid[]) WITH ORDINALITY AS p(id, n) CROSS JOIN LATERAL (
    SELECT id, pillar_id, name, sort_order, created_at FROM areas
    WHERE pillar_id = p.id AND user_id = $1 AND NOT archived ORDER BY sort_order, created_at, id LIMIT $3) a
  ORDER BY p.n, a.sort_order, a.created_at, a.id"""
PROJECTS = """SELECT c.id, c.area_id AS parent, c.name
  FROM unnest($2::uuid[]) WITH ORDINALITY AS p(id, n) CROSS JOIN LATERAL (
    SELECT id, area_id, name, sort_order, created_at FROM projects
    WHERE area_id = p.id AND user_id = $1 AND NOT archived ORDER BY sort_order, created_at, id LIMIT $3) c
  ORDER BY p.n, c.sort_order, c.created_at, c.id"""


def tasks_sql(computed: str) -> str:
    """The tasks level, with ``computed`` columns after the plain ones (or none: the plain tree)."""
    return f"""SELECT c.* FROM unnest($2::uuid[]) WITH ORDINALITY AS p(id, n) CROSS JOIN LATERAL (
    SELECT t.id, t.project_id AS parent, t.name, t.status, t.due_date, t.sort_order, t.created_at{computed}
    FROM tasks t WHERE t.project_id = p.id AND t.user_id = $1 AND t.parent_id IS NULL
    ORDER BY t.sort_order, t.created_at, t.id LIMIT $3) c
  ORDER BY p.n, c.sort_order, c.created_at, c.id"""


TASKS = tasks_sql(f",\n      {OVERDUE} AS overdue, {CAN_START} AS can_start")
PLAIN_TASKS = tasks_sql("")
NODE = f"""SELECT t.id, t.name, t.status, t.due_date, {OVERDUE} AS overdue, {CAN_START} AS can_start
  FROM tasks t WHERE t.id = $2"""
CREATE = "INSERT INTO tasks (project_id, user_id, name) VALUES ($2, $1, $3) RETURNING id, name"


class Unauthenticated(Exception):
    pass


class Floor:
    def __init__(self, database_url: str, signing_key: str) -> None:
        self.database_url, self.signing_key = database_url, signing_key
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        await self.stop()
        self.pool = await asyncpg.create_pool(
            self.database_url,
            min_size=1,
            max_size=POOL_SIZE,
            server_settings={"role": "aurum_app", "application_name": "aurum-floor"},
        )

    @property
    def connections(self) -> asyncpg.Pool:
        assert self.pool is not None, "start() first"
        return self.pool

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def user_of(self, headers: Sequence[tuple[bytes, bytes]]) -> uuid.UUID:
        token = next((v for k, v in headers if k == b"authorization"), b"").decode().removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token,
                self.signing_key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(str(error)) from error
        if claims.get("typ") != "access":
            raise Unauthenticated("not an access token")
        return uuid.UUID(claims["sub"])

    async def tree(self, user: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self.hierarchy(user, body["first"], TASKS, task_json)

    async def plain_tree(self, user: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self.hierarchy(user, body["first"], PLAIN_TASKS, plain_task_json)

    async def hierarchy(
        self, user: uuid.UUID, page: int, tasks_query: str, make: Callable[[asyncpg.Record], dict[str, Any]]
    ) -> dict[str, Any]:
        """Pillars, areas, projects and tasks (read by ``tasks_query``, each made by ``make``), ``page`` at
        each level."""
        async with self.connections.acquire() as db, db.transaction(readonly=True):
            await db.fetchval(ACT_AS, str(user))
            pillars = await db.fetch(PILLARS, user, page)
            areas = await db.fetch(AREAS, user, [r["id"] for r in pillars], page)
            projects = await db.fetch(PROJECTS, user, [r["id"] for r in areas], page)
            tasks = await db.fetch(tasks_query, user, [r["id"] for r in projects], page)
        by_project = grouped(tasks, make)
        by_area = grouped(projects, lambda r: node("Project", r, tasks=by_project.get(r["id"], [])))
        by_pillar = grouped(areas, lambda r: node("Area", r, projects=by_area.get(r["id"], [])))
        nodes = [node("Pillar", r, areas=by_pillar.get(r["id"], [])) for r in pillars]
        return {"data": {"pillars": {"nodes": nodes}}}

    async def node(self, user: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_global_id(body["id"])
        async with self.connections.acquire() as db, db.transaction(readonly=True):
            await db.fetchval(ACT_AS, str(user))
            row = await db.fetchrow(NODE, user, parsed[1] if parsed else None)
        return {"data": {"node": task_json(row) if row is not None else None}}

    async def create(self, user: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_global_id(body["projectId"])
        assert parsed is not None
        async with self.connections.acquire() as db, db.transaction():
            await db.fetchval(ACT_AS, str(user))
            row = await db.fetchrow(CREATE, user, parsed[1], body["name"])
        task = {"id": to_global_id("Task", row["id"]), "name": row["name"]}
        return {"data": {"taskCreate": {"task": task, "userErrors": []}}}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(self, receive, send)
            return
        routes = {
            "/tree": self.tree,
            "/plain-tree": self.plain_tree,
            "/node": self.node,
            "/create": self.create,
        }
        route = routes.get(scope["path"])
        if route is None:
            await respond(send, 404, {"error": "not found"})
            return
        try:
            user = self.user_of(scope["headers"])
        except Unauthenticated as error:
            await respond(send, 401, {"error": str(error)})
            return
        await respond(send, 200, await route(user, orjson.loads(await read_body(receive))))


def node(type_name: str, row: asyncpg.Record, **below: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": to_global_id(type_name, row["id"]),
        "name": row["name"],
        **{name: {"nodes": nodes} for name, nodes in below.items()},
    }


def plain_task_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": to_global_id("Task", row["id"]),
        "name": row["name"],
        "status": row["status"].upper(),
        "dueDate": row["due_date"],
    }


def task_json(row: asyncpg.Record) -> dict[str, Any]:
    return {**plain_task_json(row), "isOverdue": row["overdue"], "canStart": row["can_start"]}


def grouped(
    rows: Sequence[asyncpg.Record], make: Callable[[asyncpg.Record], dict[str, Any]]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["parent"], []).append(make(row))
    return found


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send: Send, status: int, payload: object) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(floor: Floor, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await floor.start()
            tune_gc()  # as `aurum serve` does
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await floor.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


def main(port: int, database_url: str, signing_key: str) -> None:
    uvicorn.run(
        Floor(database_url, signing_key),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=65,  # as Aurum's: idle bench connections are not closed between requests
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
