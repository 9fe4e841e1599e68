"""Client addresses: X-Forwarded-For is believed only from the proxies AURUM_TRUSTED_PROXIES names (none by
default), so a client talking to the server directly cannot choose the address it is throttled by.

A proxy here is a client connecting from an address of its own on the loopback network (all of 127.0.0.0/8
is local), so what it uses up of a throttle is its own."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from aurum.app import build_app
from aurum.resources import Resources
from aurum.settings import Settings, SettingsError, load_settings
from tests.support import GraphQLClient, serving

PASSWORD = "correct horse battery"

KEY = secrets.token_urlsafe(48)


def loopback_address() -> str:
    return f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@asynccontextmanager
async def client_of(
    settings: Settings, resources: Resources, source: str, **changes: Any
) -> AsyncIterator[GraphQLClient]:
    """A server configured with ``changes``, and a client connecting to it from ``source``."""
    configured = settings.model_copy(update=changes)
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with (
        serving(build_app(configured, resources), configured) as url,
        httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as http,
    ):
        yield GraphQLClient(http)


async def failed_sign_ins(client: GraphQLClient, count: int, network: str) -> list[list[str]]:
    """``count`` wrong sign-ins to unknown accounts, each claiming another forwarded address; their codes."""
    codes = []
    for attempt in range(count):
        client.address = f"{network}.{attempt + 1}"
        email = f"nobody-{uuid.uuid4().hex[:12]}@example.com"
        payload = await client.mutate("tokenCreate", {"email": email, "password": PASSWORD}, "accessToken")
        codes.append([error["code"] for error in payload["userErrors"]])
    return codes


async def seen_address(client: GraphQLClient, forwarded: str) -> str:
    """The address the server records for a sign-up that claims to be forwarded for ``forwarded``."""
    client.address = forwarded
    email = f"seen-{uuid.uuid4().hex[:12]}@example.com"
    payload = await client.mutate(
        "accountRegister", {"email": email, "password": PASSWORD, "timezone": "UTC"}, "accessToken"
    )
    assert payload["userErrors"] == [], payload
    client.token = payload["accessToken"]
    sessions = (await client.ok("{ sessions { clientAddress } }"))["sessions"]
    address: str = sessions[0]["clientAddress"]
    return address


async def test_by_default_no_forwarded_header_is_believed_not_even_from_loopback(
    settings: Settings, resources: Resources
) -> None:
    default: list[str] = Settings.model_fields["trusted_proxies"].get_default(call_default_factory=True)
    assert default == []
    limit = settings.login_failures_per_address
    # From 127.0.0.1, which uvicorn believes by default; a short window lets its throttle go soon after.
    changes = {"trusted_proxies": default, "login_window_seconds": 10}
    async with client_of(settings, resources, "127.0.0.1", **changes) as client:
        codes = await failed_sign_ins(client, limit + 2, "192.0.2")
        # The claimed addresses were different each time; the one throttled is where they came from.
        assert codes == [["BAD_USER_INPUT"]] * limit + [["RATE_LIMITED"]] * 2, codes
        assert await seen_address(client, "192.0.2.200") == "127.0.0.1"


async def test_a_trusted_proxy_is_believed_and_only_it(settings: Settings, resources: Resources) -> None:
    limit = settings.login_failures_per_address
    proxy = loopback_address()
    network = proxy.rsplit(".", 1)[0] + ".0/24"
    async with client_of(settings, resources, proxy, trusted_proxies=[network]) as client:
        codes = await failed_sign_ins(client, limit + 2, "192.0.2")
        assert codes == [["BAD_USER_INPUT"]] * (limit + 2), codes  # each client's first failure
        assert await seen_address(client, "198.51.100.7") == "198.51.100.7"
    stranger = loopback_address()
    async with client_of(settings, resources, stranger, trusted_proxies=[network]) as client:
        assert await seen_address(client, "198.51.100.8") == stranger


def test_trusted_proxies_are_read_as_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURUM_TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16,fd00::/8 ,192.168.1.9/32")
    assert load_settings(secret_key=KEY).trusted_proxies == [
        "10.0.0.5",
        "10.1.0.0/16",
        "fd00::/8",
        "192.168.1.9",
    ]


@pytest.mark.parametrize("value", ["*", "lb.internal", "10.0.0.300", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_no_address_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AURUM_TRUSTED_PROXIES", f"10.0.0.1,{value}")
    with pytest.raises(SettingsError) as raised:
        load_settings(secret_key=KEY)
    assert "AURUM_TRUSTED_PROXIES" in str(raised.value), raised.value
    assert value in str(raised.value), raised.value
