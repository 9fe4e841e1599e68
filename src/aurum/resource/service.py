"""Files: what an upload is (sniffed, capped while it streams), storing it, deleting it, and the sweep that
removes bytes whose rows went with a parent or an account (database cascades no Python code sees)."""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog
from sqlalchemy import select

from aurum import crud
from aurum.area.model import Area
from aurum.auth.model import User
from aurum.db import UnitOfWork, read_session
from aurum.errors import InvalidInput
from aurum.journal.model import JournalEntry
from aurum.models import UserOwned
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.resource.model import Resource
from aurum.resource.storage import CHUNK, LocalStorage, Storage, new_key
from aurum.resources import Resources
from aurum.settings import Settings
from aurum.task.model import Task

log = structlog.get_logger(__name__)

MB = 1024 * 1024
AVATAR_CAP = 5 * MB
IMAGE_CAP = 10 * MB
DOCUMENT_CAP = 50 * MB
LARGEST_CAP = DOCUMENT_CAP
FILE_FIELD = ["input", "file"]
AVATAR_FIELD = ["input", "avatar"]
SWEEP_GRACE_SECONDS = 3600.0
"""Bytes without a row are removed only when this old: an upload stores its bytes before its row commits."""


@dataclass(frozen=True)
class Parent:
    model: type[UserOwned]
    column: str


# What a file can be attached to, by global id type: adding one is one entry here (and its column).
PARENTS: dict[str, Parent] = {
    "Pillar": Parent(Pillar, "pillar_id"),
    "Area": Parent(Area, "area_id"),
    "Project": Parent(Project, "project_id"),
    "Task": Parent(Task, "task_id"),
    "JournalEntry": Parent(JournalEntry, "journal_entry_id"),
}


@dataclass(frozen=True)
class FileType:
    kind: str
    content_type: str
    magic: str | None  # the family the first bytes must show; None: text, which has no signature

    @property
    def is_text(self) -> bool:
        return self.magic is None and self.content_type.startswith("text/")


IMAGE_TYPES = {
    "png": FileType("IMAGE", "image/png", "png"),
    "jpg": FileType("IMAGE", "image/jpeg", "jpeg"),
    "jpeg": FileType("IMAGE", "image/jpeg", "jpeg"),
    "gif": FileType("IMAGE", "image/gif", "gif"),
    "webp": FileType("IMAGE", "image/webp", "webp"),
}
OOXML = "application/vnd.openxmlformats-officedocument"
ODF = "application/vnd.oasis.opendocument"
EXTENSIONS: dict[str, FileType] = {
    **IMAGE_TYPES,
    "pdf": FileType("DOCUMENT", "application/pdf", "pdf"),
    "docx": FileType("DOCUMENT", f"{OOXML}.wordprocessingml.document", "zip"),
    "odt": FileType("DOCUMENT", f"{ODF}.text", "zip"),
    "txt": FileType("DOCUMENT", "text/plain", None),
    "md": FileType("DOCUMENT", "text/markdown", None),
    "xlsx": FileType("SPREADSHEET", f"{OOXML}.spreadsheetml.sheet", "zip"),
    "ods": FileType("SPREADSHEET", f"{ODF}.spreadsheet", "zip"),
    "csv": FileType("SPREADSHEET", "text/csv", None),
    "pptx": FileType("PRESENTATION", f"{OOXML}.presentationml.presentation", "zip"),
    "odp": FileType("PRESENTATION", f"{ODF}.presentation", "zip"),
    "zip": FileType("ARCHIVE", "application/zip", "zip"),
}
CONTENT_TYPES = {t.content_type: t for t in EXTENSIONS.values()} | {"image/jpg": IMAGE_TYPES["jpg"]}
BY_MAGIC = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp", "pdf": "pdf", "zip": "zip"}
OTHER = FileType("OTHER", "application/octet-stream", None)
NAMES = {"png": "a PNG image", "jpeg": "a JPEG image", "gif": "a GIF image", "webp": "a WebP image",
         "pdf": "a PDF", "zip": "a ZIP-based file", None: "text"}  # fmt: skip


