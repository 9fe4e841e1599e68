"""Trusted documents: the clients' operations (``client/operations``) compiled into a manifest of
Apollo's format (``apollo-persisted-query-manifest``, version 1), which ``AURUM_TRUSTED_DOCUMENTS_ONLY``
turns into the only documents the server runs.

Each operation is sent as Apollo Client sends it: itself and the fragments it spreads, with ``__typename``
added to every selection but the operation's own (Apollo's ``addTypenameToDocument``, which its cache needs
to normalise), printed by graphql-core. Its ``id`` is the SHA-256 of that text, so Apollo's
``generatePersistedQueryIdsFromManifest`` sends ids the server knows. The manifest is generated
(``aurum export-manifest``), committed (``client/persisted-query-manifest.json``, which client builds read),
and checked against the operations by the tests, as ``schema.graphql`` is."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.utilities import separate_operations

FORMAT = "apollo-persisted-query-manifest"
VERSION = 1
REPOSITORY = Path(__file__).resolve().parents[3]
OPERATIONS = REPOSITORY / "client" / "operations"


def sha256_hex(text: str) -> str:
    """A document's id: the SHA-256 of its exact text (UTF-8) in lower-case hex, as Apollo's link makes it."""
    return hashlib.sha256(text.encode()).hexdigest()


class ManifestError(ValueError):
    """The manifest cannot be read, or an entry is not what it claims."""


class _AddTypename(Visitor):
    """Apollo Client's ``addTypenameToDocument``: ``__typename`` at the end of every selection set but an
    operation's own, unless it already asks for a ``__``-field or exports its value (``@export``)."""

    TYPENAME = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())

    def enter_selection_set(self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any) -> Any:
        if isinstance(parent, OperationDefinitionNode) or not node.selections:
            return None
        if any(isinstance(s, FieldNode) and s.name.value.startswith("__") for s in node.selections):
            return None
        if isinstance(parent, FieldNode) and any(d.name.value == "export" for d in parent.directives or ()):
            return None
        return SelectionSetNode(selections=(*node.selections, self.TYPENAME))


def with_typenames(document: DocumentNode) -> DocumentNode:
    added: Node = visit(document, _AddTypename())
    assert isinstance(added, DocumentNode)
    return added


def client_document(operations: Path = OPERATIONS) -> DocumentNode:
    return parse("\n".join(path.read_text() for path in sorted(operations.glob("*.graphql"))))


def build_manifest(operations: Path = OPERATIONS) -> dict[str, Any]:
    """The manifest of every operation under ``operations``, by name."""
    entries = []
    for name, document in sorted(separate_operations(client_document(operations)).items()):
        body = print_ast(with_typenames(document))
        kind = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode)).operation
        entries.append({"id": sha256_hex(body), "name": name, "type": kind.value, "body": body})
    return {"format": FORMAT, "version": VERSION, "operations": entries}


def manifest_json(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Manifest:
    """The trusted documents' texts by id."""

    texts: Mapping[str, str]

    def text(self, sha256: str) -> str | None:
        return self.texts.get(sha256)

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self.texts

    @classmethod
    def of(cls, operations: Iterable[Mapping[str, Any]]) -> Manifest:
        texts: dict[str, str] = {}
        for entry in operations:
            body, claimed = entry.get("body"), entry.get("id")
            if not isinstance(body, str) or not isinstance(claimed, str):
                raise ManifestError(f"an operation without a text 'body' and 'id': {dict(entry)!r:.100}")
            if sha256_hex(body) != claimed:
                raise ManifestError(f"operation {entry.get('name')!r}: its id is not the SHA-256 of its body")
            texts[claimed] = body
        return cls(texts)


def load_manifest(path: Path) -> Manifest:
    """The manifest at ``path``, each entry's id checked against its body."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"cannot read {path}: {error}") from None
    if not isinstance(loaded, dict) or loaded.get("format") != FORMAT or loaded.get("version") != VERSION:
        raise ManifestError(f"{path} is not an {FORMAT} of version {VERSION}")
    operations = loaded.get("operations")
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise ManifestError(f"{path}: 'operations' must be a list of objects")
    return Manifest.of(operations)
