"""The file store: image data as files under one directory.

Data is written to a partial file while it streams in, hashed on the way
(md5 for ``checksum``, sha512 for ``os_hash_value``), then renamed into
place, so a reader never sees half an image and a failed or interrupted
upload leaves nothing behind.  Memory stays flat whatever the image size:
at most two buffers are in flight.

    <store_dir>/<image id>             active image data
    <store_dir>/staging/<image id>     data staged for a glance-direct import
    <store_dir>/<image id>.<n>.part    an upload in progress
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import errno
import hashlib
import os
import uuid
from pathlib import Path
from typing import AsyncIterator

from stacklet.image import formats

HASH_ALGO = "sha512"
# Data is handed to the writer threads in buffers of this size: large enough
# that thread hand-offs cost nothing, small enough to keep memory flat.
BUFFER_SIZE = 4 << 20
NO_SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class StoreFull(Exception):
    """The disk under the store ran out of space."""


class TooLarge(Exception):
    """More data arrived than the caller allowed (size cap or quota)."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclasses.dataclass(frozen=True)
class StoredData:
    path: Path
    size: int
    checksum: str        # md5, hex
    os_hash_value: str   # sha512, hex


class _HashingWriter:
    """Writes buffers to a file and hashes them, on two threads: md5 and
    sha512 each cost about as much as the write, and hashlib releases the GIL
    on large buffers, so they run side by side."""

    def __init__(self, fd: int):
        self.fd = fd
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha = hashlib.new(HASH_ALGO)
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="image-upload")

    def submit(self, buffer: bytes) -> asyncio.Future:
        self.size += len(buffer)
        loop = asyncio.get_running_loop()
        return asyncio.gather(loop.run_in_executor(self._threads, self._write_md5, buffer),
                              loop.run_in_executor(self._threads, self.sha.update, buffer))

    def _write_md5(self, buffer: bytes) -> None:
        view = memoryview(buffer)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.md5.update(buffer)

    def close(self) -> None:
        self._threads.shutdown(wait=True)


class ImageStore:
    def __init__(self, root: Path, *, require_format_match: bool = True):
        self.root = root
        self.staging = root / "staging"
        self.require_format_match = require_format_match

    def virtual_size(self, path: Path, disk_format: str | None) -> int | None:
        """The virtual size of stored data; FormatMismatch if the data is not
        its disk_format (when the store requires a match) or is unsafe."""
        try:
            return formats.inspect(path, disk_format)
        except formats.UnsafeImage:
            raise
        except formats.FormatMismatch:
            if self.require_format_match:
                raise
            return None

    def ensure(self) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)

    def data_path(self, image_id: str) -> Path:
        return self.root / image_id

    def staging_path(self, image_id: str) -> Path:
        return self.staging / image_id

    async def receive(self, chunks: AsyncIterator[bytes], destination: Path,
                      limit: int) -> StoredData:
        """Stream ``chunks`` into ``destination``, refusing more than ``limit`` bytes.

        On any failure (client gone, disk full, too large) the partial file
        is removed and the exception propagates; ``destination`` is untouched.
        """
        self.ensure()
        partial = destination.with_name(f"{destination.name}.{uuid.uuid4().hex[:8]}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        writer = _HashingWriter(fd)
        try:
            in_flight: asyncio.Future | None = None
            buffer = bytearray()
            received = 0
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    raise TooLarge(limit)
                buffer += chunk
                if len(buffer) >= BUFFER_SIZE:
                    if in_flight is not None:
                        await in_flight
                    in_flight = writer.submit(bytes(buffer))
                    buffer = bytearray()
            if in_flight is not None:
                await in_flight
            if buffer:
                await writer.submit(bytes(buffer))
            # Durable before it is announced: the image must survive a power cut.
            await asyncio.get_running_loop().run_in_executor(None, os.fsync, fd)
        except OSError as exc:
            _discard(partial)
            if exc.errno in NO_SPACE_ERRORS:
                raise StoreFull(str(exc)) from exc
            raise
        except BaseException:
            _discard(partial)
            raise
        finally:
            writer.close()   # waits for a write still in flight before the fd goes
            os.close(fd)
        os.replace(partial, destination)
        return StoredData(destination, writer.size, writer.md5.hexdigest(),
                          writer.sha.hexdigest())

    def promote_staged(self, image_id: str) -> Path:
        """Move staged data into the store: a rename, on the same filesystem,
        made durable before the caller records it."""
        staged, active = self.staging_path(image_id), self.data_path(image_id)
        os.replace(staged, active)
        _fsync_directory(self.root)
        _fsync_directory(self.staging)
        return active

    def unpromote(self, image_id: str) -> None:
        """Undo promote_staged after a crash, when the data is not already back."""
        staged, active = self.staging_path(image_id), self.data_path(image_id)
        if not staged.exists() and active.exists():
            os.replace(active, staged)

    def remove(self, image_id: str) -> None:
        _discard(self.data_path(image_id))
        _discard(self.staging_path(image_id))

    def remove_partials(self) -> None:
        """Remove what uploads cut short by a crash left behind."""
        for directory in (self.root, self.staging):
            if directory.is_dir():
                for partial in directory.glob("*.part"):
                    _discard(partial)


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
