"""Uploads that are wrong in the ways clients get them wrong: a file sent as a plain field, a value that is no
file, too many parts, a file where text was asked for, and "text" that is not text. Each gets a clear answer
with a code, never a masked 500 or a page of plain text, and nothing is stored."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from aurum.resource.storage import CHUNK
from aurum.settings import Settings
from tests.support import GraphQLClient
from tests.test_resources import PNG, stored_files

UPLOAD = """mutation($input: ResourceUploadInput!) { resourceUpload(input: $input) {
  resource { filename contentType kind size } userErrors { field message code } } }"""
AVATAR = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  user { avatarUrl } userErrors { field message code } } }"""
Part = tuple[str, str | None, bytes]  # name, filename (None: a plain field), content


def multipart(parts: list[Part]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = "\r\nContent-Type: application/octet-stream" if filename else ""
        body += (
            f"--{boundary}\r\nContent-Disposition: {disposition}{kind}\r\n\r\n".encode() + content + b"\r\n"
        )
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


async def send(
    client: GraphQLClient, operations: dict[str, Any], files: dict[str, list[str]], *parts: Part
) -> httpx.Response:
    content_type, body = multipart(
        [
            ("operations", None, json.dumps(operations).encode()),
            ("map", None, json.dumps(files).encode()),
            *parts,
        ]
    )
    headers = {
        "authorization": f"Bearer {client.token}",
        "content-type": content_type,
        "apollo-require-preflight": "true",
    }
    return await client.http.post("/graphql", content=body, headers=headers)


def upload_of(query: str, path: str) -> dict[str, Any]:
    """The operations of ``query`` with the file's variable left null, as the spec's clients send it."""
    input_field = path.rsplit(".", 1)[-1]
    return {"query": query, "variables": {"input": {input_field: None}}}


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["errors"][0]
    return response.status_code, error["extensions"]["code"], error["message"]


@pytest.mark.parametrize(
    ("query", "path"),
    [(UPLOAD, "variables.input.file"), (AVATAR, "variables.input.avatar")],
    ids=["resourceUpload", "accountUpdate avatar"],
)
async def test_a_file_sent_as_a_plain_field_is_a_bad_request(
    alice: GraphQLClient, settings: Settings, query: str, path: str
) -> None:
    response = await send(alice, upload_of(query, path), {"0": [path]}, ("0", None, b"just text"))
    status, code, message = error_of(response)
    assert (status, code) == (400, "BAD_REQUEST"), response.text
    assert "'0'" in message, message
    assert "filename" in message, message
    assert stored_files(settings, alice) == []


@pytest.mark.parametrize("value", ["not a file", 7, {"filename": "x.png"}, ["x"]])
async def test_a_value_that_is_no_file_is_bad_user_input(
    alice: GraphQLClient, settings: Settings, value: object
) -> None:
    payload = (await alice.ok(UPLOAD, {"input": {"file": value}}))["resourceUpload"]
    assert payload["resource"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "file"], "BAD_USER_INPUT")]
    assert "multipart" in payload["userErrors"][0]["message"]
    avatar = (await alice.ok(AVATAR, {"input": {"avatar": value, "displayName": "Not saved"}}))[
        "accountUpdate"
    ]
    assert [(e["field"], e["code"]) for e in avatar["userErrors"]] == [
        (["input", "avatar"], "BAD_USER_INPUT")
    ]
    assert (await alice.ok("{ viewer { displayName } }"))["viewer"]["displayName"] != "Not saved"
    assert stored_files(settings, alice) == []


