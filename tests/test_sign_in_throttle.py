"""Sign-in throttling over GraphQL: per account and address, per address, and the account's ceiling over a
day; a known device (its deviceToken) counted on its own, so strangers' failures never lock the owner out;
attempts that fail on our side (the database down) never counted; password-reset requests throttled alike."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aurum.app import build_app
from aurum.auth.throttle import Bucket, reserve
from aurum.embedded import start_postgres, stop_postgres
from aurum.migrate import upgrade
from aurum.resources import Resources, open_resources
from aurum.settings import Settings
from tests.conftest import register
from tests.support import GraphQLClient, serving, wait_for
from tests.test_realtime import app_server
from tests.test_sessions import PASSWORD, errors, new_email

AUTH = "accessToken refreshToken deviceToken expiresIn user { id email }"
WRONG = [("BAD_USER_INPUT", ["input", "password"])]


async def sign_in(
    client: GraphQLClient, email: str, password: str, device_token: str | None = None
) -> dict[str, Any]:
    input = {"email": email, "password": password}
    if device_token is not None:
        input["deviceToken"] = device_token
    return await client.mutate("tokenCreate", input, AUTH)


def assert_rate_limited(payload: dict[str, Any]) -> None:
    assert payload["accessToken"] is None, payload
    assert [e["code"] for e in payload["userErrors"]] == ["RATE_LIMITED"], payload
    assert "try again in" in payload["userErrors"][0]["message"], payload


def assert_signed_in(payload: dict[str, Any], email: str) -> None:
    assert payload["userErrors"] == [], payload
    assert payload["user"]["email"] == email
    assert payload["accessToken"]
    assert payload["deviceToken"]


async def guess(client: GraphQLClient, email: str, times: int) -> None:
    for attempt in range(times):
        payload = await sign_in(client, email, f"wrong password {attempt}")
        assert errors(payload) == WRONG, (attempt, payload)


async def device_token_of(owner: GraphQLClient) -> str:
    """The owner signs in from their own address once: the device token that device keeps."""
    payload = await sign_in(owner, owner.email, PASSWORD)
    assert_signed_in(payload, owner.email)
    return str(payload["deviceToken"])


def stranger(http: httpx.AsyncClient, address: str | None = None) -> GraphQLClient:
    client = GraphQLClient(http)
    if address is not None:
        client.address = address
    return client


# --- per account and address --------------------------------------------------------------------------------


async def test_wrong_passwords_from_one_address_lock_that_address_out_of_the_account(
    http: httpx.AsyncClient,
) -> None:
    owner, bystander = await register(http), await register(http)
    guesser = stranger(http)
    await guess(guesser, owner.email, 10)
    # The 11th attempt from there is refused before the password is looked at, even the right one, however
    # the email is spelled …
    assert_rate_limited(await sign_in(guesser, owner.email, PASSWORD))
    assert_rate_limited(await sign_in(guesser, owner.email.upper(), PASSWORD))
    # … while the owner signs in from their own address, and the guesser's address to another account.
    assert_signed_in(await sign_in(owner, owner.email, PASSWORD), owner.email)
    assert_signed_in(await sign_in(guesser, bystander.email, PASSWORD), bystander.email)


async def test_strangers_failures_do_not_lock_the_owner_out(http: httpx.AsyncClient) -> None:
    owner, other = await register(http), await register(http)
    device_token = await device_token_of(owner)
    for _ in range(15):  # more than the old account-wide limit, from as many addresses
        await guess(stranger(http), owner.email, 1)
    assert_signed_in(await sign_in(owner, owner.email, PASSWORD), owner.email)

    # A stranger behind the owner's own address (the same NAT) fills that address's bucket for the account:
    # the owner's known device still signs in from there, a device token of another account does not help.
    await guess(stranger(http, owner.address), owner.email, 10)
    assert_rate_limited(await sign_in(owner, owner.email, PASSWORD))
    assert_signed_in(await sign_in(owner, owner.email, PASSWORD, device_token), owner.email)
    foreign = await device_token_of(other)
    assert_rate_limited(await sign_in(owner, owner.email, PASSWORD, foreign))
    assert_rate_limited(await sign_in(owner, owner.email, PASSWORD, "not a device token"))


async def test_a_known_device_is_throttled_on_its_own(http: httpx.AsyncClient) -> None:
    owner = await register(http)
    device_token = await device_token_of(owner)
    for attempt in range(10):
        payload = await sign_in(owner, owner.email, f"a slip of the finger {attempt}", device_token)
        assert errors(payload) == WRONG, (attempt, payload)
    assert_rate_limited(await sign_in(owner, owner.email, PASSWORD, device_token))
    # Its failures were its own: from the same address without it, the account signs in.
    assert_signed_in(await sign_in(owner, owner.email, PASSWORD), owner.email)


async def test_a_device_token_grants_nothing_else(http: httpx.AsyncClient) -> None:
    owner = await register(http)
    device_token = await device_token_of(owner)
    assert await GraphQLClient(http, device_token).error_codes("{ viewer { email } }") == ["UNAUTHENTICATED"]
    refreshed = await owner.mutate("tokenRefresh", {"refreshToken": device_token}, "accessToken")
    assert errors(refreshed) == [("UNAUTHENTICATED", ["input", "refreshToken"])], refreshed


# --- per address ------------------------------------------------------------------------------------------


async def test_one_address_guessing_many_accounts_is_throttled(http: httpx.AsyncClient) -> None:
    accounts = [await register(http) for _ in range(3)]
    device_token = await device_token_of(accounts[1])
    guesser = stranger(http)
    for attempt in range(30):  # known and unknown accounts alike, none of them ten times
        email = accounts[attempt % 3].email if attempt % 2 else new_email("sprayed")
        await guess(guesser, email, 1)
    assert_rate_limited(await sign_in(guesser, new_email("sprayed"), PASSWORD))
    assert_rate_limited(await sign_in(guesser, accounts[0].email, PASSWORD))
    # Elsewhere the accounts sign in; from the guesser's address, a known device does.
    assert_signed_in(await sign_in(accounts[0], accounts[0].email, PASSWORD), accounts[0].email)
    assert_signed_in(await sign_in(guesser, accounts[1].email, PASSWORD, device_token), accounts[1].email)


async def test_an_ipv6_network_is_one_address(http: httpx.AsyncClient) -> None:
    owner = await register(http)
    for host in range(10):  # a subscriber rotating through the addresses of its /64
        await guess(stranger(http, f"2001:db8:7:1::{host + 1:x}"), owner.email, 1)
    assert_rate_limited(await sign_in(stranger(http, "2001:db8:7:1:ffff::1"), owner.email, PASSWORD))
    assert_signed_in(await sign_in(stranger(http, "2001:db8:7:2::1"), owner.email, PASSWORD), owner.email)


# --- the account's ceiling --------------------------------------------------------------------------------


@pytest.fixture
async def low_ceiling(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose accounts take 12 failed sign-ins a day from strangers, not 100."""
    async with (
        app_server(settings, resources, login_failures_per_account=12) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


async def test_the_account_ceiling_holds_against_a_distributed_guesser(
    low_ceiling: httpx.AsyncClient,
) -> None:
    http = low_ceiling
    owner = await register(http)
    device_token = await device_token_of(owner)  # a right password gives its place back
    for _ in range(12):  # one guess from each of as many addresses
        await guess(stranger(http), owner.email, 1)
    refused = await sign_in(stranger(http), owner.email, PASSWORD)
    assert_rate_limited(refused)
    assert "hours" in refused["userErrors"][0]["message"], refused
    # The ceiling holds for the owner's address too; not for their known device, nor inside their session.
    assert_rate_limited(await sign_in(owner, owner.email, PASSWORD))
    assert_signed_in(await sign_in(owner, owner.email, PASSWORD, device_token), owner.email)
    changed = await owner.mutate(
        "passwordChange",
        {"currentPassword": PASSWORD, "newPassword": "a fresh new passphrase 42"},
        "accessToken",
    )
    assert changed["userErrors"] == [], changed


# --- our failures ---------------------------------------------------------------------------------------


@pytest.fixture
async def own_database(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Settings, Path]]:
    """An embedded PostgreSQL of this test alone, migrated; its settings and directory."""
    directory = tmp_path / "pg"
    server, url = await asyncio.to_thread(start_postgres, directory, "aurum_outage")
    try:
        await upgrade(url)
        yield settings.model_copy(update={"database_url": url}), directory
    finally:
        server, _ = await asyncio.to_thread(start_postgres, directory, "aurum_outage")  # joins if running
        await asyncio.to_thread(stop_postgres, server)


