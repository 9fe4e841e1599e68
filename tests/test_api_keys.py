"""API keys over GraphQL: a secret shown once and stored only as its hash, scopes that hold, revocation, and
the account and credential mutations that stay out of an API key's reach."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.auth.principal import INVALID_API_KEY
from aurum.tables import metadata
from tests.support import GraphQLClient, uuid_of

PASSWORD = "correct horse battery"  # what tests.conftest.register gives every account
KEY_PREFIX = "aurum_key_"
KEY_FIELDS = "id name prefix scopes lastUsedAt revokedAt version createdAt updatedAt"
LIST_KEYS = f"{{ apiKeys {{ {KEY_FIELDS} }} }}"
LIST_PILLARS = "{ pillars(first: 100) { totalCount nodes { id name } } }"


async def create_key(client: GraphQLClient, name: str, scopes: list[str]) -> tuple[dict[str, Any], str]:
    payload = await client.mutate(
        "apiKeyCreate", {"name": name, "scopes": scopes}, f"apiKey {{ {KEY_FIELDS} }} secret"
    )
    assert payload["userErrors"] == [], payload
    return payload["apiKey"], payload["secret"]


async def keys_of(client: GraphQLClient) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await client.ok(LIST_KEYS))["apiKeys"]
    return keys


def key_client(client: GraphQLClient, secret: str) -> GraphQLClient:
    """A client that sends the API key as its bearer credential."""
    return GraphQLClient(client.http, secret)


async def pillar_names(client: GraphQLClient) -> list[str]:
    return [p["name"] for p in (await client.ok(LIST_PILLARS))["pillars"]["nodes"]]


async def create_pillar(client: GraphQLClient, name: str) -> dict[str, Any]:
    body = await client.execute(
        "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id name } "
        "userErrors { field message code } } }",
        {"input": {"name": name}},
    )
    return body


def codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


# --- creation: the secret is shown once and never kept ------------------------------------------------------


async def test_a_new_key_shows_its_secret_once(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "  Zapier  ", ["READ"])
    assert secret.startswith(KEY_PREFIX)
    assert len(secret) >= len(KEY_PREFIX) + 32  # high entropy, not a short code
    assert key["name"] == "Zapier"
    assert key["scopes"] == ["READ"]
    assert key["lastUsedAt"] is None
    assert key["revokedAt"] is None
    # The prefix recognises the key without giving it away: the start of the secret, and only the start.
    assert key["prefix"].startswith(KEY_PREFIX)
    assert len(KEY_PREFIX) < len(key["prefix"]) < len(secret) // 2
    assert secret.startswith(key["prefix"])

    # Listed afterwards with its prefix only: the secret is in no field of the answer.
    response = await alice.post(LIST_KEYS)
    assert response.status_code == 200
    assert secret not in response.text
    assert secret[len(key["prefix"]) :] not in response.text
    listed = response.json()["data"]["apiKeys"]
    assert [(k["id"], k["prefix"]) for k in listed] == [(key["id"], key["prefix"])]
    # The same through node(id:).
    found = await alice.ok(
        "query($id: ID!) { node(id: $id) { id ... on ApiKey { name prefix } } }", {"id": key["id"]}
    )
    assert found["node"] == {"id": key["id"], "name": "Zapier", "prefix": key["prefix"]}


async def test_the_database_keeps_only_the_hash_of_the_secret(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    key, secret = await create_key(alice, "Backups", ["READ", "WRITE"])
    assert sorted(key["scopes"]) == ["READ", "WRITE"]
    key_id = uuid_of(key["id"], "ApiKey")
    async with owner.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key_id})).one()
        stored = dict(row._mapping)
        assert stored["key_hash"] == hashlib.sha256(secret.encode()).digest()
        assert len(stored["key_hash"]) == 32
        assert stored["prefix"] == key["prefix"]
        secret_tail = secret[len(key["prefix"]) :]
        for column, value in stored.items():
            rendered = value.hex() if isinstance(value, bytes) else str(value)
            assert secret_tail not in rendered, column
            assert secret_tail.encode().hex() not in rendered, column
        # Nor is a copy anywhere else: no row of any table carries the secret, as text or as bytes.
        for table in metadata.sorted_tables:
            copies = await connection.scalar(
                text(
                    f"SELECT count(*) FROM {table.name} AS t "
                    "WHERE strpos(t::text, :plain) > 0 OR strpos(t::text, :hex) > 0"
                ),
                {"plain": secret_tail, "hex": secret_tail.encode().hex()},
            )
            assert copies == 0, table.name


# --- using a key --------------------------------------------------------------------------------------------


async def test_a_read_key_runs_queries_as_its_owner(alice: GraphQLClient, bob: GraphQLClient) -> None:
    assert (await create_pillar(alice, "Health"))["data"]["pillarCreate"]["userErrors"] == []
    assert (await create_pillar(bob, "Bob's own"))["data"]["pillarCreate"]["userErrors"] == []
    key, secret = await create_key(alice, "Dashboard", ["READ"])
    reader = key_client(alice, secret)

    data = await reader.ok("{ viewer { id email } pillars { totalCount nodes { name } } }")
    assert data["viewer"] == {"id": alice.user_id, "email": alice.email}
    assert data["pillars"] == {"totalCount": 1, "nodes": [{"name": "Health"}]}
    found = await reader.ok("query($id: ID!) { node(id: $id) { id } }", {"id": key["id"]})
    assert found["node"] == {"id": key["id"]}


async def test_a_read_key_cannot_run_any_mutation(alice: GraphQLClient) -> None:
    assert (await create_pillar(alice, "Health"))["data"]["pillarCreate"]["userErrors"] == []
    _, secret = await create_key(alice, "Dashboard", ["READ"])
    reader = key_client(alice, secret)

    body = await create_pillar(reader, "Written with a read key")
    assert codes(body) == ["FORBIDDEN"], body
    assert body.get("data") is None
    # A mutation of the sign-in kind is a mutation all the same.
    body = await reader.execute('mutation { tokenRevoke(input: {refreshToken: "aurum_rt_nothing"}) { ok } }')
    assert codes(body) == ["FORBIDDEN"], body
    # Nothing was written: the owner still has the one pillar.
    assert await pillar_names(alice) == ["Health"]
    # And the key still reads (refusing the mutation did not break it).
    assert (await reader.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 1


async def test_a_write_key_can_create(alice: GraphQLClient) -> None:
    _, secret = await create_key(alice, "Importer", ["WRITE"])
    writer = key_client(alice, secret)
    body = await create_pillar(writer, "Imported")
    assert "errors" not in body, body
    assert body["data"]["pillarCreate"]["userErrors"] == []
    assert await pillar_names(alice) == ["Imported"]


async def test_a_write_key_says_it_reads_too(alice: GraphQLClient, owner: AsyncEngine) -> None:
    key, secret = await create_key(alice, "Importer", ["WRITE"])
    assert key["scopes"] == ["READ", "WRITE"]
    assert [k["scopes"] for k in await keys_of(alice)] == [["READ", "WRITE"]]
    async with owner.connect() as connection:
        stored = await connection.scalar(
            text("SELECT scopes FROM api_keys WHERE id = :id"), {"id": uuid_of(key["id"], "ApiKey")}
        )
    assert stored == ["read", "write"]
    # What it says is what it does: it reads.
    assert (await key_client(alice, secret).ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id


async def test_using_a_key_sets_last_used_at(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "Dashboard", ["READ"])
    other, _ = await create_key(alice, "Unused", ["READ"])
    assert key["lastUsedAt"] is None
    await key_client(alice, secret).ok("{ viewer { id } }")
    used = {k["id"]: k["lastUsedAt"] for k in await keys_of(alice)}
    assert used[key["id"]] is not None
    assert used[other["id"]] is None


# --- revocation ---------------------------------------------------------------------------------------------


async def revoke(client: GraphQLClient, key_id: str) -> dict[str, Any]:
    data = await client.ok(
        "mutation($input: IdInput!) { apiKeyRevoke(input: $input) { apiKey { id revokedAt } "
        "userErrors { field message code } } }",
        {"input": {"id": key_id}},
    )
    payload: dict[str, Any] = data["apiKeyRevoke"]
    return payload


async def test_a_revoked_key_is_refused(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "Old integration", ["READ", "WRITE"])
    keyed = key_client(alice, secret)
    assert (await keyed.ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id

    revoked = await revoke(alice, key["id"])
    assert revoked["userErrors"] == []
    assert revoked["apiKey"]["id"] == key["id"]
    assert revoked["apiKey"]["revokedAt"] is not None

    assert await keyed.error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]
    assert codes(await create_pillar(keyed, "After revocation")) == ["UNAUTHENTICATED"]
    assert await pillar_names(alice) == []
    # Still listed, as revoked.
    assert [(k["id"], k["revokedAt"] is not None) for k in await keys_of(alice)] == [(key["id"], True)]


async def test_a_revoked_key_is_told_it_is_a_key_that_was_refused(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "Old integration", ["READ"])
    assert (await revoke(alice, key["id"]))["userErrors"] == []
    body = await key_client(alice, secret).execute("{ viewer { id } }")
    assert codes(body) == ["UNAUTHENTICATED"], body
    # Not "sign in again or refresh it": a key can do neither.
    assert [e["message"] for e in body["errors"]] == [INVALID_API_KEY], body


async def test_another_user_can_neither_see_nor_revoke_a_key(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    key, secret = await create_key(alice, "Alice's key", ["READ"])
    await create_key(bob, "Bob's key", ["READ"])

    attempt = await revoke(bob, key["id"])
    assert attempt["apiKey"] is None
    assert [e["code"] for e in attempt["userErrors"]] == ["NOT_FOUND"], attempt
    assert (await bob.ok("query($id: ID!) { node(id: $id) { id } }", {"id": key["id"]}))["node"] is None
    assert [k["name"] for k in await keys_of(bob)] == ["Bob's key"]

    # Alice's key is untouched and still works.
    assert [k["revokedAt"] for k in await keys_of(alice)] == [None]
    assert (await key_client(alice, secret).ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": "No scopes", "scopes": []}, ["input", "scopes"]),
        ({"name": "", "scopes": ["READ"]}, ["input", "name"]),
        ({"name": "   ", "scopes": ["READ"]}, ["input", "name"]),
        ({"name": "x" * 101, "scopes": ["READ"]}, ["input", "name"]),
    ],
)
async def test_bad_key_input_is_refused(
    alice: GraphQLClient, input: dict[str, Any], field: list[str]
) -> None:
    payload = await alice.mutate("apiKeyCreate", input, "apiKey { id } secret")
    assert payload["apiKey"] is None
    assert payload["secret"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("BAD_USER_INPUT", field)]
    assert await keys_of(alice) == []


async def test_a_hundred_character_name_is_fine(alice: GraphQLClient) -> None:
    key, _ = await create_key(alice, "x" * 100, ["READ"])
    assert key["name"] == "x" * 100


# --- what API keys may not do -------------------------------------------------------------------------------


def outcome(body: dict[str, Any]) -> tuple[list[str | None], list[str] | None]:
    """What a mutation answered: its GraphQL error codes; its payload's userErrors codes (None if none)."""
    payload = next(iter((body.get("data") or {}).values()), None)
    user_errors = [e["code"] for e in payload["userErrors"]] if isinstance(payload, dict) else None
    return codes(body), user_errors


