"""Requests the server makes to addresses people give it (calendar subscriptions, later webhooks).

In production such a URL must be https and must not lead to a private, loopback, link-local or otherwise
reserved address, checked when the request is made (a name can change what it points at), so that nobody
can make the server read its own network. Development allows http and loopback, which tests serve on.
Bodies are capped and the whole exchange has a deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 3


class OutboundRefused(ValueError):
    """The URL may not be fetched, or the answer was not usable; the message says why in one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str


def normalised(url: str) -> str:
    """``webcal://`` (how calendar apps link a subscription) is https."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


def check_url(url: str, *, development: bool) -> str:
    parts = urlsplit(url)
    allowed = ("https", "http") if development else ("https",)
    if parts.scheme not in allowed:
        raise OutboundRefused(f"the address must start with {' or '.join(s + '://' for s in allowed)}")
    if not parts.hostname:
        raise OutboundRefused("the address has no host")
    if parts.username or parts.password:
        raise OutboundRefused("the address must not carry a user name or password")
    return parts.hostname


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_host(host: str, port: int, *, development: bool) -> None:
    """Every address the name resolves to must be public (outside development)."""
    if development:
        return
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OutboundRefused(f"the host '{host}' could not be found") from error
    addresses = {info[4][0] for info in found}
    if not addresses or not all(_public(str(a)) for a in addresses):
        raise OutboundRefused(f"the host '{host}' is not on the public internet")


async def fetch(url: str, *, development: bool, max_bytes: int, accept: str) -> Fetched:
    """GET the URL, following a few redirects (each checked), reading at most ``max_bytes``."""
    current = normalised(url)
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host = check_url(current, development=development)
            port = urlsplit(current).port or (443 if current.startswith("https") else 80)
            await check_host(host, port, development=development)
            try:
                answer = await _get(client, current, max_bytes, accept)
            except httpx.HTTPError as error:
                raise OutboundRefused(f"the address could not be read ({type(error).__name__})") from error
            if isinstance(answer, str):
                current = answer
                continue
            return answer
    raise OutboundRefused(f"the address redirects more than {MAX_REDIRECTS} times")


async def _get(client: httpx.AsyncClient, url: str, max_bytes: int, accept: str) -> Fetched | str:
    """The answer, or where a redirect points."""
    headers = {"accept": accept, "user-agent": "AurumLife/1 (+https://aurum.life)"}
    async with client.stream("GET", url, headers=headers) as response:
        if response.is_redirect and "location" in response.headers:
            return str(response.url.join(response.headers["location"]))
        if response.status_code != 200:
            raise OutboundRefused(f"the address answered HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise OutboundRefused(f"the answer is larger than {max_bytes // (1024 * 1024)} MB")
        return Fetched(str(response.url), bytes(body), response.headers.get("content-type", ""))
