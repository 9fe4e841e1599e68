"""Where the bytes live: a small interface, and the default that keeps them under the data directory.

Keys are ``<user uuid>/<uuid>``, made by the server: a client's filename never becomes a path.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

CHUNK = 64 * 1024
KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[0-9a-f-]{36}$")


def new_key(user_id: uuid.UUID, file_id: uuid.UUID) -> str:
    return f"{user_id}/{file_id}"


class Storage(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store ``chunks`` under ``key``; if they fail part way (a cap passed), nothing stays behind."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The bytes under ``key``; FileNotFoundError when there are none."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone)."""

    async def owners(self) -> list[uuid.UUID]:
        """The users who have bytes stored."""

    async def keys_of(self, user_id: uuid.UUID, older_than: float) -> list[str]:
        """The keys of ``user_id`` stored at least ``older_than`` seconds ago."""

    async def forget_owner(self, user_id: uuid.UUID) -> None:
        """Forget the user's place in the storage once it holds nothing."""


@dataclass(frozen=True)
class LocalStorage:
    """Files under ``root`` (``$AURUM_DATA_DIR/files``)."""

    root: Path

    def path(self, key: str) -> Path:
        if not KEY.match(key):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self.path(key)
        await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            async with await anyio.open_file(partial, "xb") as out:
                async for chunk in chunks:
                    await out.write(chunk)
            await anyio.Path(partial).rename(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                await anyio.Path(partial).unlink()
            raise

    async def open(self, key: str) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path(key), "rb") as source:
            while chunk := await source.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        path = self.path(key)
        for stored in (path, path.with_name(path.name + ".partial")):
            with contextlib.suppress(FileNotFoundError):
                await anyio.Path(stored).unlink()

    async def owners(self) -> list[uuid.UUID]:
        if not await anyio.Path(self.root).is_dir():
            return []
        found = []
        async for entry in anyio.Path(self.root).iterdir():
            with contextlib.suppress(ValueError):
                found.append(uuid.UUID(entry.name))
        return found

    async def keys_of(self, user_id: uuid.UUID, older_than: float) -> list[str]:
        folder = anyio.Path(self.root / str(user_id))
        if not await folder.is_dir():
            return []
        cutoff = time.time() - older_than
        keys = []
        async for entry in folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if (await entry.stat()).st_mtime <= cutoff:
                    name = entry.name.removesuffix(".partial")
                    keys.append(f"{user_id}/{name}")
        return keys

    async def forget_owner(self, user_id: uuid.UUID) -> None:
        """Drop the user's folder if it is empty."""
        with contextlib.suppress(OSError):
            await anyio.Path(self.root / str(user_id)).rmdir()