REFUSED: tuple[list[str | None], list[str] | None] = (
    [],
    ["FORBIDDEN"],
)  # answered with its payload, carrying one FORBIDDEN user error


async def test_api_keys_cannot_manage_the_account_or_keys(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "Full access", ["READ", "WRITE"])
    keyed = key_client(alice, secret)
    before = (await alice.ok("{ viewer { displayName version } }"))["viewer"]
    answers: dict[str, dict[str, Any]] = {
        "apiKeyCreate": await keyed.execute(
            'mutation { apiKeyCreate(input: {name: "Escalated", scopes: [READ, WRITE]}) { apiKey { id } '
            "secret userErrors { code } } }"
        ),
        "apiKeyRevoke": await keyed.execute(
            "mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) { apiKey { id } userErrors { code } } }",
            {"id": key["id"]},
        ),
        "accountUpdate": await keyed.execute(
            'mutation { accountUpdate(input: {displayName: "Hijacked"}) { user { id } userErrors { code } } }'
        ),
        "accountExport": await keyed.execute(
            "mutation { accountExport { url expiresAt userErrors { code } } }"
        ),
        "accountDelete": await keyed.execute(
            "mutation($p: String!) { accountDelete(input: {password: $p}) { deletedId "
            "userErrors { code } } }",
            {"p": PASSWORD},
        ),
    }
    assert {name: outcome(body) for name, body in answers.items()} == dict.fromkeys(answers, REFUSED), answers
    assert answers["apiKeyCreate"]["data"]["apiKeyCreate"]["secret"] is None
    assert answers["accountExport"]["data"]["accountExport"]["url"] is None
    assert answers["accountDelete"]["data"]["accountDelete"]["deletedId"] is None

    # Nothing changed: one key, not revoked; the profile as it was; the account still there.
    assert [(k["id"], k["revokedAt"]) for k in await keys_of(alice)] == [(key["id"], None)]
    assert (await alice.ok("{ viewer { displayName version } }"))["viewer"] == before
    assert (await keyed.ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id


async def test_api_keys_cannot_change_the_password(alice: GraphQLClient) -> None:
    _, secret = await create_key(alice, "Full access", ["READ", "WRITE"])
    keyed = key_client(alice, secret)
    new_password = "a brand new passphrase 42"
    body = await keyed.execute(
        "mutation($old: String!, $new: String!) { passwordChange(input: {currentPassword: $old, "
        "newPassword: $new}) { accessToken refreshToken userErrors { code } } }",
        {"old": PASSWORD, "new": new_password},
    )
    # Nothing changed whatever the shape of the refusal: the old password still signs in, the new one does
    # not, and Alice's session (which a password change would end) still works.
    anonymous = GraphQLClient(alice.http)
    old = await anonymous.mutate("tokenCreate", {"email": alice.email, "password": PASSWORD}, "accessToken")
    assert old["userErrors"] == [], old
    assert old["accessToken"], old
    new = await anonymous.mutate(
        "tokenCreate", {"email": alice.email, "password": new_password}, "accessToken"
    )
    assert new["accessToken"] is None
    assert (await alice.ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id
    # Refused like the other account mutations: the payload with a FORBIDDEN user error, no tokens.
    assert outcome(body) == REFUSED, body
    assert body["data"]["passwordChange"]["accessToken"] is None


async def test_the_secret_never_appears_in_later_answers(alice: GraphQLClient) -> None:
    key, secret = await create_key(alice, "Audit", ["READ"])
    answers = [
        await alice.execute(LIST_KEYS),
        await alice.execute(
            f"query($id: ID!) {{ node(id: $id) {{ ... on ApiKey {{ {KEY_FIELDS} }} }} }}", {"id": key["id"]}
        ),
        await alice.execute(
            f"mutation($id: ID!) {{ apiKeyRevoke(input: {{id: $id}}) {{ apiKey {{ {KEY_FIELDS} }} }} }}",
            {"id": key["id"]},
        ),
    ]
    for answer in answers:
        assert "errors" not in answer, answer
        assert secret[len(KEY_PREFIX) :] not in json.dumps(answer)
