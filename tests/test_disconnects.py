"""A client that goes away in the middle of its request body is an everyday event, not a server failure: one
info line with the request id, no traceback, no answer attempted."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
import structlog

from tests.raw_http import connect, head
from tests.support import wait_for

JSON_START = b'{"query": "{ __typename }", "variables": {"padding": "'
MULTIPART_START = (
    b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": "mutation($f: Upload!)'
    b' { resourceUpload(input: {file: $f}) { resource { id } } }", "variables": {"f": null}}\r\n'
    b'--b\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.f"]}\r\n'
    b'--b\r\nContent-Disposition: form-data; name="0"; filename="big.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
)
BODIES = {
    "json": ([("Content-Type", "application/json")], JSON_START),
    "multipart": (
        [("Content-Type", "multipart/form-data; boundary=b"), ("Apollo-Require-Preflight", "true")],
        MULTIPART_START,
    ),
}


@pytest.mark.parametrize(("headers", "start"), BODIES.values(), ids=BODIES.keys())
async def test_a_client_leaving_mid_body_is_one_info_line(
    server_url: str, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, headers: Any, start: bytes
) -> None:
    request_id = uuid.uuid4().hex
    caplog.set_level(logging.INFO)
    with structlog.testing.capture_logs() as logs:
        _, writer = await connect(server_url)
        writer.write(head("/graphql", [*headers, ("X-Request-Id", request_id)], 100_000) + start)
        await writer.drain()
        writer.close()  # half the body sent, then gone
        await writer.wait_closed()

        def about_it() -> list[dict[str, Any]]:
            return [entry for entry in logs if entry.get("request_id") == request_id]

        await wait_for(lambda: bool(about_it()), "the server to notice the client leaving")
        # Served after it on the same process: the request above is over by now, whatever it logged.
        assert (await http.get("/health")).status_code == 200
    assert [(e["event"], e["log_level"]) for e in about_it()] == [("client disconnected mid-request", "info")]
    assert not [e for e in logs if e.get("exc_info")], logs
    # uvicorn's own: "Exception in ASGI application" with the traceback, or a complaint of no response.
    complaints = [
        r
        for r in caplog.records
        if r.exc_info or (r.name.startswith("uvicorn") and r.levelno >= logging.WARNING)
    ]
    assert complaints == [], [r.getMessage() for r in complaints]
