"""The export download: only with the owner's credentials, never cached."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aurum.account.service import export_content
from aurum.auth.principal import principal_for
from aurum.db import read_session
from aurum.graphql.view import bearer
from aurum.resources import Resources

NOT_FOUND = {"error": "NOT_FOUND", "message": "No export here (it may have expired)"}


async def download_export(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    token = bearer(request.headers.get("authorization"))
    principal = await principal_for(resources, token) if token else None
    if principal is None or principal.is_api_key:
        return JSONResponse(
            {"error": "UNAUTHENTICATED", "message": "Send 'Authorization: Bearer <access token>'"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    try:
        export_id = uuid.UUID(request.path_params["export_id"])
    except ValueError:
        return JSONResponse(NOT_FOUND, status_code=404)
    async with read_session(resources.sessionmaker, principal.user_id) as session:
        content = await export_content(session, principal.user_id, export_id)
    if content is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    return Response(
        content,
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="aurum-export-{export_id}.json"',
            "cache-control": "no-store",
        },
    )
