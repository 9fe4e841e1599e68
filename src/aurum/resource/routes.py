"""HTTP around files: the download (owner's credentials only) and the guard in front of the GraphQL view
(body sizes counted while they stream; the CSRF header multipart uploads need)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import structlog
from python_multipart.multipart import parse_options_header
from sqlalchemy import select
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aurum.auth.principal import principal_for
from aurum.db import read_session
from aurum.graphql.view import bearer, refusal
from aurum.ids import parse_global_id, parse_uuid
from aurum.resource.model import Resource
from aurum.resource.service import LARGEST_CAP, MB, storage_for
from aurum.resources import Resources

log = structlog.get_logger(__name__)

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


JSON = b"application/json"
MULTIPART = b"multipart/form-data"
ACCEPTED = (
    "Send the request as application/json (UTF-8), or as multipart/form-data for file uploads (the GraphQL "
    "multipart request spec)"
)


def media_type_refusal(content_types: list[bytes]) -> Response | None:
    """Why a POST body's (single) Content-Type is not one we read, as a 415; None when it is."""
    if not content_types:
        return refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"{ACCEPTED}: the request has no Content-Type")
    media_type, options = parse_options_header(content_types[0])
    charset = options.get(b"charset", b"utf-8").lower()
    if media_type == MULTIPART or (media_type == JSON and charset in (b"utf-8", b"utf8")):
        return None
    named = content_types[0].decode("latin-1")[:100]
    return refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"{ACCEPTED}, not '{named}'")


def checked_content_type(scope: Scope) -> bytes | Response:
    """The request's one Content-Type (empty: none), put back into the scope in canonical form so that
    the view reads what was checked here; or the refusal of it."""
    headers = scope.get("headers") or []
    found = [value for name, value in headers if name == b"content-type"]
    if len(found) > 1:
        return refusal(400, "BAD_REQUEST", f"Send one Content-Type header, not {len(found)}")
    refused = media_type_refusal(found) if scope["method"] == "POST" else None
    if refused is not None or not found:
        return refused or b""
    content_type = canonical(found[0])
    others = [(name, value) for name, value in headers if name != b"content-type"]
    scope["headers"] = [*others, (b"content-type", content_type)]
    return content_type


def canonical(content_type: bytes) -> bytes:
    """A Content-Type as the view compares it: the media type in lower case (they are case-insensitive),
    and of the parameters only a multipart body's boundary, which is not."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != MULTIPART or boundary is None:
        return media_type
    return MULTIPART + b'; boundary="' + boundary.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


class BodyTooLarge(Exception):
    """The request body passed ``MAX_BODY`` while it was being read."""


NO_CSRF_HEADER = (
    "Multipart requests need an 'x-apollo-operation-name' or 'apollo-require-preflight' header (CSRF "
    "protection)"
)
TOO_LARGE = f"The request is larger than {MAX_BODY // MB} MB; files may be at most {LARGEST_CAP // MB} MB"


class BodyGuard:
    """In front of the GraphQL view, every request body is read one way and capped. One Content-Type, of
    the media types GraphQL over HTTP takes (application/json, in UTF-8) or the multipart request spec
    uses (multipart/form-data), else 400 or 415 before anything is read: the view and this guard would
    otherwise each read their own header, and Strawberry takes anything naming JSON (``text/plain,
    application/json``: a CORS simple request) as JSON. The body is refused from its Content-Length or
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
        content_type = checked_content_type(scope)
        if isinstance(content_type, Response):
            await content_type(scope, receive, send)
            return
        multipart = content_type.startswith(MULTIPART)
        cap, too_large = (MAX_BODY, TOO_LARGE) if multipart else (self.max_body, self.too_large)
        headers = dict(scope["headers"])
        refused = None
        if multipart and not any(headers.get(name, b"").strip() for name in CSRF_HEADERS):
            refused = refusal(400, "BAD_REQUEST", NO_CSRF_HEADER)
        length = headers.get(b"content-length")
        if refused is None and length is not None and (not length.isdigit() or int(length) > cap):
            refused = refusal(413, "PAYLOAD_TOO_LARGE", too_large)
        if refused is not None:
            await refused(scope, receive, send)
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
        except ClientDisconnect:
            # Everyday (a closed tab, a lost network), and nobody is left to answer: a line, not a traceback.
            request_id = scope.get("state", {}).get("request_id")
            log.info("client disconnected mid-request", request_id=request_id, bytes_received=received)
