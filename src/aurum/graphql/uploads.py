"""The GraphQL multipart request spec as we read it: files are files, the form's limits answer as GraphQL
errors, and a file that lands where something else was asked for is named as a file in the message."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cross_web import FormData, HTTPException, StarletteRequestAdapter
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

MAX_FILES = 1000
MAX_FIELDS = 1000
SPEC = "the GraphQL multipart request spec"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of the request, as resolvers receive it (what ``aurum.resource.service.Upload`` reads)."""

    file: UploadFile

    @property
    def filename(self) -> str | None:
        return self.file.filename

    @property
    def content_type(self) -> str | None:
        return self.file.content_type

    @property
    def size(self) -> int | None:
        return self.file.size

    async def read(self, size: int = -1) -> bytes:
        return await self.file.read(size)

    def __inspect__(self) -> str:
        """How graphql-core shows the value in an error (``<UploadFile instance>`` otherwise)."""
        return f"a file ({self.filename!r})"


def is_file(value: object) -> bool:
    return isinstance(value, UploadedFile)


class UploadRequestAdapter(StarletteRequestAdapter):
    """Strawberry's Starlette adapter, except for the form: Starlette's limits stated here, its refusals
    (too many files, a body that is not multipart) raised as the view's HTTP errors, so that they answer in
    GraphQL's shape rather than as plain text, and file parts wrapped in ``UploadedFile``."""

    async def get_form_data(self) -> FormData:
        try:
            form = await self._request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
        except (StarletteHTTPException, MultiPartException) as error:
            detail = error.detail if isinstance(error, StarletteHTTPException) else error.message
            raise HTTPException(400, f"The multipart body cannot be read: {detail}") from error
        parts = {key: UploadedFile(v) if isinstance(v, UploadFile) else v for key, v in form.items()}
        return FormData(files=parts, form=parts)


def form_json(form: FormData, name: str) -> str:
    """The text of the form's ``operations`` or ``map`` field (absent: an empty object)."""
    value = form.form.get(name, "{}")
    if not isinstance(value, str):
        raise HTTPException(400, f"'{name}' must be a plain field holding JSON ({SPEC})")
    return value


def place_files(operations: Any, files_map: Any, parts: Mapping[str, Any]) -> Any:
    """The operations with each mapped file put at its paths (``null`` placeholders), after checking the
    map as the spec draws it: an object of part names to lists of paths, each part a file."""
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(p, str) for p in paths) for paths in files_map.values()
    ):
        raise HTTPException(400, f"'map' must be an object of part names to lists of paths ({SPEC})")
    placed = copy.deepcopy(operations)
    for name, paths in files_map.items():
        if name not in parts:
            raise HTTPException(400, f"'map' names a part the request does not have: {name[:50]!r}")
        if not is_file(parts[name]):
            raise HTTPException(
                400, f"Part {name[:50]!r} is mapped to a file but is a plain field: send it with a filename"
            )
        for path in paths:
            _put(placed, path, parts[name])
    return placed


def _put(operations: Any, path: str, file: object) -> None:
    *keys, last = path.split(".")
    target = operations
    try:
        for key in keys:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = file
        elif isinstance(target, dict):
            target[last] = file
        else:
            raise TypeError(path)
    except (KeyError, IndexError, TypeError, ValueError):
        raise HTTPException(400, f"'map' names a path the operations do not have: {path[:100]!r}") from None
