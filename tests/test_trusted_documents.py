"""Trusted documents (aurum.persisted.manifest): the clients' operations compiled into Apollo's manifest
format, committed and kept current; with AURUM_TRUSTED_DOCUMENTS_ONLY nothing else runs, over HTTP or
WebSocket, however it is sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, parse, print_ast, validate

from aurum.app import build_app
from aurum.persisted.manifest import build_manifest, manifest_json, with_typenames
from aurum.resources import Resources
from aurum.settings import Settings, SettingsError, load_settings
from tests.apollo import ApolloLink, manifest_bodies, persisted, sha256_hex
from tests.support import GraphQLClient, serving
from tests.ws import signed_in

NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"


@pytest.fixture(scope="module")
def manifest(repo_root: Path) -> dict[str, str]:
    return manifest_bodies(repo_root)


def test_the_committed_manifest_is_current(repo_root: Path) -> None:
    committed = (repo_root / "client" / "persisted-query-manifest.json").read_text()
    assert committed == manifest_json(build_manifest(repo_root / "client" / "operations")), (
        "client/persisted-query-manifest.json is stale: run `make manifest` and commit it"
    )


def test_every_trusted_document_is_its_hash_and_valid_against_the_schema(repo_root: Path) -> None:
    schema = build_schema((repo_root / "schema.graphql").read_text())
    loaded = json.loads((repo_root / "client" / "persisted-query-manifest.json").read_text())
    assert (loaded["format"], loaded["version"]) == ("apollo-persisted-query-manifest", 1)
    operations = loaded["operations"]
    assert {"Hierarchy", "Today", "RecordChanged", "TaskCreate", "SignIn"} <= {o["name"] for o in operations}
    for operation in operations:
        assert operation["id"] == sha256_hex(operation["body"]), operation["name"]
        assert validate(schema, parse(operation["body"])) == [], operation["name"]
        assert operation["type"] in {"query", "mutation", "subscription"}


def test_typenames_are_added_as_apollo_client_adds_them() -> None:
    document = parse(
        "query Q { viewer { id } node(id: 1) { __typename ... on Task { project { id } } ...F } }"
        " fragment F on Task { name }"
    )
    assert print_ast(with_typenames(document)) == print_ast(
        parse(
            "query Q { viewer { id __typename } node(id: 1) { __typename ... on Task"
            " { project { id __typename } __typename } ...F } } fragment F on Task { name __typename }"
        )
    )


def test_trusted_documents_only_needs_its_manifest(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(SettingsError, match=r"AURUM_TRUSTED_DOCUMENTS_MANIFEST: .*aurum export-manifest"):
        load_settings(trusted_documents_only=True, trusted_documents_manifest=missing)
    assert not load_settings(trusted_documents_manifest=missing).trusted_documents_only


@pytest.fixture
async def trusted_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """A server that runs only the trusted documents."""
    configured = settings.model_copy(update={"trusted_documents_only": True})
    async with serving(build_app(configured, resources), configured) as url:
        yield url


@pytest.fixture
async def trusted(trusted_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=trusted_url, timeout=30) as client:
        yield client


async def sign_up(http: httpx.AsyncClient, manifest: dict[str, str]) -> GraphQLClient:
    """A new account, made as the client makes one: with the manifest's Register (anonymous clients need
    no exception to sign up)."""
    client = GraphQLClient(http)
    client.email = f"trusted-{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": client.email, "password": "correct horse battery", "timezone": "UTC"}
    payload = (await client.ok(manifest["Register"], {"input": credentials}))["accountRegister"]
    assert payload["userErrors"] == [], payload
    client.token, client.user_id = payload["accessToken"], payload["user"]["id"]
    return client


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def test_only_the_manifests_documents_run_by_hash_or_as_their_exact_text(
    trusted: httpx.AsyncClient, manifest: dict[str, str]
) -> None:
    alice = await sign_up(trusted, manifest)
    headers = {"authorization": f"Bearer {alice.token}"}
    viewer = manifest["Viewer"]
    by_hash = await trusted.post("/graphql", json={"extensions": persisted(viewer)}, headers=headers)
    assert by_hash.json()["data"]["viewer"]["id"] == alice.user_id
    assert (await alice.ok(viewer))["viewer"]["id"] == alice.user_id
    link = ApolloLink(trusted, alice.token)
    assert (await link.request(manifest["Today"], {"limit": 3}))["data"] == {"today": []}
    assert len(link.exchanges) == 1

    other = "{ viewer { id } }"
    for sent in (
        {"query": other},
        {"query": viewer + " "},  # not the exact text
        {"extensions": persisted(other)},
        {"query": other, "extensions": persisted(other)},
    ):
        answer = await trusted.post("/graphql", json=sent, headers=headers)
        assert (answer.status_code, codes(answer)) == (200, [NOT_ALLOWED]), sent
        answer = await trusted.post(
            "/graphql", json=sent, headers={**headers, "accept": "application/graphql-response+json"}
        )
        assert (answer.status_code, codes(answer)) == (403, [NOT_ALLOWED]), sent
        assert "manifest" in answer.json()["errors"][0]["message"]


async def test_what_was_persisted_before_does_not_run_once_only_trusted_documents_do(
    alice: GraphQLClient, trusted: httpx.AsyncClient
) -> None:
    document = f"# {uuid.uuid4()}: kept while anything ran\n{{ viewer {{ id }} }}"
    sent = {"query": document, "extensions": persisted(document)}
    kept = await alice.http.post("/graphql", json=sent, headers={"authorization": f"Bearer {alice.token}"})
    assert kept.json()["data"]["viewer"]["id"] == alice.user_id
    answer = await trusted.post(
        "/graphql",
        json={"extensions": persisted(document)},
        headers={"authorization": f"Bearer {alice.token}"},
    )
    assert codes(answer) == [NOT_ALLOWED]


async def test_a_subscription_runs_only_as_a_trusted_document(
    trusted: httpx.AsyncClient, trusted_url: str, manifest: dict[str, str]
) -> None:
    alice = await sign_up(trusted, manifest)
    async with signed_in(trusted_url, alice.token or "") as ws:
        refused = await ws.subscribe("subscription { recordChanged { cursor } }")
        message = await ws.receive()
        assert (message["id"], message["type"]) == (refused, "error")
        assert [e["extensions"]["code"] for e in message["payload"]] == [NOT_ALLOWED]
        following = await ws.subscribe(manifest["RecordChanged"], {"entityTypes": ["PILLAR"]})
        create = manifest["PillarCreate"]
        made = await alice.ok(create, {"input": {"name": "Trusted"}})
        change = (await ws.next_data(following))["recordChanged"]
    assert change["entityId"] == made["pillarCreate"]["pillar"]["id"]
    assert change["node"]["__typename"] == "Pillar"
