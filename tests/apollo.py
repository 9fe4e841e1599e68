"""Apollo Client's persisted-queries link in front of its HttpLink, as they speak over HTTP, for the tests.

``createPersistedQueryLink({sha256})``: the SHA-256 (hex) of the exact text the HttpLink would send, sent
first without the text (over GET with ``useGETForHashedQueries``, never for a mutation); when the answer has
an error saying ``PersistedQueryNotFound`` (its message or its code, in a 2xx body or not) the hash is sent
again with the text, over POST."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

APOLLO_CLIENT_3_ACCEPT = "*/*"
APOLLO_CLIENT_4_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}


def not_found(body: dict[str, Any]) -> bool:
    """What the link looks for (processErrors): the message or the code."""
    return any(
        error.get("message") == "PersistedQueryNotFound"
        or (error.get("extensions") or {}).get("code") == "PERSISTED_QUERY_NOT_FOUND"
        for error in body.get("errors") or ()
    )


@dataclass
class ApolloLink:
    http: httpx.AsyncClient
    token: str | None = None
    use_get: bool = False
    accept: str = APOLLO_CLIENT_4_ACCEPT
    exchanges: list[httpx.Response] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"accept": self.accept}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    async def request(
        self, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """The body of the final answer, as the link hands it on; ``exchanges`` holds every response."""
        self.exchanges = []
        sent: dict[str, Any] = {"variables": variables or {}, "extensions": persisted(query)}
        if operation_name is not None:
            sent["operationName"] = operation_name
        mutation = query.lstrip().startswith("mutation")
        if self.use_get and not mutation:
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in sent.items()}
            response = await self.http.get("/graphql", params=params, headers=self.headers)
        else:
            response = await self.http.post("/graphql", json=sent, headers=self.headers)
        self.exchanges.append(response)
        body: dict[str, Any] = response.json()
        if not not_found(body):
            return body
        response = await self.http.post("/graphql", json={**sent, "query": query}, headers=self.headers)
        self.exchanges.append(response)
        retried: dict[str, Any] = response.json()
        return retried


def manifest_bodies(repo_root: Path) -> dict[str, str]:
    """The committed trusted documents' texts, by operation name."""
    loaded = json.loads((repo_root / "client" / "persisted-query-manifest.json").read_text())
    return {operation["name"]: operation["body"] for operation in loaded["operations"]}
