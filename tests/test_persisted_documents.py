"""Apollo's automatic persisted queries (aurum.persisted): a document sent by its SHA-256 runs the text kept
under it, in Redis in front of PostgreSQL; an unknown hash asks for the text in the words Apollo's link looks
for; only a valid text whose hash is its own, from an account within its allowance, is kept."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.app import build_app
from aurum.persisted.store import CACHE_PREFIX
from aurum.resources import Resources
from aurum.settings import Settings
from tests.apollo import APOLLO_CLIENT_3_ACCEPT, ApolloLink, manifest_bodies, persisted, sha256_hex
from tests.conftest import register
from tests.support import GraphQLClient, serving

NOT_FOUND = [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]


@pytest.fixture(scope="module")
def manifest(repo_root: Path) -> dict[str, str]:
    return manifest_bodies(repo_root)


def unique(document: str) -> str:
    """The document with a comment of its own: a text (and hash) no other test or run has sent."""
    return f"# {uuid.uuid4()}\n{document}"


def auth(client: GraphQLClient) -> dict[str, str]:
    return {"authorization": f"Bearer {client.token}"} if client.token else {}


async def by_hash(client: GraphQLClient, document: str, **extra: Any) -> httpx.Response:
    body = {"extensions": persisted(document), "variables": extra.pop("variables", {}), **extra}
    return await client.http.post("/graphql", json=body, headers=auth(client))


async def with_text(client: GraphQLClient, document: str, **extra: Any) -> httpx.Response:
    return await by_hash(client, document, query=document, **extra)


async def stored(owner: AsyncEngine, document: str) -> str | None:
    async with owner.connect() as connection:
        found = await connection.execute(
            text("SELECT document FROM persisted_documents WHERE sha256 = :h"), {"h": sha256_hex(document)}
        )
        row = found.scalar_one_or_none()
        return str(row) if row is not None else None


@pytest.mark.parametrize("accept", [APOLLO_CLIENT_3_ACCEPT, "application/json"])
async def test_apollos_link_sends_the_hash_then_the_text_once_then_the_hash_alone(
    alice: GraphQLClient, owner: AsyncEngine, accept: str
) -> None:
    document = unique("query Me { viewer { id email } }")
    link = ApolloLink(alice.http, alice.token, accept=accept)
    first = await link.request(document, operation_name="Me")
    assert [r.status_code for r in link.exchanges] == [200, 200]
    assert link.exchanges[0].json() == {"data": None, "errors": NOT_FOUND}  # Apollo's words and code
    assert first == {"data": {"viewer": {"id": alice.user_id, "email": alice.email}}}
    assert await stored(owner, document) == document

    again = await link.request(document, operation_name="Me")
    assert len(link.exchanges) == 1, "the hash alone ran the kept text"
    assert again == first
    link.use_get = True
    assert await link.request(document, operation_name="Me") == first
    assert [r.request.method for r in link.exchanges] == ["GET"]


async def test_a_text_redis_lost_is_read_from_postgresql_by_any_process(
    alice: GraphQLClient, settings: Settings, resources: Resources
) -> None:
    document = unique("{ viewer { id } }")
    assert (await with_text(alice, document)).json()["data"]["viewer"]["id"] == alice.user_id
    key = CACHE_PREFIX + sha256_hex(document)
    assert await resources.redis.get(key) == document.encode()
    await resources.redis.delete(key)
    async with (  # another process: nothing of the first in its memory
        serving(build_app(settings, resources), settings) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as other,
    ):
        answer = await by_hash(GraphQLClient(other, alice.token), document)
    assert answer.json() == {"data": {"viewer": {"id": alice.user_id}}}
    assert await resources.redis.get(key) == document.encode(), "read back into Redis"


async def test_the_hash_must_be_that_of_the_exact_text(alice: GraphQLClient, owner: AsyncEngine) -> None:
    document = unique("{ viewer { id } }")
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document + " ")}}
    answer = await alice.http.post(
        "/graphql", json={"query": document, "extensions": wrong}, headers=auth(alice)
    )
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].startswith("provided sha does not match query")  # Apollo Server's words
    assert await stored(owner, document) is None
    assert (await by_hash(alice, document)).json()["errors"] == NOT_FOUND


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"version": True, "sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "0" * 63},
        {"version": 1, "sha256Hash": "g" * 64},
        {"version": 1},
        "0" * 64,
    ],
)
async def test_a_malformed_persisted_query_is_a_bad_request(alice: GraphQLClient, extension: object) -> None:
    answer = await alice.http.post(
        "/graphql", json={"extensions": {"persistedQuery": extension}}, headers=auth(alice)
    )
    assert answer.status_code == 400
    assert [e["extensions"]["code"] for e in answer.json()["errors"]] == ["BAD_REQUEST"]
    assert "persistedQuery" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "document",
    [
        "{ viewer { nosuchfield } }",
        "{ viewer { id }",
        "query A { viewer { id } } query A { viewer { email } }",
        "{ __schema { types { name } } " + "a: __typename " * 40 + "}",  # over the alias limit
    ],
)
async def test_only_a_valid_document_is_kept(alice: GraphQLClient, owner: AsyncEngine, document: str) -> None:
    document = unique(document)
    answer = (await with_text(alice, document)).json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] in {"GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"}
    assert await stored(owner, document) is None
    assert (await by_hash(alice, document)).json()["errors"] == NOT_FOUND


async def test_an_anonymous_client_runs_its_text_but_keeps_nothing(
    anonymous: GraphQLClient, owner: AsyncEngine
) -> None:
    document = unique("{ __typename }")
    assert (await with_text(anonymous, document)).json() == {"data": {"__typename": "Query"}}
    assert await stored(owner, document) is None
    assert (await by_hash(anonymous, document)).json()["errors"] == NOT_FOUND


async def test_a_text_over_the_size_cap_runs_but_is_not_kept(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    document = f"# {'x' * 33_000}\n{{ viewer {{ id }} }}"  # valid, and larger than 32 KiB
    assert (await with_text(alice, document)).json() == {"data": {"viewer": {"id": alice.user_id}}}
    assert await stored(owner, document) is None


@pytest.fixture
async def two_a_day(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """A server on which an account may persist two new documents a day."""
    configured = settings.model_copy(update={"persisted_documents_per_day": 2})
    async with (
        serving(build_app(configured, resources), configured) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def test_an_account_keeps_a_bounded_number_of_new_documents_a_day(
    two_a_day: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    alice, bob = await register(two_a_day), await register(two_a_day)
    documents = [unique("{ viewer { id } }") for _ in range(3)]
    for document in documents:  # each runs
        assert (await with_text(alice, document)).json() == {"data": {"viewer": {"id": alice.user_id}}}
    assert [await stored(owner, d) is not None for d in documents] == [True, True, False]
    again = await with_text(alice, documents[0])  # known already: nothing new, nothing counted
    assert again.json() == {"data": {"viewer": {"id": alice.user_id}}}
    assert (await by_hash(alice, documents[2])).json()["errors"] == NOT_FOUND
    assert (await with_text(bob, documents[2])).json() == {"data": {"viewer": {"id": bob.user_id}}}
    assert await stored(owner, documents[2]) == documents[2], "an allowance of its own"


async def test_a_persisted_mutation_runs_by_hash_over_post_and_never_over_get(alice: GraphQLClient) -> None:
    document = unique(
        "mutation Make($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { name } } }"
    )
    made = {"data": {"pillarCreate": {"pillar": {"name": "By hash"}}}}
    variables = {"input": {"name": "By hash"}}
    assert (await with_text(alice, document, variables=variables)).json() == made
    assert (await by_hash(alice, document, variables=variables)).json() == made
    params = {"extensions": json.dumps(persisted(document)), "variables": '{"input": {"name": "Over GET"}}'}
    got = await alice.http.get("/graphql", params=params, headers=auth(alice))
    assert got.status_code == 405
    assert got.headers["allow"] == "POST"
    assert [e["extensions"]["code"] for e in got.json()["errors"]] == ["METHOD_NOT_ALLOWED"]
    names = (await alice.ok("{ pillars { nodes { name } } }"))["pillars"]["nodes"]
    assert names == [{"name": "By hash"}, {"name": "By hash"}]


async def test_the_trusted_manifests_documents_run_by_hash_without_being_kept(
    alice: GraphQLClient, owner: AsyncEngine, manifest: dict[str, str]
) -> None:
    viewer = manifest["Viewer"]
    viewed = (await by_hash(alice, viewer)).json()["data"]["viewer"]
    assert (viewed["__typename"], viewed["id"], viewed["email"]) == ("User", alice.user_id, alice.email)
    assert await stored(owner, viewer) is None


async def test_the_app_role_may_add_documents_but_never_change_or_remove_one(
    alice: GraphQLClient, resources: Resources
) -> None:
    document = unique("{ viewer { id } }")
    await with_text(alice, document)
    where = {"h": sha256_hex(document)}
    for statement in (
        "UPDATE persisted_documents SET document = '{ __typename }' WHERE sha256 = :h",
        "DELETE FROM persisted_documents WHERE sha256 = :h",
    ):
        async with resources.engine.begin() as connection:
            with pytest.raises(DBAPIError, match="permission denied for table persisted_documents"):
                await connection.execute(text(statement), where)
    async with resources.engine.begin() as connection:  # a hash that is not its text's
        with pytest.raises(DBAPIError, match="ck_persisted_documents_sha256_of_document"):
            await connection.execute(
                text("INSERT INTO persisted_documents (sha256, document) VALUES (:h, '{ __typename }')"),
                {"h": "0" * 64},
            )