async def test_more_files_than_the_limit_get_a_graphql_answer(
    alice: GraphQLClient, settings: Settings
) -> None:
    files = [(str(i), f"f{i}.png", PNG) for i in range(1001)]
    response = await send(
        alice, upload_of(UPLOAD, "variables.input.file"), {"0": ["variables.input.file"]}, *files
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    status, code, message = error_of(response)
    assert (status, code) == (400, "BAD_REQUEST")
    assert "1000" in message or "1,000" in message, message
    assert stored_files(settings, alice) == []


async def test_a_file_where_text_is_asked_for_is_named_as_a_file(alice: GraphQLClient) -> None:
    query = "mutation($name: String!) { pillarCreate(input: {name: $name}) { pillar { id } } }"
    response = await send(
        alice,
        {"query": query, "variables": {"name": None}},
        {"0": ["variables.name"]},
        ("0", "photo.png", PNG),
    )
    status, code, message = error_of(response)
    assert (status, code) == (200, "GRAPHQL_VALIDATION_FAILED"), response.text
    assert "instance" not in message, message
    assert "a file ('photo.png')" in message, message
    assert (await alice.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 0


# ---- text files are text -----------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(range(256))


async def upload_text(
    client: GraphQLClient, filename: str, content: bytes, declared: str = "text/plain"
) -> Any:
    response = await client.http.post(
        "/graphql",
        data={
            "operations": json.dumps(upload_of(UPLOAD, "file")),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, content, declared)},
        headers={"authorization": f"Bearer {client.token}", "apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["resourceUpload"]


NOT_TEXT = {
    "an executable named .txt": ("tool.txt", ELF, "text/plain"),
    "a NUL past the first chunk": ("table.csv", b"a,b\n" * (CHUNK // 4) + b"1,\x00\n", "text/csv"),
    "Latin-1, not UTF-8": ("notes.md", "# Café\n".encode("latin-1"), "text/markdown"),
    "a control character": ("notes.txt", b"bell \x07 here\n", "text/plain"),
    "UTF-8 cut short at the end": ("notes.txt", "fin é".encode()[:-1], "text/plain"),
    "UTF-16": ("notes.txt", "hello".encode("utf-16"), "text/plain"),
    "declared text without a name": ("notes", ELF, "text/plain"),
}


@pytest.mark.parametrize(("filename", "content", "declared"), NOT_TEXT.values(), ids=NOT_TEXT.keys())
async def test_text_kinds_must_be_text(
    alice: GraphQLClient, settings: Settings, filename: str, content: bytes, declared: str
) -> None:
    payload = await upload_text(alice, filename, content, declared)
    assert payload["resource"] is None, payload
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "file"], "BAD_USER_INPUT")]
    assert "UTF-8" in payload["userErrors"][0]["message"], payload
    assert stored_files(settings, alice) == []


TEXT = {
    "tabs, CRLF and a form feed": ("notes.txt", b"a\tb\r\nc\x0cd\n", "text/plain"),
    "a byte order mark and emoji": ("notes.md", "\ufeff# Plans 🌱\n".encode(), "text/markdown"),
    "a character across the chunk boundary": ("big.csv", b"x" * (CHUNK - 1) + "é,ü\n".encode(), "text/csv"),
    "empty": ("empty.txt", b"", "text/plain"),
}


@pytest.mark.parametrize(("filename", "content", "declared"), TEXT.values(), ids=TEXT.keys())
async def test_real_text_is_stored_as_text(
    alice: GraphQLClient, filename: str, content: bytes, declared: str
) -> None:
    payload = await upload_text(alice, filename, content, declared)
    assert payload["userErrors"] == [], payload
    assert (payload["resource"]["contentType"], payload["resource"]["size"]) == (declared, len(content))


MALFORMED = {
    "a map that is a list": ({"0": None}, [["variables.input.file"]], "map"),
    "a map of a path, not a list": (None, {"0": "variables.input.file"}, "map"),
    "a path through a string": ({"input": "text"}, {"0": ["variables.input.file"]}, "path"),
    "a path past the end of a list": ({"input": {"file": []}}, {"0": ["variables.input.file.3"]}, "path"),
}


@pytest.mark.parametrize(("variables", "files", "named"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_map_is_a_bad_request(
    alice: GraphQLClient, variables: dict[str, Any] | None, files: Any, named: str
) -> None:
    operations = {"query": UPLOAD, "variables": variables or {"input": {"file": None}}}
    response = await send(alice, operations, files, ("0", "photo.png", PNG))
    status, code, message = error_of(response)
    assert (status, code) == (400, "BAD_REQUEST"), response.text
    assert named in message, message


async def test_a_multipart_body_that_cannot_be_read_is_a_bad_request(alice: GraphQLClient) -> None:
    headers = {"authorization": f"Bearer {alice.token}", "apollo-require-preflight": "true"}
    no_boundary = await alice.http.post(
        "/graphql", content=b"--x\r\n", headers={**headers, "content-type": "multipart/form-data"}
    )
    operations_as_a_file = await send(
        alice, {}, {}, ("operations", "operations.json", json.dumps(upload_of(UPLOAD, "file")).encode())
    )
    for response in (no_boundary, operations_as_a_file):
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert error_of(response)[:2] == (400, "BAD_REQUEST"), response.text