async def test_sign_ins_while_the_database_is_down_never_count(own_database: tuple[Settings, Path]) -> None:
    own, directory = own_database
    async with (
        open_resources(own) as opened,
        serving(build_app(own, opened), own) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        owner = await register(http)
        handle, _ = await asyncio.to_thread(start_postgres, directory, "aurum_outage")  # the fixture's
        await asyncio.to_thread(stop_postgres, handle)
        for attempt in range(15):  # the owner retrying with the right password, more than any bucket holds
            body = await signing_in_body(owner)
            payload = (body.get("data") or {}).get("tokenCreate") or {}
            assert not payload.get("accessToken"), (attempt, body)
            assert "RATE_LIMITED" not in json.dumps(body), (attempt, body)
        await asyncio.to_thread(start_postgres, directory, "aurum_outage")
        assert_signed_in(await sign_in(owner, owner.email, PASSWORD), owner.email)


async def signing_in_body(client: GraphQLClient) -> dict[str, Any]:
    """The answer to a sign-in, whatever its HTTP status (the database being down is no client error)."""
    response = await client.post(
        "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) {"
        f" {AUTH} userErrors {{ code }} }} }}",
        {"input": {"email": client.email, "password": PASSWORD}},
    )
    body: dict[str, Any] = response.json()
    return body


# --- password-reset requests --------------------------------------------------------------------------------


async def test_password_reset_requests_are_throttled_per_account_and_address(http: httpx.AsyncClient) -> None:
    owner = await register(http)
    requester = stranger(http)
    for attempt in range(10):
        payload = await requester.mutate("passwordResetRequest", {"email": owner.email}, "ok")
        assert payload == {"ok": True, "userErrors": []}, (attempt, payload)
    refused = await requester.mutate("passwordResetRequest", {"email": owner.email}, "ok")
    assert errors(refused) == [("RATE_LIMITED", ["input", "email"])], refused
    # The owner still asks for one from their own address.
    mine = await owner.mutate("passwordResetRequest", {"email": owner.email}, "ok")
    assert mine == {"ok": True, "userErrors": []}, mine


# --- many at once -----------------------------------------------------------------------------------------


async def test_aliased_sign_ins_in_one_request_are_throttled(http: httpx.AsyncClient) -> None:
    victim = await register(http)
    attacker = stranger(http)
    fields = " ".join(
        f"a{i}: tokenCreate(input: {{email: {json.dumps(victim.email)}, password: "
        f"{json.dumps(f'guess number {i}')}}}) {{ accessToken userErrors {{ code message field }} }}"
        for i in range(15)
    )
    data = await attacker.ok(f"mutation {{ {fields} }}")
    codes = [[e["code"] for e in data[f"a{i}"]["userErrors"]] for i in range(15)]
    # Mutation fields run one after another: the first ten are checked, the rest refused unchecked.
    assert codes == [["BAD_USER_INPUT"]] * 10 + [["RATE_LIMITED"]] * 5, codes
    for i in range(10, 15):
        assert_rate_limited(data[f"a{i}"])
    assert_rate_limited(await sign_in(attacker, victim.email, PASSWORD))


async def test_parallel_sign_ins_check_no_more_passwords_than_the_limit(http: httpx.AsyncClient) -> None:
    victim = await register(http)
    attacker = stranger(http)
    answers = await asyncio.gather(
        *(sign_in(attacker, victim.email, f"parallel guess {i}") for i in range(25))
    )
    codes = sorted(e["code"] for answer in answers for e in answer["userErrors"])
    assert codes.count("BAD_USER_INPUT") == 10, codes
    assert codes.count("RATE_LIMITED") == 15, codes


async def test_a_place_given_back_after_its_window_ended_leaves_nothing(resources: Resources) -> None:
    """A DECR of a key that expired meanwhile would make it again at -1 with no expiry, never to empty."""
    bucket = Bucket(f"aurum:test:throttle:{uuid.uuid4().hex}", limit=5, window=1)
    reservation = await reserve(resources.redis, [bucket], "test")

    async def window_ended() -> bool:
        return not await resources.redis.exists(bucket.key)

    await wait_for(window_ended, "the bucket's window to end", timeout=5)
    await reservation.give_back()
    assert not await resources.redis.exists(bucket.key)