def sniff(head: bytes) -> str | None:
    """The family the first bytes show, or None when they show none we know."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    return None


def cap_of(kind: str) -> int:
    return IMAGE_CAP if kind == "IMAGE" else DOCUMENT_CAP


def file_type(filename: str, declared: str | None, head: bytes, field: list[str] = FILE_FIELD) -> FileType:
    """What the upload is, from its name, its declared type and its first bytes; a mismatch is refused."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    named = EXTENSIONS.get(extension)
    declared_type = CONTENT_TYPES.get((declared or "").split(";")[0].strip().lower())
    if named and declared_type and named.magic != declared_type.magic:
        raise InvalidInput(
            f"The file is named .{extension} but declared as {declared}: send a matching type", field
        )
    expected = named or declared_type
    found = sniff(head)
    if expected is None:
        return EXTENSIONS[BY_MAGIC[found]] if found else OTHER
    if found != expected.magic:
        raise InvalidInput(
            f"The content is {NAMES.get(found, 'something else')}, not what its name or type says "
            f"({NAMES[expected.magic]})",
            field,
        )
    return expected


def safe_filename(name: str | None) -> str:
    """The client's name without folders or control characters, at most 255 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    cleaned = cleaned.strip().lstrip(".") or "file"
    if len(cleaned) > 255:
        stem, dot, extension = cleaned.rpartition(".")
        cleaned = (stem[: 254 - len(extension)] + dot + extension) if dot and len(extension) < 20 else cleaned
    return cleaned[:255]


@runtime_checkable
class Upload(Protocol):
    filename: str | None
    content_type: str | None
    size: int | None

    async def read(self, size: int = -1) -> bytes: ...


NOT_A_FILE = (
    "Expected a file here: send it as a part of a multipart request, with a filename (the GraphQL multipart "
    "request spec)"
)
# Text is UTF-8 without control characters but tab, line feed, carriage return and form feed: no NUL, no
# other C0 control, no DEL, no C1 control. What passes is text any editor shows, and no executable does.
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
NOT_TEXT = (
    "The file is named or declared as text but is not: text files (.txt, .md, .csv) must be UTF-8, "
    "without control characters other than tabs, line breaks and form feeds"
)


class TextCheck:
    """Whether the bytes of a text kind are text, checked chunk by chunk as they stream (a character may
    straddle two chunks)."""

    def __init__(self, field: list[str]) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.field = field

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        try:
            text = self.decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise InvalidInput(NOT_TEXT, self.field) from None
        if CONTROL.search(text):
            raise InvalidInput(NOT_TEXT, self.field)


def too_large(cap: int, field: list[str]) -> InvalidInput:
    return InvalidInput(f"The file is larger than {cap // MB} MB, the limit for this kind of file", field)


@dataclass
class Stored:
    key: str
    filename: str
    type: FileType
    size: int
    checksum: str


async def store(
    storage: Storage,
    user_id: uuid.UUID,
    file_id: uuid.UUID,
    upload: Upload,
    field: list[str] = FILE_FIELD,
    avatar: bool = False,
) -> Stored:
    """Copy the upload to storage, counting bytes as they pass: past the cap the copy stops and its partial
    file is removed, as it is when a text kind turns out not to be text. An avatar must be an image, of at
    most ``AVATAR_CAP``."""
    if not isinstance(upload, Upload):  # a string or a number where the client should have sent a file
        raise InvalidInput(NOT_A_FILE, field)
    filename = safe_filename(upload.filename)
    head = await upload.read(CHUNK)
    kind = file_type(filename, upload.content_type, head, field)
    if avatar and kind.kind != "IMAGE":
        raise InvalidInput("An avatar is a PNG, JPEG, GIF or WebP image", field)
    cap = AVATAR_CAP if avatar else cap_of(kind.kind)
    if upload.size is not None and upload.size > cap:
        raise too_large(cap, field)  # known before a byte is written
    digest = hashlib.sha256()
    counted = 0
    text = TextCheck(field) if kind.is_text else None

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal counted
        chunk = head
        while chunk:
            counted += len(chunk)
            if counted > cap:
                raise too_large(cap, field)
            if text is not None:
                text.feed(chunk)
            digest.update(chunk)
            yield chunk
            chunk = await upload.read(CHUNK)
        if text is not None:
            text.feed(b"", final=True)  # a character cut short at the end

    key = new_key(user_id, file_id)
    await storage.put(key, chunks())
    return Stored(key, filename, kind, counted, digest.hexdigest())


def parent_of(value: tuple[str, uuid.UUID] | None) -> dict[str, uuid.UUID]:
    if value is None:
        return {}
    return {PARENTS[value[0]].column: value[1]}


async def _save(
    uow: UnitOfWork, storage: Storage, stored: Stored, file_id: uuid.UUID, extra: dict[str, Any]
) -> Resource:
    """The row for bytes just stored; if it cannot be written, the bytes go too."""
    values: dict[str, Any] = {
        "filename": stored.filename,
        "content_type": stored.type.content_type,
        "kind": stored.type.kind,
        "size": stored.size,
        "checksum": stored.checksum,
        "storage_key": stored.key,
        **extra,
    }
    try:
        return await crud.create_owned(uow, Resource, values, file_id)
    except BaseException:
        await storage.delete(stored.key)
        raise


async def attach(
    uow: UnitOfWork, storage: Storage, upload: Upload, parent: tuple[str, uuid.UUID] | None
) -> Resource:
    """Attach a new file to ``parent`` (one of the viewer's objects, or nothing)."""
    if parent is not None:
        await crud.get_owned(
            uow.session, PARENTS[parent[0]].model, parent[1], uow.user_id, ["input", "parentId"]
        )
    file_id = uuid.uuid4()
    stored = await store(storage, uow.user_id, file_id, upload)
    return await _save(uow, storage, stored, file_id, parent_of(parent))


async def set_avatar(uow: UnitOfWork, storage: Storage, user: User, upload: Upload | None) -> None:
    """Make ``upload`` the user's avatar (None: no avatar); the old one's row and bytes go."""
    old_id = user.avatar_resource_id
    if upload is not None:
        file_id = uuid.uuid4()
        stored = await store(storage, uow.user_id, file_id, upload, AVATAR_FIELD, avatar=True)
        await _save(uow, storage, stored, file_id, {})
        user.avatar_resource_id = file_id
    else:
        user.avatar_resource_id = None
    await uow.session.flush()
    if old_id is not None:
        await delete(uow, storage, old_id)


async def delete(uow: UnitOfWork, storage: Storage, resource_id: uuid.UUID) -> bool:
    resource = await crud.get_owned(uow.session, Resource, resource_id, uow.user_id, ["input", "id"])
    await uow.session.delete(resource)
    key = resource.storage_key

    async def remove_bytes() -> None:
        await storage.delete(key)

    uow.on_commit(remove_bytes)
    return True


def storage_for(settings: Settings) -> Storage:
    return LocalStorage(settings.data_dir / "files")


async def sweep(resources: Resources, storage: Storage, older_than: float = SWEEP_GRACE_SECONDS) -> int:
    """Remove stored bytes whose row is gone (deleted with a parent or an account, or never committed)."""
    removed = 0
    for user_id in await storage.owners():
        keys = await storage.keys_of(user_id, older_than)
        if keys:
            async with read_session(resources.sessionmaker, user_id) as session:
                kept = set(
                    await session.scalars(select(Resource.storage_key).where(Resource.storage_key.in_(keys)))
                )
            for key in keys:
                if key not in kept:
                    await storage.delete(key)
                    removed += 1
        await storage.forget_owner(user_id)
    if removed:
        log.info("orphan files removed", files=removed)
    return removed


async def sweep_files(ctx: dict[str, Any]) -> int:
    """The worker's job (hourly): ``sweep`` with the default grace."""
    resources: Resources = ctx["resources"]
    return await sweep(resources, storage_for(resources.settings))
