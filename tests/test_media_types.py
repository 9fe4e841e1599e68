"""A POST body is read one way only: one Content-Type, and only the media types GraphQL over HTTP names
(application/json) or the multipart request spec uses (multipart/form-data, for uploads); anything else is
refused with 415 before it is read, as GraphQL clients read errors."""

from __future__ import annotations

import json

import httpx
import pytest

from aurum.settings import Settings
from tests.raw_http import post
from tests.support import GraphQLClient

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
CREATE = "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id } } }"
UPLOAD = "mutation($f: Upload!) { resourceUpload(input: {file: $f}) { resource { id } } }"
BOUNDARY = "aurumboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def auth(client: GraphQLClient) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {client.token}"), ("X-Forwarded-For", client.address)]


def create_body(padding: int = 0) -> bytes:
    variables = {"input": {"name": "Sneaked in"}, "padding": "x" * padding}
    return json.dumps({"query": CREATE, "variables": variables}).encode()


def upload_body() -> bytes:
    operations = json.dumps({"query": UPLOAD, "variables": {"f": None}})
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.f"]}}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="photo.png"\r\n'
        "Content-Type: image/png\r\n\r\n",
    ]
    return "".join(parts).encode() + PNG + f"\r\n--{BOUNDARY}--\r\n".encode()


async def counts(client: GraphQLClient) -> tuple[int, int]:
    data = await client.ok("{ pillars { totalCount } resources { totalCount } }")
    return data["pillars"]["totalCount"], data["resources"]["totalCount"]


async def test_an_upload_with_a_second_content_type_is_refused(server_url: str, alice: GraphQLClient) -> None:
    # Read as multipart by the view and as JSON by the guard, it was stored without the CSRF header.
    headers = [*auth(alice), ("Content-Type", MULTIPART), ("Content-Type", "application/json")]
    answer = await post(server_url, headers, upload_body())
    assert (answer.status, answer.codes()) == (400, ["BAD_REQUEST"]), answer
    assert "Content-Type" in answer.json()["errors"][0]["message"]
    assert await counts(alice) == (0, 0)


async def test_json_with_a_second_content_type_gets_the_json_limit(
    server_url: str, alice: GraphQLClient, settings: Settings
) -> None:
    # Read as JSON by the view and as multipart by the guard, it passed under the 51 MB cap of uploads.
    headers = [
        *auth(alice),
        ("Apollo-Require-Preflight", "true"),
        ("Content-Type", "application/json"),
        ("Content-Type", MULTIPART),
    ]
    answer = await post(server_url, headers, create_body(padding=2 * settings.max_request_bytes))
    assert (answer.status, answer.codes()) == (400, ["BAD_REQUEST"]), answer
    same_twice = [*auth(alice), ("Content-Type", "application/json"), ("Content-Type", "application/json")]
    answer = await post(server_url, same_twice, create_body())
    assert (answer.status, answer.codes()) == (400, ["BAD_REQUEST"]), answer
    assert await counts(alice) == (0, 0)


REFUSED = {
    "text/plain (a CORS simple request)": "text/plain",
    "a list that names JSON second": "text/plain, application/json",
    "a list that names JSON first": "application/json, text/plain",
    "a form (a CORS simple request)": "application/x-www-form-urlencoded",
    "GraphQL's own": "application/graphql",
    "a longer name": "application/jsonp",
    "JSON in another charset": "application/json; charset=latin-1",
    "nothing": "",
}


@pytest.mark.parametrize("content_type", REFUSED.values(), ids=REFUSED.keys())
async def test_other_media_types_are_refused_with_415(
    server_url: str, alice: GraphQLClient, content_type: str
) -> None:
    headers = [*auth(alice), ("Content-Type", content_type)] if content_type else auth(alice)
    answer = await post(server_url, headers, create_body())
    assert (answer.status, answer.codes()) == (415, ["UNSUPPORTED_MEDIA_TYPE"]), answer
    assert answer.headers["content-type"].startswith("application/json")
    assert "application/json" in answer.json()["errors"][0]["message"]
    assert await counts(alice) == (0, 0)


ACCEPTED = ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"']


@pytest.mark.parametrize("content_type", ACCEPTED)
async def test_json_is_accepted_with_its_parameters(
    server_url: str, alice: GraphQLClient, content_type: str
) -> None:
    answer = await post(server_url, [*auth(alice), ("Content-Type", content_type)], create_body())
    assert answer.status == 200, answer
    assert answer.json()["data"]["pillarCreate"]["pillar"]["id"]


async def test_get_queries_carry_no_body_and_are_unchanged(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"content-type": "text/plain"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}
