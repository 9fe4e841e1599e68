"""The Strawberry ASGI view: each request's context from its bearer token; WebSockets sign in with their
``connection_init`` payload and are registered with the process's hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import timedelta
from json import JSONDecodeError
from typing import Any

import orjson
import structlog
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from aurum.auth.principal import principal_for, why_refused
from aurum.graphql.context import Context
from aurum.graphql.documents import documents_of
from aurum.graphql.responses import (
    CACHEABLE,
    JSON,
    NOT_CACHEABLE,
    UNAUTHENTICATED_HEADERS,
    Negotiated,
    etag,
    matches,
    request_error_status,
)
from aurum.graphql.uploads import UploadRequestAdapter, form_json, place_files
from aurum.persisted.manifest import Manifest, load_manifest
from aurum.persisted.requests import NOT_ALLOWED, NOT_TRUSTED, MalformedPersistedQuery, PersistedDocuments
from aurum.realtime.hub import Closer, Connection, Hub
from aurum.realtime.transport import TransportHandler
from aurum.resources import Resources
from aurum.settings import Settings
from aurum.unavailable import MESSAGE, RETRY_AFTER, SERVICE_UNAVAILABLE, is_unavailable, reason

log = structlog.get_logger(__name__)

HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
CONNECTION = "aurum.connection"
REFUSAL = "aurum.refusal"
TRY_AGAIN_LATER = 1013  # RFC 6455's registry: clients retry it with backoff
UNAVAILABLE_REASON = "The database cannot be reached: try again later"


def bearer(header: object) -> str | None:
    if not isinstance(header, str) or not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Refused(HTTPException):
    """A request refused with a code of its own and headers (405's ``Allow``)."""

    def __init__(self, status: int, code: str, reason: str, headers: dict[str, str]) -> None:
        super().__init__(status, reason)
        self.code = code
        self.headers = headers


def refusal(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, media_type: str = JSON
) -> Response:
    """A request refused before any GraphQL ran, in the shape GraphQL clients read errors."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


class SubResponse(Response):
    """The response resolvers may add headers to, carrying how the request is to be answered."""

    negotiated = Negotiated()


def graphql_response(
    response_data: Any, negotiated: Negotiated, status: int, headers: dict[str, str]
) -> Response:
    """A GraphQL response as ``negotiated``: a GET's that ran carries an ETag (and is 304 when the client
    has it already); every other GET's is not kept."""
    body = orjson.dumps(response_data)
    ran = status == 200 and isinstance(response_data, dict) and response_data.get("data") is not None
    if negotiated.get and ran:
        headers.update(CACHEABLE, etag=etag(body))
        if matches(negotiated.if_none_match, headers["etag"]):
            return Response(status_code=304, headers=headers)
    elif negotiated.get:
        headers.update(NOT_CACHEABLE)
    headers["content-type"] = negotiated.content_type
    return Response(body, status_code=status, headers=headers)


def unavailable_in(response_data: object) -> bool:
    """Whether a GraphQL response (or a batch of them) has a SERVICE_UNAVAILABLE error."""
    results = response_data if isinstance(response_data, list) else [response_data]
    return any(
        (error.get("extensions") or {}).get("code") == SERVICE_UNAVAILABLE
        for result in results
        if isinstance(result, dict)
        for error in result.get("errors") or ()
    )


def closer(websocket: WebSocket) -> Closer:
    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, OSError):  # already closed
            await websocket.close(code, reason)

    return close


class SocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        """Strawberry closes every refused ``connection_init`` with 4403; ours may say more precisely why."""
        code, reason = self.ws.scope.pop(REFUSAL, (code, reason))
        await super().close(code, reason)

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        """Strawberry's, except that the last message's text is not kept while the socket idles (its loop
        holds it in a local until the next message)."""
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    yield self.view.decode_json(await self.ws.receive_text())
                except JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
        except KeyError as error:
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass


