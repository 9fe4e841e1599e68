"""HTTP around files: the download (owner's credentials only) and the guard in front of the GraphQL view
(body sizes counted while they stream; the CSRF header multipart uploads need)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aurum.auth.principal import principal_for
from aurum.db import read_session
from aurum.graphql.view import bearer, refusal
from aurum.ids import parse_global_id, parse_uuid
from aurum.resource.model import Resource
from aurum.resource.service import LARGEST_CAP, MB, storage_for
from aurum.resources import Resources

NOT_FOUND = {"error": "NOT_FOUND", "message": "No file here"}
MAX_BODY = LARGEST_CAP + MB
"""The largest multipart body accepted: the largest file plus room for the operations and the form."""
CSRF_HEADERS = (b"x-apollo-operation-name", b"apollo-require-preflight")


def resource_uuid(value: str) -> uuid.UUID | None:
    parsed = parse_global_id(value)
    if parsed is not None:
        return parsed[1] if parsed[0] == "Resource" else None
    return parse_uuid(value)


def ascii_name(filename: str) -> str:
    cleaned = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return cleaned or "file"


async def download_file(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    token = bearer(request.headers.get("authorization"))
    principal = await principal_for(resources, token) if token else None
    if principal is None:
        return JSONResponse(
            {"error": "UNAUTHENTICATED", "message": "Send 'Authorization: Bearer <access token>'"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    resource_id = resource_uuid(request.path_params["resource_id"])
    if resource_id is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    async with read_session(resources.sessionmaker, principal.user_id) as session:
        row = (
            await session.execute(
                select(Resource.filename, Resource.content_type, Resource.size, Resource.storage_key).where(
                    Resource.id == resource_id, Resource.user_id == principal.user_id
                )
            )
        ).one_or_none()
    if row is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    chunks = storage_for(resources.settings).open(row.storage_key)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:
        return JSONResponse(NOT_FOUND, status_code=404)

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    disposition = (
        f"attachment; filename=\"{ascii_name(row.filename)}\"; filename*=UTF-8''{quote(row.filename)}"
    )
    return StreamingResponse(
        body(),
        media_type=row.content_type,
        headers={
            "content-disposition": disposition,
            "content-length": str(row.size),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


class BodyTooLarge(Exception):
    """The request body passed ``MAX_BODY`` while it was being read."""


TOO_LARGE = f"The request is larger than {MAX_BODY // MB} MB; files may be at most {LARGEST_CAP // MB} MB"


class BodyGuard:
    """In front of the GraphQL view, every request body is capped, refused from its Content-Length or
    stopped as soon as the bytes read pass the cap (413): a multipart upload at ``MAX_BODY`` (smaller
    per-kind caps are counted as the file is stored), anything else at ``max_body``. A multipart POST also
    needs a non-simple header, so no cross-site form can post one (CSRF)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self.too_large = f"The request is larger than {max_body:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        cap, too_large = self.max_body, self.too_large
        if content_type == b"multipart/form-data":
            if not any(headers.get(name, b"").strip() for name in CSRF_HEADERS):
                message = (
                    "Multipart requests need an 'x-apollo-operation-name' or 'apollo-require-preflight' "
                    "header (CSRF protection)"
                )
                await refusal(400, "BAD_REQUEST", message)(scope, receive, send)
                return
            cap, too_large = MAX_BODY, TOO_LARGE
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await refusal(413, "PAYLOAD_TOO_LARGE", too_large)(scope, receive, send)
            return
        await self._counted(scope, receive, send, cap, too_large)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, cap: int, too_large: str) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await refusal(413, "PAYLOAD_TOO_LARGE", too_large)(scope, receive, send)
