"""Requests to addresses people give the server: production refuses plain http and anything that resolves
to a private, loopback, link-local or reserved address (checked on every hop); development allows loopback."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aurum.outbound import OutboundRefused, check_host, check_url, fetch, normalised
from aurum.settings import Settings
from tests.support import serving


def test_webcal_is_https() -> None:
    assert normalised(" webcal://calendar.example.com/a.ics#x ") == "https://calendar.example.com/a.ics"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://calendar.example.com/a.ics", "must start with https://"),
        ("file:///etc/passwd", "must start with"),
        ("https:///a.ics", "no host"),
        ("https://ana:secret@calendar.example.com/a.ics", "user name or password"),
    ],
)
def test_production_urls_must_be_plain_https(url: str, says: str) -> None:
    with pytest.raises(OutboundRefused, match=says):
        check_url(url, development=False)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "fd00::1",
        "0.0.0.0",
    ],
)
async def test_production_refuses_addresses_off_the_public_internet(host: str) -> None:
    with pytest.raises(OutboundRefused, match="not on the public internet"):
        await check_host(host, 443, development=False)


async def test_a_public_address_passes() -> None:
    await check_host("93.184.215.14", 443, development=False)


async def test_answers_are_capped_and_redirects_bounded(settings: Settings) -> None:
    async def big(request: Request) -> Response:
        return Response(b"x" * 5000, media_type="text/calendar")

    async def loop(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "/loop"})

    async with serving(Starlette(routes=[Route("/big", big), Route("/loop", loop)]), settings) as url:
        assert (
            await fetch(url + "/big", development=True, max_bytes=5000, accept="*/*")
        ).content == b"x" * 5000
        with pytest.raises(OutboundRefused, match="larger than"):
            await fetch(url + "/big", development=True, max_bytes=4999, accept="*/*")
        with pytest.raises(OutboundRefused, match="redirects more than 3 times"):
            await fetch(url + "/loop", development=True, max_bytes=10, accept="*/*")
        with pytest.raises(OutboundRefused, match="not on the public internet"):
            await fetch(
                url.replace("http://", "https://") + "/big", development=False, max_bytes=10, accept="*/*"
            )
