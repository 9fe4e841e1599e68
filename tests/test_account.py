"""The account: profile changes, the personal data export, deletion for good; and around it CORS and logs that
never carry a credential."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.app import build_app
from aurum.logging import REDACTED, configure_logging, redact
from aurum.resources import Resources
from aurum.settings import Settings, SettingsError, load_settings
from aurum.tables import metadata
from tests.conftest import register
from tests.support import GraphQLClient, scores_settled, serving, uuid_of

PASSWORD = "correct horse battery"  # what tests.conftest.register gives every account
USER_FIELDS = "id email displayName username timezone monthlyAlignmentGoal version"
SIGN_IN = """mutation($input: TokenCreateInput!) { tokenCreate(input: $input) {
  accessToken refreshToken user { id } userErrors { field message code } } }"""


def new_email() -> str:
    return f"account-{uuid.uuid4().hex[:12]}@example.com"


async def update(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    return await client.mutate("accountUpdate", input, f"user {{ {USER_FIELDS} }}")


async def viewer(client: GraphQLClient) -> dict[str, Any]:
    found: dict[str, Any] = (await client.ok(f"{{ viewer {{ {USER_FIELDS} }} }}"))["viewer"]
    return found


def errors_of(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    data = await GraphQLClient(http).ok(SIGN_IN, {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = data["tokenCreate"]
    return payload


async def with_refresh_token(
    client: GraphQLClient, name: str, refresh_token: str, selection: str
) -> dict[str, Any]:
    """Run tokenRefresh or tokenRevoke with ``refresh_token``."""
    return await client.mutate(name, {"refreshToken": refresh_token}, selection)


async def create(client: GraphQLClient, name: str, input: dict[str, Any], key: str) -> str:
    payload = await client.mutate(name, input, f"{key} {{ id }}")
    assert payload["userErrors"] == [], payload
    return str(payload[key]["id"])


async def build_hierarchy(client: GraphQLClient, label: str) -> dict[str, str]:
    """A pillar, an area, a project and a task named after ``label``; their global ids by kind."""
    ids = {"pillar": await create(client, "pillarCreate", {"name": f"{label} pillar"}, "pillar")}
    ids["area"] = await create(
        client, "areaCreate", {"pillarId": ids["pillar"], "name": f"{label} area"}, "area"
    )
    ids["project"] = await create(
        client, "projectCreate", {"areaId": ids["area"], "name": f"{label} project"}, "project"
    )
    ids["task"] = await create(
        client, "taskCreate", {"projectId": ids["project"], "name": f"{label} task"}, "task"
    )
    return ids


async def create_key(client: GraphQLClient, scopes: list[str]) -> tuple[str, str]:
    payload = await client.mutate(
        "apiKeyCreate", {"name": "Integration", "scopes": scopes}, "apiKey { prefix } secret"
    )
    assert payload["userErrors"] == [], payload
    return payload["apiKey"]["prefix"], payload["secret"]


# --- accountUpdate ------------------------------------------------------------------------------------------


async def test_update_the_profile(alice: GraphQLClient) -> None:
    before = await viewer(alice)
    payload = await update(
        alice, displayName="  Alice Liddell  ", timezone="Europe/Paris", monthlyAlignmentGoal=40
    )
    assert payload["userErrors"] == []
    user = payload["user"]
    assert (user["displayName"], user["timezone"], user["monthlyAlignmentGoal"]) == (
        "Alice Liddell",
        "Europe/Paris",
        40,
    )
    assert user["version"] == before["version"] + 1
    assert await viewer(alice) == user
    # Fields left out stay as they are; the goal can be cleared.
    payload = await update(alice, monthlyAlignmentGoal=None)
    assert payload["userErrors"] == []
    assert (payload["user"]["displayName"], payload["user"]["timezone"]) == ("Alice Liddell", "Europe/Paris")
    assert payload["user"]["monthlyAlignmentGoal"] is None


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/Paris ", "localtime", "posixrules"]
)
async def test_an_unknown_time_zone_is_refused(alice: GraphQLClient, zone: str) -> None:
    before = await viewer(alice)
    payload = await update(alice, timezone=zone, displayName="Not applied either")
    assert payload["user"] is None
    assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "timezone"])]
    assert await viewer(alice) == before


@pytest.mark.parametrize(
    ("goal", "accepted"), [(0, False), (-1, False), (100_001, False), (1, True), (100_000, True)]
)
async def test_the_monthly_goal_range(alice: GraphQLClient, goal: int, accepted: bool) -> None:
    before = await viewer(alice)
    payload = await update(alice, monthlyAlignmentGoal=goal)
    if accepted:
        assert payload["userErrors"] == []
        assert (await viewer(alice))["monthlyAlignmentGoal"] == goal
    else:
        assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "monthlyAlignmentGoal"])]
        assert await viewer(alice) == before


async def test_usernames_are_unique_whatever_the_case(alice: GraphQLClient, bob: GraphQLClient) -> None:
    handle = f"Handle_{uuid.uuid4().hex[:8]}"
    payload = await update(alice, username=handle)
    assert payload["userErrors"] == []
    assert payload["user"]["username"] == handle

    bob_before = await viewer(bob)
    for taken in (handle, handle.upper(), handle.lower()):
        payload = await update(bob, username=taken, displayName="Bob")
        assert payload["user"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("CONFLICT", ["input", "username"])
        ], payload
    assert await viewer(bob) == bob_before
    # Alice may change the case of her own; Bob may take a free one.
    assert (await update(alice, username=handle.lower()))["userErrors"] == []
    assert (await update(bob, username=handle + "_b"))["user"]["username"] == handle + "_b"


@pytest.mark.parametrize("username", ["ab", "x" * 51, "has space", "émile"])
async def test_a_malformed_username_is_refused(alice: GraphQLClient, username: str) -> None:
    payload = await update(alice, username=username)
    assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "username"])]
    assert (await viewer(alice))["username"] is None


async def test_a_stale_expected_version_is_a_conflict(alice: GraphQLClient) -> None:
    version = (await viewer(alice))["version"]
    first = await update(alice, displayName="First", expectedVersion=version)
    assert first["userErrors"] == []
    assert first["user"]["version"] == version + 1
    stale = await update(alice, displayName="Second", expectedVersion=version)
    assert stale["user"] is None
    assert errors_of(stale) == [("CONFLICT", ["input", "expectedVersion"])]
    current = await viewer(alice)
    assert (current["displayName"], current["version"]) == ("First", version + 1)


async def test_changing_the_email_needs_the_current_password(
    alice: GraphQLClient, http: httpx.AsyncClient
) -> None:
    target = new_email()
    for attempt in ({}, {"currentPassword": ""}, {"currentPassword": PASSWORD + "!"}):
        payload = await update(alice, email=target, **attempt)
        assert payload["user"] is None
        assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "currentPassword"])], attempt
    assert (await viewer(alice))["email"] == alice.email
    assert (await sign_in(http, target, PASSWORD))["accessToken"] is None


async def test_an_email_of_another_account_is_a_conflict(alice: GraphQLClient, bob: GraphQLClient) -> None:
    payload = await update(alice, email=" " + bob.email.upper(), currentPassword=PASSWORD)
    assert payload["user"] is None
    assert errors_of(payload) == [("CONFLICT", ["input", "email"])]
    assert (await viewer(alice))["email"] == alice.email
    assert (await viewer(bob))["email"] == bob.email


@pytest.mark.parametrize("email", ["not-an-email", "a@b@example.com", "x@example.com.", "..x@example.com"])
async def test_a_malformed_email_is_refused(alice: GraphQLClient, email: str) -> None:
    payload = await update(alice, email=email, currentPassword=PASSWORD)
    assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "email"])]
    assert (await viewer(alice))["email"] == alice.email


async def test_a_new_email_signs_in_and_the_old_one_no_longer(
    alice: GraphQLClient, http: httpx.AsyncClient
) -> None:
    target = new_email()
    payload = await update(alice, email="  " + target.upper(), currentPassword=PASSWORD)
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == target
    signed_in = await sign_in(http, target, PASSWORD)
    assert signed_in["userErrors"] == []
    assert signed_in["user"]["id"] == alice.user_id
    assert (await sign_in(http, alice.email, PASSWORD))["accessToken"] is None


# --- accountExport ------------------------------------------------------------------------------------------


async def export(client: GraphQLClient) -> dict[str, Any]:
    data = await client.ok("mutation { accountExport { url expiresAt userErrors { field message code } } }")
    payload: dict[str, Any] = data["accountExport"]
    assert payload["userErrors"] == [], payload
    return payload


def keys_anywhere(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


async def test_the_export_holds_the_users_data_and_no_credentials(
    alice: GraphQLClient, bob: GraphQLClient, http: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await build_hierarchy(alice, "Alice's")
    await build_hierarchy(bob, "Bob's")
    prefix, secret = await create_key(alice, ["READ"])
    started = datetime.now(UTC)

    payload = await export(alice)
    assert payload["url"].startswith(settings.public_url.rstrip("/") + "/account/exports/")
    expires_at = datetime.fromisoformat(payload["expiresAt"])
    assert started + timedelta(hours=23) < expires_at < started + timedelta(hours=25)

    path = urlsplit(payload["url"]).path
    response = await http.get(path, headers={"authorization": f"Bearer {alice.token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["cache-control"] == "no-store"

    document = orjson.loads(response.content)
    alice_uuid = str(uuid_of(alice.user_id, "User"))
    assert [(u["id"], u["email"]) for u in document["users"]] == [(alice_uuid, alice.email)]
    assert [p["name"] for p in document["pillars"]] == ["Alice's pillar"]
    assert [a["name"] for a in document["areas"]] == ["Alice's area"]
    assert [p["name"] for p in document["projects"]] == ["Alice's project"]
    assert [t["name"] for t in document["tasks"]] == ["Alice's task"]
    assert document["tasks"][0]["id"] == str(uuid_of(ids["task"], "Task"))
    assert [k["prefix"] for k in document["api_keys"]] == [prefix]
    # No credential of any kind, by name or by value; nobody else's data.
    assert not keys_anywhere(document) & {"password_hash", "token_hash", "key_hash"}
    body = response.text
    for secret_value in (secret, secret[len(prefix) :], str(alice.token), str(alice.refresh_token), PASSWORD):
        assert secret_value not in body
    assert "Bob's" not in body
    assert str(uuid_of(bob.user_id, "User")) not in body


async def test_only_the_owner_with_an_access_token_downloads_the_export(
    alice: GraphQLClient, bob: GraphQLClient, http: httpx.AsyncClient
) -> None:
    await build_hierarchy(alice, "Private")
    _, secret = await create_key(alice, ["READ", "WRITE"])
    path = urlsplit((await export(alice))["url"]).path

    async def status(target: str, credential: str | None) -> int:
        headers = {"authorization": f"Bearer {credential}"} if credential is not None else {}
        response = await http.get(target, headers=headers)
        if response.status_code != 200:
            assert "Private" not in response.text
        return response.status_code

    assert await status(path, str(alice.token)) == 200  # the control: the owner can
    assert await status(path, None) == 401
    assert await status(path, "not-a-token") == 401
    assert await status(path, secret) == 401  # an API key, even the owner's
    assert await status(path, str(bob.token)) == 404
    assert await status(f"/account/exports/{uuid.uuid4()}", str(alice.token)) == 404
    assert await status("/account/exports/not-a-uuid", str(alice.token)) == 404
    unauthenticated = await http.get(path)
    assert unauthenticated.headers.get("www-authenticate") == "Bearer"


# --- accountDelete ------------------------------------------------------------------------------------------


async def rows_of(owner: AsyncEngine, user_id: uuid.UUID) -> dict[str, int]:
    """How many rows each table holds for the user (the users table: the user's own row)."""
    counts: dict[str, int] = {}
    async with owner.connect() as connection:
        for table in metadata.sorted_tables:
            column = table.c.id if table.name == "users" else table.c.get("user_id")
            if column is None:
                continue
            counts[table.name] = int(
                await connection.scalar(select(func.count()).select_from(table).where(column == user_id)) or 0
            )
    return counts


async def delete_account(client: GraphQLClient, password: str) -> dict[str, Any]:
    return await client.mutate("accountDelete", {"password": password}, "deletedId")


async def test_deleting_with_a_wrong_password_deletes_nothing(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    await build_hierarchy(alice, "Kept")
    await scores_settled(owner, alice.user_id)  # the scoring job's own write comes after the mutations
    alice_uuid = uuid_of(alice.user_id, "User")
    before = await rows_of(owner, alice_uuid)
    for password in (PASSWORD + "!", ""):
        payload = await delete_account(alice, password)
        assert payload["deletedId"] is None
        assert errors_of(payload) == [("BAD_USER_INPUT", ["input", "password"])]
    assert await rows_of(owner, alice_uuid) == before
    assert before["users"] == 1
    assert before["tasks"] == 1
    assert (await alice.ok("{ viewer { id } pillars { totalCount } }")) == {
        "viewer": {"id": alice.user_id},
        "pillars": {"totalCount": 1},
    }


async def test_deleting_the_account_removes_everything_it_owns(
    http: httpx.AsyncClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    alice = await register(http)
    await build_hierarchy(alice, "Doomed")
    await build_hierarchy(bob, "Survivor")
    _, alice_key = await create_key(alice, ["READ", "WRITE"])
    _, bob_key = await create_key(bob, ["READ"])
    await export(alice)
    await export(bob)
    second = await sign_in(http, alice.email, PASSWORD)  # a second session, on another device
    assert second["userErrors"] == []
    alice_uuid, bob_uuid = uuid_of(alice.user_id, "User"), uuid_of(bob.user_id, "User")
    # Counted once the scoring job is done with their writes (it drops change rows and writes scores).
    await scores_settled(owner, alice.user_id)
    await scores_settled(owner, bob.user_id)

    alice_before, bob_before = await rows_of(owner, alice_uuid), await rows_of(owner, bob_uuid)
    # The check below can fail: before, Alice has rows all over the database.
    for table in (
        "users",
        "pillars",
        "areas",
        "projects",
        "tasks",
        "api_keys",
        "auth_sessions",
        "refresh_tokens",
    ):
        assert alice_before[table] > 0, (table, alice_before)
    assert alice_before["account_exports"] == 1

    payload = await delete_account(alice, PASSWORD)
    assert payload["userErrors"] == []
    assert payload["deletedId"] == alice.user_id

    # Every credential of Alice's is refused now.
    assert await alice.error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]
    assert await GraphQLClient(http, second["accessToken"]).error_codes("{ viewer { id } }") == [
        "UNAUTHENTICATED"
    ]
    assert await GraphQLClient(http, alice_key).error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]
    for refresh_token in (alice.refresh_token, second["refreshToken"]):
        refreshed = await with_refresh_token(
            GraphQLClient(http), "tokenRefresh", refresh_token, "accessToken refreshToken"
        )
        assert refreshed["accessToken"] is None
        assert refreshed["refreshToken"] is None
        assert [e["code"] for e in refreshed["userErrors"]] == ["UNAUTHENTICATED"], refreshed
    assert (await sign_in(http, alice.email, PASSWORD))["accessToken"] is None

    # Nothing of Alice's is left in any table; Bob's data is all there and still his.
    assert await rows_of(owner, alice_uuid) == dict.fromkeys(alice_before, 0)
    assert await rows_of(owner, bob_uuid) == bob_before
    data = await bob.ok("{ viewer { id } pillars { nodes { name } } tasks { totalCount } }")
    assert data == {
        "viewer": {"id": bob.user_id},
        "pillars": {"nodes": [{"name": "Survivor pillar"}]},
        "tasks": {"totalCount": 1},
    }
    assert (await GraphQLClient(http, bob_key).ok("{ viewer { id } }"))["viewer"]["id"] == bob.user_id


# --- CORS ---------------------------------------------------------------------------------------------------

ALLOWED_ORIGIN = "https://app.example"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type",
}


