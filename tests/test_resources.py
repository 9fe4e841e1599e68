"""Files through real multipart requests (the GraphQL multipart request spec): upload, caps counted while
the bytes stream, sniffed content, owner-only download, and bytes removed with the row (directly or by
cascade)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aurum.resource.routes import MAX_BODY
from aurum.resource.service import IMAGE_CAP, storage_for, sweep
from aurum.resources import Resources
from aurum.settings import Settings
from tests.hierarchy import chain, make_pillar, make_task
from tests.support import GraphQLClient, uuid_of, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
UPLOAD = """mutation($input: ResourceUploadInput!) { resourceUpload(input: $input) {
  resource { id filename contentType size kind checksum url parent { __typename id } }
  userErrors { field message code } } }"""
PREFLIGHT = {"apollo-require-preflight": "true"}


def form(parent_id: str | None) -> dict[str, str]:
    operations = {"query": UPLOAD, "variables": {"input": {"file": None, "parentId": parent_id}}}
    return {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})}


def headers_of(client: GraphQLClient, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {client.token}", "x-forwarded-for": client.address, **(extra or {})}


async def post_upload(
    client: GraphQLClient,
    filename: str,
    content: bytes,
    content_type: str,
    parent_id: str | None = None,
    headers: dict[str, str] | None = PREFLIGHT,
) -> httpx.Response:
    return await client.http.post(
        "/graphql",
        data=form(parent_id),
        files={"0": (filename, content, content_type)},
        headers=headers_of(client, headers),
    )


async def upload(client: GraphQLClient, filename: str, content: bytes, content_type: str, **kw: Any) -> Any:
    response = await post_upload(client, filename, content, content_type, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["resourceUpload"]


async def streamed(
    client: GraphQLClient, filename: str, head: bytes, size: int, content_type: str
) -> httpx.Response:
    """A multipart upload sent in chunks, without a Content-Length (chunked)."""
    boundary = uuid.uuid4().hex
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form(None).items()
    )
    file_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield parts + file_head + head
        left = size - len(head)
        while left > 0:
            step = min(left, 1024 * 1024)
            yield b"\x00" * step
            left -= step
        yield tail

    headers = headers_of(client, {**PREFLIGHT, "content-type": f"multipart/form-data; boundary={boundary}"})
    return await client.http.post("/graphql", content=body(), headers=headers)


async def headers_only(client: GraphQLClient, length: int) -> tuple[int, bytes]:
    """Send only the head of a multipart POST announcing ``length`` bytes; the answer's status and body."""
    url = httpx.URL(str(client.http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {client.token}\r\n"
        "Apollo-Require-Preflight: true\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def folder(settings: Settings, client: GraphQLClient) -> Path:
    return settings.data_dir / "files" / str(uuid_of(client.user_id))


def stored_files(settings: Settings, client: GraphQLClient) -> list[Path]:
    path = folder(settings, client)
    return sorted(path.iterdir()) if path.is_dir() else []


async def delete(client: GraphQLClient, kind: str, node_id: str) -> Any:
    operation = (
        f"mutation($input: IdInput!) {{ r: {kind}Delete(input: $input) {{ deletedId "
        "userErrors { field message code } } }"
    )
    return (await client.ok(operation, {"input": {"id": node_id}}))["r"]


def problems(payload: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(e["field"] or ()), e["code"]) for e in payload["userErrors"]]


async def download(client: GraphQLClient, url: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.http.get(httpx.URL(url).path, headers=headers)


async def test_upload_and_download_round_trip(alice: GraphQLClient, settings: Settings) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project)
    payload = await upload(alice, "../../etc/Ré sumé.png", PNG, "image/png", parent_id=task)
    assert payload["userErrors"] == []
    resource = payload["resource"]
    assert resource["filename"] == "Ré sumé.png"
    assert (resource["contentType"], resource["kind"], resource["size"]) == ("image/png", "IMAGE", len(PNG))
    assert resource["checksum"] == hashlib.sha256(PNG).hexdigest()
    assert resource["parent"] == {"__typename": "Task", "id": task}
    # Kept under the data directory by a name of the server's making, never the client's.
    files = stored_files(settings, alice)
    assert [f.name for f in files] == [str(uuid_of(resource["id"], "Resource"))]
    assert files[0].read_bytes() == PNG

    response = await download(alice, resource["url"], alice.token)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == resource["checksum"]
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="R_ sum_.png"'), disposition
    assert "filename*=UTF-8''R%C3%A9%20sum%C3%A9.png" in disposition

    listed = await alice.ok(
        "query($p: ID) { resources(first: 10, filter: {parentId: $p}) { totalCount nodes { id } } }",
        {"p": task},
    )
    assert listed["resources"] == {"totalCount": 1, "nodes": [{"id": resource["id"]}]}
    other = await alice.ok(
        "query($p: ID) { resources(filter: {parentId: $p}) { totalCount } }", {"p": project}
    )
    assert other["resources"]["totalCount"] == 0


async def test_download_needs_the_owners_credentials(alice: GraphQLClient, bob: GraphQLClient) -> None:
    resource = (await upload(alice, "report.pdf", PDF, "application/pdf"))["resource"]
    assert resource["kind"] == "DOCUMENT"
    response = await download(alice, resource["url"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await download(alice, resource["url"], "not-a-token")).status_code == 401
    assert (await download(bob, resource["url"], bob.token)).status_code == 404
    missing = resource["url"].rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    assert (await download(alice, missing, alice.token)).status_code == 404
    assert (await download(alice, resource["url"], alice.token)).content == PDF


async def test_multipart_without_a_preflight_header_is_refused(
    alice: GraphQLClient, settings: Settings
) -> None:
    response = await post_upload(alice, "photo.png", PNG, "image/png", headers={})
    assert response.status_code == 400
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert stored_files(settings, alice) == []
    # The Apollo client's own header will do as well.
    named = {"x-apollo-operation-name": "Upload"}
    payload = (await post_upload(alice, "photo.png", PNG, "image/png", headers=named)).json()
    assert payload["data"]["resourceUpload"]["userErrors"] == []


@pytest.mark.parametrize(
    ("filename", "content_type", "content"),
    [
        ("photo.png", "image/png", PDF),  # a PDF named and declared as a PNG
        ("photo.png", "application/pdf", PDF),  # the name and the declared type disagree
        ("notes.txt", "text/plain", PNG),  # text that is an image
        ("scan.pdf", "application/octet-stream", PNG),
        ("slides.pptx", "application/octet-stream", PDF),
    ],
)
async def test_mislabelled_uploads_are_refused(
    alice: GraphQLClient, settings: Settings, filename: str, content_type: str, content: bytes
) -> None:
    payload = await upload(alice, filename, content, content_type)
    assert payload["resource"] is None
    assert problems(payload) == [(("input", "file"), "BAD_USER_INPUT")]
    assert stored_files(settings, alice) == []


async def test_content_without_a_known_name_is_typed_by_its_bytes(alice: GraphQLClient) -> None:
    sniffed = (await upload(alice, "scan", PDF, "application/octet-stream"))["resource"]
    assert (sniffed["contentType"], sniffed["kind"]) == ("application/pdf", "DOCUMENT")
    # Whatever the client declares, an unknown file is served as opaque bytes.
    other = (await upload(alice, "page.html", b"<script>alert(1)</script>", "text/html"))["resource"]
    assert (other["contentType"], other["kind"]) == ("application/octet-stream", "OTHER")
    response = await download(alice, other["url"], alice.token)
    assert response.headers["content-type"] == "application/octet-stream"


async def test_an_image_over_its_cap_is_refused(alice: GraphQLClient, settings: Settings) -> None:
    big = PNG + b"\x00" * (IMAGE_CAP + 1 - len(PNG))
    payload = await upload(alice, "huge.png", big, "image/png")
    assert problems(payload) == [(("input", "file"), "BAD_USER_INPUT")]
    assert "10 MB" in payload["userErrors"][0]["message"]
    # The same without a Content-Length: the bytes are counted as they are copied, and the copy is dropped.
    response = await streamed(alice, "huge.png", PNG, IMAGE_CAP + 1, "image/png")
    assert response.status_code == 200, response.text
    assert problems(response.json()["data"]["resourceUpload"]) == [(("input", "file"), "BAD_USER_INPUT")]
    assert stored_files(settings, alice) == []
    # A document of that size is within its own cap.
    fine = await streamed(alice, "big.pdf", PDF, IMAGE_CAP + 1, "application/pdf")
    assert fine.json()["data"]["resourceUpload"]["resource"]["size"] == IMAGE_CAP + 1


async def test_a_body_beyond_the_largest_cap_gets_413(alice: GraphQLClient, settings: Settings) -> None:
    # Refused from its Content-Length alone: the answer comes before a byte of the body is sent.
    status, answer = await headers_only(alice, MAX_BODY + 1)
    assert status == 413
    assert json.loads(answer)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    # Chunked, with no length: reading stops once the count passes the limit.
    try:
        response = await streamed(alice, "x.pdf", PDF, MAX_BODY + 64 * 1024, "application/pdf")
    except httpx.TransportError:  # the server may hang up before the client has sent it all
        pass
    else:
        assert response.status_code == 413
    await wait_for(lambda: stored_files(settings, alice) == [], "no file left behind")


async def test_another_users_parent_is_not_found(alice: GraphQLClient, bob: GraphQLClient) -> None:
    pillar = await make_pillar(alice)
    payload = await upload(bob, "photo.png", PNG, "image/png", parent_id=pillar)
    assert problems(payload) == [(("input", "parentId"), "NOT_FOUND")]
    wrong = await upload(bob, "photo.png", PNG, "image/png", parent_id=bob.user_id)
    assert problems(wrong) == [(("input", "parentId"), "BAD_USER_INPUT")]


async def test_delete_removes_the_bytes(alice: GraphQLClient, bob: GraphQLClient, settings: Settings) -> None:
    resource = (await upload(alice, "photo.png", PNG, "image/png"))["resource"]
    assert len(stored_files(settings, alice)) == 1
    refused = await delete(bob, "resource", resource["id"])
    assert problems(refused) == [(("input", "id"), "NOT_FOUND")]
    assert len(stored_files(settings, alice)) == 1
    deleted = await delete(alice, "resource", resource["id"])
    assert deleted == {"deletedId": resource["id"], "userErrors": []}
    await wait_for(lambda: stored_files(settings, alice) == [], "the bytes removed")
    assert (await download(alice, resource["url"], alice.token)).status_code == 404


async def test_parent_and_account_deletes_remove_the_bytes(
    alice: GraphQLClient, resources: Resources, settings: Settings
) -> None:
    pillar, area, _ = await chain(alice)
    kept = (await upload(alice, "keep.png", PNG, "image/png"))["resource"]
    gone = (await upload(alice, "gone.pdf", PDF, "application/pdf", parent_id=area))["resource"]
    assert len(stored_files(settings, alice)) == 2
    assert (await delete(alice, "pillar", pillar))["userErrors"] == []
    storage = storage_for(settings)

    async def swept(count: int) -> bool:
        await sweep(resources, storage, older_than=0)
        return len(stored_files(settings, alice)) == count

    await wait_for(lambda: swept(1), "the cascaded file's bytes removed", timeout=10)
    assert (await download(alice, kept["url"], alice.token)).content == PNG
    assert (await download(alice, gone["url"], alice.token)).status_code == 404
    # A young file without a row (an upload not yet committed) is left alone by the default grace.
    assert await sweep(resources, storage) == 0

    deleted = await alice.mutate("accountDelete", {"password": "correct horse battery"}, "deletedId")
    assert deleted["userErrors"] == [], deleted
    await wait_for(lambda: swept(0), "the account's bytes removed", timeout=10)
    assert not folder(settings, alice).exists()


async def test_a_purged_journal_entry_takes_its_files(
    alice: GraphQLClient, bob: GraphQLClient, resources: Resources, settings: Settings
) -> None:
    entry = (await alice.mutate("journalEntryCreate", {"title": "Trip"}, "journalEntry { id }"))[
        "journalEntry"
    ]
    payload = await upload(alice, "view.png", PNG, "image/png", parent_id=entry["id"])
    assert payload["userErrors"] == []
    resource = payload["resource"]
    assert resource["parent"] == {"__typename": "JournalEntry", "id": entry["id"]}
    refused = await upload(bob, "view.png", PNG, "image/png", parent_id=entry["id"])
    assert problems(refused) == [(("input", "parentId"), "NOT_FOUND")]
    listed = await alice.ok(
        "query($p: ID) { resources(filter: {parentId: $p}) { totalCount } }", {"p": entry["id"]}
    )
    assert listed["resources"]["totalCount"] == 1

    trashed = await alice.ok(
        "mutation($input: IdInput!) { journalEntryDelete(input: $input) { userErrors { code } } }",
        {"input": {"id": entry["id"]}},
    )
    assert trashed["journalEntryDelete"]["userErrors"] == []
    # In the trash the file stays: it can still be restored.
    assert await sweep(resources, storage_for(settings), older_than=0) == 0
    assert len(stored_files(settings, alice)) == 1
    purged = await alice.ok(
        "mutation($input: IdInput!) { journalEntryPurge(input: $input) { deletedId userErrors { code } } }",
        {"input": {"id": entry["id"]}},
    )
    assert purged["journalEntryPurge"] == {"deletedId": entry["id"], "userErrors": []}

    async def swept() -> bool:
        await sweep(resources, storage_for(settings), older_than=0)
        return stored_files(settings, alice) == []

    await wait_for(swept, "the purged entry's file removed", timeout=10)
    assert (await download(alice, resource["url"], alice.token)).status_code == 404


# --- avatars through accountUpdate -------------------------------------------------------------------------

AVATAR = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  user { avatarUrl version } userErrors { field message code } } }"""


async def post_avatar(
    client: GraphQLClient,
    filename: str,
    content: bytes,
    content_type: str,
    headers: dict[str, str] | None = PREFLIGHT,
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    operations = {"query": AVATAR, "variables": {"input": {"avatar": None, **(extra or {})}}}
    return await client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.avatar"]})},
        files={"0": (filename, content, content_type)},
        headers=headers_of(client, headers),
    )


async def set_avatar(
    client: GraphQLClient, filename: str, content: bytes, content_type: str, **kw: Any
) -> Any:
    response = await post_avatar(client, filename, content, content_type, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["accountUpdate"]


async def avatar_url(client: GraphQLClient) -> str | None:
    url: str | None = (await client.ok("{ viewer { avatarUrl } }"))["viewer"]["avatarUrl"]
    return url


async def test_avatar_upload_replace_and_remove(
    alice: GraphQLClient, bob: GraphQLClient, settings: Settings
) -> None:
    assert await avatar_url(alice) is None
    first = await set_avatar(alice, "me.png", PNG, "image/png", extra={"displayName": "Alice A."})
    assert first["userErrors"] == []
    url = first["user"]["avatarUrl"]
    assert url is not None
    assert await avatar_url(alice) == url
    assert (await alice.ok("{ viewer { displayName } }"))["viewer"]["displayName"] == "Alice A."
    response = await download(alice, url, alice.token)
    assert (response.status_code, response.content) == (200, PNG)
    assert response.headers["content-type"] == "image/png"
    assert (await download(alice, url)).status_code == 401
    assert (await download(bob, url, bob.token)).status_code == 404
    # Kept as an IMAGE resource of the owner's.
    listed = await alice.ok("{ resources { nodes { url kind } } }")
    assert listed["resources"]["nodes"] == [{"url": url, "kind": "IMAGE"}]
    [old_file] = stored_files(settings, alice)

    gif = b"GIF89a" + b"\x01\x00\x01\x00" + bytes(64)
    second = await set_avatar(alice, "me.gif", gif, "image/gif")
    assert second["userErrors"] == []
    new_url = second["user"]["avatarUrl"]
    assert new_url not in (None, url)
    assert (await download(alice, new_url, alice.token)).content == gif
    # Replacing it removes the old row and its bytes.
    await wait_for(lambda: not old_file.exists(), "the old avatar's bytes removed")
    assert len(stored_files(settings, alice)) == 1
    assert (await download(alice, url, alice.token)).status_code == 404

    # Null (a plain JSON request) removes it.
    removed = await alice.mutate("accountUpdate", {"avatar": None}, "user { avatarUrl }")
    assert removed == {"user": {"avatarUrl": None}, "userErrors": []}
    await wait_for(lambda: stored_files(settings, alice) == [], "the avatar's bytes removed")
    assert (await alice.ok("{ resources { totalCount } }"))["resources"]["totalCount"] == 0


async def test_deleting_the_avatar_resource_clears_avatar_url(
    alice: GraphQLClient, settings: Settings
) -> None:
    url = (await set_avatar(alice, "me.png", PNG, "image/png"))["user"]["avatarUrl"]
    resource_id = url.rsplit("/", 1)[1]
    assert (await delete(alice, "resource", resource_id))["userErrors"] == []
    assert await avatar_url(alice) is None
    await wait_for(lambda: stored_files(settings, alice) == [], "the bytes removed")


@pytest.mark.parametrize(
    ("filename", "content_type", "content", "message"),
    [
        ("big.png", "image/png", PNG + b"\x00" * (6 * 1024 * 1024 - len(PNG)), "5 MB"),
        ("me.png", "image/png", PDF, "PDF"),  # a PDF named and declared as a PNG
        ("me.pdf", "application/pdf", PDF, "image"),  # a real PDF: not an image
        ("me.txt", "text/plain", b"hello", "image"),
    ],
)
async def test_bad_avatars_are_refused_and_leave_no_bytes(
    alice: GraphQLClient, settings: Settings, filename: str, content_type: str, content: bytes, message: str
) -> None:
    payload = await set_avatar(alice, filename, content, content_type, extra={"displayName": "Changed"})
    assert payload["user"] is None
    assert problems(payload) == [(("input", "avatar"), "BAD_USER_INPUT")]
    assert message in payload["userErrors"][0]["message"]
    assert stored_files(settings, alice) == []
    viewer = (await alice.ok("{ viewer { avatarUrl displayName } }"))["viewer"]
    assert viewer["avatarUrl"] is None
    assert viewer["displayName"] != "Changed"


async def test_a_streamed_oversized_avatar_is_stopped_while_copied(
    alice: GraphQLClient, settings: Settings
) -> None:
    """Without a Content-Length the 5 MB cap is counted as the bytes are stored, not after."""
    boundary = uuid.uuid4().hex
    operations = {"query": AVATAR, "variables": {"input": {"avatar": None}}}
    fields = {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.avatar"]})}
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="me.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield parts + head + PNG
        for _ in range(6):
            yield b"\x00" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = headers_of(alice, {**PREFLIGHT, "content-type": f"multipart/form-data; boundary={boundary}"})
    response = await alice.http.post("/graphql", content=body(), headers=headers)
    assert response.status_code == 200, response.text
    assert problems(response.json()["data"]["accountUpdate"]) == [(("input", "avatar"), "BAD_USER_INPUT")]
    assert stored_files(settings, alice) == []


async def test_an_avatar_needs_the_csrf_header(alice: GraphQLClient, settings: Settings) -> None:
    response = await post_avatar(alice, "me.png", PNG, "image/png", headers={})
    assert response.status_code == 400
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert stored_files(settings, alice) == []
    assert await avatar_url(alice) is None


async def test_account_delete_with_an_avatar_removes_its_bytes(
    alice: GraphQLClient, resources: Resources, settings: Settings
) -> None:
    assert (await set_avatar(alice, "me.png", PNG, "image/png"))["userErrors"] == []
    deleted = await alice.mutate("accountDelete", {"password": "correct horse battery"}, "deletedId")
    assert deleted["userErrors"] == [], deleted

    async def swept() -> bool:
        await sweep(resources, storage_for(settings), older_than=0)
        return not folder(settings, alice).exists()

    await wait_for(swept, "the avatar's bytes removed", timeout=10)