class AurumGraphQL(GraphQL[Context, None]):
    resources: Resources
    hub: Hub
    graphql_transport_ws_handler_class = TransportHandler
    websocket_adapter_class = SocketAdapter
    request_adapter_class = UploadRequestAdapter

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        from aurum.graphql.schema import build_schema

        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.is_development else None,
            allow_queries_via_get=True,
            # The legacy graphql-ws protocol is refused: one handshake, one way to authenticate.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            # Uploads (the GraphQL multipart spec); aurum.resource.routes.BodyGuard checks them first.
            multipart_uploads_enabled=True,
            **kwargs,
        )
        self.max_subscriptions_per_connection = settings.ws_max_subscriptions_per_connection
        self.persisted = PersistedDocuments(
            manifest_for(settings),
            trusted_only=settings.trusted_documents_only,
            per_day=settings.persisted_documents_per_day,
        )
        if settings.trusted_documents_only:
            self.graphql_transport_ws_handler_class = TrustedTransportHandler

    def encode_json(self, data: object) -> str:
        # Text either way: bytes would go out over a WebSocket as a binary frame.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # as Strawberry's: none set yet
        del sub_response.headers["content-length"]
        if isinstance(request, Request):
            sub_response.negotiated = Negotiated.of(request.method, request.headers)
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """As GraphQL over HTTP says for the media type the client accepts (aurum.graphql.responses); and
        an answer saying a dependency is down goes out as 503 with Retry-After (API.md), so that clients and
        proxies back off and retry."""
        negotiated = getattr(sub_response, "negotiated", Negotiated())
        status, headers = 200, dict[str, str]()
        refused = request_error_status(response_data) if isinstance(response_data, dict) else None
        if unavailable_in(response_data):
            status = 503
            headers.update(RETRY_AFTER)
        elif negotiated.graphql_response and refused is not None:
            status = refused
            response_data = {key: value for key, value in response_data.items() if key != "data"}
            if refused == 401:
                headers.update(UNAUTHENTICATED_HEADERS)
        response = graphql_response(response_data, negotiated, sub_response.status_code or status, headers)
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with extensions (a persisted query) is a client's request, not a person opening the IDE.
        return super().should_render_graphql_ide(request) and "extensions" not in request.query_params

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with the document a persisted query names put in as its text (so that it goes the
        way of every text: prepared once, its plan cached), and a mutation over GET refused with 405."""
        user_id = context.principal.user_id if context.principal is not None else None
        try:
            request_data.query = await self.persisted.text_for(
                request_data.query, request_data.extensions, self.resources, user_id, self.is_valid
            )
        except MalformedPersistedQuery as error:
            raise HTTPException(400, str(error)) from None
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            cause = error.__cause__
            mutation = isinstance(cause, InvalidOperationTypeError) and (
                cause.operation_type is OperationType.MUTATION
            )
            if mutation:
                allow = {"allow": "POST"}
                raise Refused(405, "METHOD_NOT_ALLOWED", "Mutations are sent with POST", allow) from None
            raise

    async def is_valid(self, text: str) -> bool:
        return not (await documents_of(self.schema).prepare(text)).errors

    async def parse_multipart(self, request: Any) -> Any:
        """Strawberry's, with the map checked (it failed on a malformed one with a 500) and files that are
        files: a part mapped to a file but sent without a filename is refused here, not in a resolver."""
        form = await request.get_form_data()
        operations = self.parse_json(form_json(form, "operations"))
        return place_files(operations, self.parse_json(form_json(form, "map")), form.files)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):  # Strawberry would fail on it with a 500
            raise HTTPException(400, "The request body must be a JSON object with a 'query'")
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        websocket = isinstance(request, WebSocket)
        token = None if websocket else bearer(request.headers.get("authorization"))
        principal = await principal_for(self.resources, token) if token else None
        return Context(
            resources=self.resources,
            request=request,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            principal=principal,
            auth_error=why_refused(token) if token and principal is None else None,
            hub=getattr(self, "hub", None),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sign the socket in with ``{"authorization": "Bearer …"}``; without a valid one it closes (4403),
        and with one that cannot be checked now (the database is down) with 1013, to try again later."""
        params = context.connection_params or {}
        credential = bearer(params.get("authorization") or params.get("Authorization"))
        websocket = context.request
        assert isinstance(websocket, WebSocket)
        try:
            principal = await principal_for(self.resources, credential) if credential else None
        except Exception as error:
            if not is_unavailable(error):
                raise
            # Not 4403 either: the credential may well be good, it just cannot be checked now.
            log.warning("dependency unavailable", request_id=context.request_id, reason=reason(error))
            websocket.scope[REFUSAL] = (TRY_AGAIN_LATER, UNAVAILABLE_REASON)
            raise ConnectionRejectionError from error
        if principal is None:
            raise ConnectionRejectionError
        connection = Connection(
            principal.user_id, principal.session_id, closer(websocket), principal.api_key_id
        )
        if not self.hub.admit(connection, principal.expires_at):
            # Not 4403 (which tells a client to refresh its token): try again later, once a socket closes.
            websocket.scope[REFUSAL] = (TRY_AGAIN_LATER, "Too many connections for this account")
            raise ConnectionRejectionError
        websocket.scope[CONNECTION] = connection
        context.sign_in(principal)
        context.connection = connection
        context.connection_params = {}  # the token is read: a long-lived socket need not keep it
        unset: UnsetType = UNSET
        return unset

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:  # the request itself is wrong: say so as GraphQL clients read errors
            code = getattr(error, "code", None) or HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            headers = dict(getattr(error, "headers", None) or {})
            if error.status_code == 405:
                headers.setdefault("allow", "GET, POST")
            http = isinstance(request, Request)
            negotiated = Negotiated.of(request.method, request.headers) if http else Negotiated()
            if negotiated.get:
                headers.update(NOT_CACHEABLE)
            return refusal(error.status_code, code, error.reason, headers, negotiated.content_type)
        except Exception as error:  # before anything ran (an API key looked up in PostgreSQL, say)
            if isinstance(request, WebSocket) or not is_unavailable(error):
                raise
            request_id = request.scope.get("state", {}).get("request_id")
            log.warning("dependency unavailable", request_id=request_id, reason=reason(error))
            return refusal(503, SERVICE_UNAVAILABLE, MESSAGE, RETRY_AFTER)
        finally:
            connection = request.scope.get(CONNECTION) if isinstance(request, WebSocket) else None
            if connection is not None:
                self.hub.release(connection)


def manifest_for(settings: Settings) -> Manifest:
    """The trusted manifest; none (empty) when its file is missing and not required."""
    path = settings.trusted_documents_manifest
    if not settings.trusted_documents_only and not path.is_file():
        log.info("no trusted documents manifest", path=str(path))
        return Manifest({})
    return load_manifest(path)


class TrustedTransportHandler(TransportHandler):
    """graphql-transport-ws with trusted documents only: a subscribe whose text is not in the manifest gets
    an ``error`` (``PERSISTED_QUERY_NOT_ALLOWED``) and never runs."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view = self.view
        assert isinstance(view, AurumGraphQL)
        if view.persisted.trusts(operation.query):
            await super().run_operation(operation)
            return
        self.operations.pop(operation.id, None)
        await self._refuse(operation.id, NOT_TRUSTED, NOT_ALLOWED)