@pytest.fixture
async def cors_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """A second server on loopback, configured with one allowed origin."""
    configured = settings.model_copy(update={"cors_origins": [ALLOWED_ORIGIN]})
    async with serving(build_app(configured, resources), configured) as url:
        yield url


async def test_cors_allows_the_configured_origin_only(cors_url: str) -> None:
    async with httpx.AsyncClient(base_url=cors_url, timeout=30) as client:
        allowed = await client.options("/graphql", headers={"origin": ALLOWED_ORIGIN, **PREFLIGHT})
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "POST" in allowed.headers["access-control-allow-methods"]
        allowed_headers = {
            h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "content-type"} <= allowed_headers

        evil = await client.options("/graphql", headers={"origin": "https://evil.example", **PREFLIGHT})
        assert evil.status_code != 200
        assert "access-control-allow-origin" not in evil.headers

        # The requests themselves: the app's origin may read the answer, another may not.
        query = {"query": "{ __typename }"}
        answered = await client.post("/graphql", json=query, headers={"origin": ALLOWED_ORIGIN})
        assert answered.json() == {"data": {"__typename": "Query"}}
        assert answered.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        other = await client.post("/graphql", json=query, headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_without_configured_origins_there_is_no_cors(http: httpx.AsyncClient) -> None:
    preflight = await http.options("/graphql", headers={"origin": ALLOWED_ORIGIN, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    answered = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED_ORIGIN}
    )
    assert answered.json() == {"data": {"__typename": "Query"}}
    assert "access-control-allow-origin" not in answered.headers


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AURUM_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AURUM_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.usefixtures("clean_environment")
def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().cors_origins == []
    monkeypatch.setenv("AURUM_CORS_ORIGINS", "https://a.example, https://b.example")
    assert load_settings().cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("origins", ["*", "https://a.example,*", "app.example"])
def test_cors_origins_must_be_listed_origins(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    monkeypatch.setenv("AURUM_CORS_ORIGINS", origins)
    with pytest.raises(SettingsError, match="AURUM_CORS_ORIGINS"):
        load_settings()


# --- logs ---------------------------------------------------------------------------------------------------


@contextmanager
def production_logging(settings: Settings) -> Iterator[None]:
    """The logging the server configures at start-up, undone afterwards so other tests keep the defaults."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(settings)
    # Same processors; only no caching, so no module logger keeps this configuration after the test.
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield
    finally:
        structlog.configure(**saved)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


async def test_credentials_never_reach_the_logs(
    settings: Settings,
    http: httpx.AsyncClient,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with production_logging(settings):
        # What goes through the standard library's logging (uvicorn, httpx …) is checked too.
        caplog.set_level(logging.INFO)
        client = GraphQLClient(http)
        email = new_email()
        password = f"logged-never-{uuid.uuid4().hex}"
        wrong_password = f"wrong-guess-{uuid.uuid4().hex}"
        registered = await client.mutate(
            "accountRegister", {"email": email, "password": password}, "accessToken refreshToken"
        )
        assert registered["userErrors"] == []
        assert (await sign_in(http, email, wrong_password))["accessToken"] is None
        signed_in = await sign_in(http, email, password)
        assert signed_in["userErrors"] == []
        refreshed = await with_refresh_token(
            client, "tokenRefresh", signed_in["refreshToken"], "accessToken refreshToken"
        )
        assert refreshed["userErrors"] == []
        revoked = await with_refresh_token(client, "tokenRevoke", refreshed["refreshToken"], "ok")
        assert revoked["ok"] is True
        client.token = registered["accessToken"]
        _, api_key = await create_key(client, ["READ"])
        bogus = f"aurum_key_{uuid.uuid4().hex}"
        assert await GraphQLClient(http, bogus).error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]
        assert await GraphQLClient(http, "eyJhbGciOiJIUzI1NiJ9.e30.bogus").error_codes(
            "{ viewer { id } }"
        ) == ["UNAUTHENTICATED"]
        structlog.get_logger("t").info("x", password="p", detail="Bearer abc.def.ghi aurum_rt_xyz")

        out, err = capfd.readouterr()
    captured = out + err
    logged = captured + caplog.text
    tokens = [
        registered["accessToken"],
        registered["refreshToken"],
        signed_in["accessToken"],
        signed_in["refreshToken"],
        refreshed["accessToken"],
        refreshed["refreshToken"],
    ]
    secrets = [password, wrong_password, api_key, bogus, "abc.def.ghi", "aurum_rt_xyz", *tokens]
    # Not even in part: the random tail of every opaque secret, the signature of every JWT.
    secrets += [
        t.rsplit(".", 1)[-1] if t.startswith("eyJ") else t.split("_", 2)[-1] for t in [api_key, *tokens]
    ]
    assert [s for s in secrets if s in logged] == []
    assert REDACTED in captured
    line = next(line for line in captured.splitlines() if "detail=" in line)
    assert re.search(r"password=\W*\[redacted\]", line), line
    assert "'p'" not in line
    assert '"p"' not in line


def test_redact_by_the_name_of_a_field() -> None:
    event: dict[str, Any] = {
        "event": "signed in",
        "password": "hunter2",
        "new_password": "hunter3",
        "client_secret": "s3cret",
        "refresh_token": "opaque",
        "Authorization": "Basic dXNlcjpwYXNz",
        "cookie": "session=1",
        "apiKey": "k",
        "api_key": {"nested": "k"},
        "credentials": ["a", "b"],
        "user_id": "7d6f6d1e",
        "email": "user@example.com",
    }
    redacted = redact(None, "info", dict(event))
    sensitive = {"password", "new_password", "client_secret", "refresh_token", "Authorization", "cookie"}
    sensitive |= {"apiKey", "api_key", "credentials"}
    assert {k for k, v in redacted.items() if v == REDACTED} == sensitive
    assert {k: redacted[k] for k in ("event", "user_id", "email")} == {
        "event": "signed in",
        "user_id": "7d6f6d1e",
        "email": "user@example.com",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def.ghi", REDACTED),
        ("header was 'bearer   xyz' then", f"header was '{REDACTED} then"),
        ("refresh aurum_rt_AbC-123_x failed", f"refresh {REDACTED} failed"),
        ("key aurum_key_Zz09-_ used", f"key {REDACTED} used"),
        ("reset aurum_reset_tok3n", f"reset {REDACTED}"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", f"jwt {REDACTED} here"),
        ("Bearer abc.def.ghi aurum_rt_xyz", f"{REDACTED} {REDACTED}"),
        ("nothing secret: aurum rocks, user@example.com", "nothing secret: aurum rocks, user@example.com"),
    ],
)
def test_redact_by_the_look_of_a_value(value: str, expected: str) -> None:
    assert redact(None, "info", {"event": "e", "detail": value})["detail"] == expected
    assert redact(None, "info", {"event": value})["event"] == expected


async def test_confirming_the_password_in_a_session_is_throttled(alice: GraphQLClient) -> None:
    """A stolen access token must not become a way to guess the password."""
    for attempt in range(10):
        payload = await alice.mutate("accountDelete", {"password": f"guess {attempt}"}, "deletedId")
        assert [e["code"] for e in payload["userErrors"]] == ["BAD_USER_INPUT"], payload
    for name, input, field in (
        ("accountDelete", {"password": PASSWORD}, "password"),
        (
            "passwordChange",
            {"currentPassword": PASSWORD, "newPassword": "another long passphrase"},
            "currentPassword",
        ),
        ("accountUpdate", {"email": new_email(), "currentPassword": PASSWORD}, "currentPassword"),
    ):
        payload = await alice.mutate(name, input, "__typename")
        # The field named is one the input has: the password being confirmed.
        assert errors_of(payload) == [("RATE_LIMITED", ["input", field])], (name, payload)
        assert "try again in" in payload["userErrors"][0]["message"]
    assert (await viewer(alice))["email"] == alice.email


async def test_a_password_sent_along_with_a_change_that_needs_none_does_not_reset_the_count(
    alice: GraphQLClient,
) -> None:
    """accountUpdate takes currentPassword for an email change; with a name change it checks nothing, so it
    must not count as a right guess between wrong ones (from many addresses, the account's count is all that
    holds a guesser with a stolen token back)."""
    for attempt in range(9):
        alice.address = f"198.51.100.{attempt + 1}"
        payload = await alice.mutate("accountDelete", {"password": f"guess {attempt}"}, "deletedId")
        assert [e["code"] for e in payload["userErrors"]] == ["BAD_USER_INPUT"], payload
    alice.address = "198.51.100.100"
    renamed = await alice.mutate(
        "accountUpdate", {"displayName": "Alice", "currentPassword": "not even checked"}, "user { id }"
    )
    assert renamed["userErrors"] == []  # the tenth attempt on the account
    alice.address = "198.51.100.101"
    payload = await alice.mutate("accountDelete", {"password": "guess 9"}, "deletedId")
    assert errors_of(payload) == [("RATE_LIMITED", ["input", "password"])], payload


async def test_node_finds_the_viewer_and_nobody_else(alice: GraphQLClient, bob: GraphQLClient) -> None:
    found = await alice.ok(
        "query($id: ID!) { node(id: $id) { id ... on User { email } } }", {"id": alice.user_id}
    )
    assert found["node"] == {"id": alice.user_id, "email": alice.email}
    hidden = await alice.ok("query($id: ID!) { node(id: $id) { id } }", {"id": bob.user_id})
    assert hidden["node"] is None


def test_access_logs_keep_no_query_string() -> None:
    from aurum.logging import AccessLogRedaction

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/auth/google/callback?code=secret-code&state=s", "1.1", 302),
        None,
    )
    assert AccessLogRedaction().filter(record)
    message = record.getMessage()
    assert "secret-code" not in message
    assert "/auth/google/callback?[redacted]" in message


def test_nested_values_are_redacted() -> None:
    event = redact(None, "info", {"headers": {"authorization": "Bearer abc"}, "items": ["Bearer xyz"]})
    assert event == {"headers": {"authorization": REDACTED}, "items": [REDACTED]}


async def test_an_update_that_changes_nothing_keeps_the_accounts_version(alice: GraphQLClient) -> None:
    first = await alice.mutate("accountUpdate", {"displayName": "Alice"}, "user { version }")
    version = first["user"]["version"]
    for input in ({}, {"displayName": "Alice"}, {"displayName": " Alice "}, {"email": alice.email}):
        again = await alice.mutate("accountUpdate", input, "user { version }")
        assert again == {"user": {"version": version}, "userErrors": []}, input
    renamed = await alice.mutate("accountUpdate", {"displayName": "Alicia"}, "user { version }")
    assert renamed["user"]["version"] == version + 1
