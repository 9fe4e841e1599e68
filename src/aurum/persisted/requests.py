"""What a request's ``extensions.persistedQuery`` comes to: the text to run, or why there is none.

Apollo's automatic persisted queries: a request with ``{"persistedQuery": {"version": 1, "sha256Hash": …}}``
and no ``query`` runs the text persisted under that hash, or is answered ``PersistedQueryNotFound`` (Apollo's
link then sends the hash with the text); the hash with the text is checked against it (the SHA-256 of the
exact text), kept and run. A text is kept only if it is valid (it parsed and passed validation), at most
``MAX_DOCUMENT_BYTES``, sent by a signed-in account within its daily allowance: an anonymous client, or one
account, cannot fill the table. The trusted manifest's documents are known without being kept.

With ``AURUM_TRUSTED_DOCUMENTS_ONLY`` only the manifest's documents run, by hash or as their exact text;
anything else, including what was persisted before, is ``PERSISTED_QUERY_NOT_ALLOWED``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping

from graphql import GraphQLError

from aurum.persisted.manifest import Manifest, sha256_hex
from aurum.persisted.model import MAX_DOCUMENT_BYTES
from aurum.persisted.store import DocumentStore
from aurum.resources import Resources

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
NOT_TRUSTED = (
    "This server runs only the trusted documents of its manifest (client/persisted-query-manifest.json): "
    "send one by its id in 'extensions.persistedQuery.sha256Hash', or its exact text"
)
MALFORMED = (
    "'extensions.persistedQuery' must be an object with 'version': 1 and a 'sha256Hash' (64 hex digits)"
)

MISMATCH = "provided sha does not match query: 'sha256Hash' must be the SHA-256 of the exact 'query' text"

IsValid = Callable[[str], Awaitable[bool]]


class MalformedPersistedQuery(ValueError):
    """The request is not a well-formed persisted query (Apollo's server answers these 400)."""


def persisted_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def requested_hash(persisted: object) -> str:
    """The hash a ``persistedQuery`` extension names, in lower case."""
    if not isinstance(persisted, Mapping):
        raise MalformedPersistedQuery(MALFORMED)
    if persisted.get("version") != 1 or isinstance(persisted.get("version"), bool):
        raise MalformedPersistedQuery("Unsupported persisted query version: " + MALFORMED)
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise MalformedPersistedQuery(MALFORMED)
    return sha256.lower()


class PersistedDocuments:
    def __init__(self, manifest: Manifest, *, trusted_only: bool, per_day: int) -> None:
        self.manifest = manifest
        self.trusted_only = trusted_only
        self.store = DocumentStore(per_day)

    def trusts(self, text: str) -> bool:
        """Whether the text may run at all (with trusted documents only: it is one of the manifest's)."""
        return not self.trusted_only or sha256_hex(text) in self.manifest

    async def text_for(
        self,
        query: str | None,
        extensions: Mapping[str, object] | None,
        resources: Resources,
        user_id: uuid.UUID | None,
        is_valid: IsValid,
    ) -> str | None:
        """The text this request runs (``None``: it has none); a ``GraphQLError`` when it cannot run, or
        ``MalformedPersistedQuery``."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and not self.trusts(query):
                raise persisted_error(NOT_TRUSTED, NOT_ALLOWED)
            return query
        sha256 = requested_hash(persisted)
        if query is None:
            return await self._by_hash(resources, sha256)
        if sha256_hex(query) != sha256:
            raise MalformedPersistedQuery(MISMATCH)
        if sha256 in self.manifest:
            return query
        if self.trusted_only:
            raise persisted_error(NOT_TRUSTED, NOT_ALLOWED)
        if user_id is not None and len(query.encode()) <= MAX_DOCUMENT_BYTES:
            await self._keep(resources, sha256, query, user_id, is_valid)
        return query

    async def _by_hash(self, resources: Resources, sha256: str) -> str:
        text = self.manifest.text(sha256)
        if text is not None:
            return text
        if self.trusted_only:
            raise persisted_error(NOT_TRUSTED, NOT_ALLOWED)
        text = await self.store.find(resources, sha256)
        if text is None:
            raise persisted_error("PersistedQueryNotFound", NOT_FOUND)  # the words Apollo's link looks for
        return text

    async def _keep(
        self, resources: Resources, sha256: str, text: str, user_id: uuid.UUID, is_valid: IsValid
    ) -> None:
        if await self.store.find(resources, sha256) is None and await is_valid(text):
            await self.store.keep(resources, sha256, text, user_id)
