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
# Data is handed to the writer threads in buffers of this size, two per
# upload.  Three threads read each buffer (write, md5, sha512): at 1 MiB it
# is still in the CPU's cache for the second and third, which made 512 MiB
# uploads ~40% faster than 4 MiB buffers for the same CPU time; smaller
# buffers only add thread hand-offs.
BUFFER_SIZE = 1 << 20
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
    """Writes buffers to a file and hashes them, on three threads: writing,
    md5 and sha512 each cost about as much CPU as the others, and the kernel
    and hashlib release the GIL, so they run side by side (one thread doing
    two of them would be the slowest step of an upload)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.size = 0
        self._written = self._previous_start = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha = hashlib.new(HASH_ALGO)
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=3, thread_name_prefix="image-upload")

    def submit(self, buffer: bytearray | memoryview) -> asyncio.Future:
        """Write and hash ``buffer``; the caller awaits the result before the
        next submit, which keeps the file and the hashes in order."""
        self.size += len(buffer)
        loop = asyncio.get_running_loop()
        return asyncio.gather(*(loop.run_in_executor(self._threads, step, buffer)
                                for step in (self._write, self.md5.update, self.sha.update)))

    def _write(self, buffer: bytearray | memoryview) -> None:
        start = self._written
        view = memoryview(buffer)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self._written += len(buffer)
        # Start writing this buffer back to disk now, and drop the one before
        # (written back by now) from the page cache: the fsync at the end has
        # next to nothing left to do, and a large image does not push the
        # rest of the host's cache out of memory.
        os.posix_fadvise(self.fd, self._previous_start, self._written - self._previous_start,
                         os.POSIX_FADV_DONTNEED)
        self._previous_start = start

    def close(self) -> None:
        self._threads.shutdown(wait=True)


class ImageStore:
    def __init__(self, root: Path, *, require_format_match: bool = True):
        self.root = root
        self.staging = root / "staging"
        self.orphaned = root / "orphaned"
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
        loop = asyncio.get_running_loop()
        try:
            try:
                await _pump(chunks, writer, limit)
                # Durable before it is announced: the image must survive a power cut.
                await loop.run_in_executor(None, os.fsync, fd)
            finally:
                writer.close()   # waits for a write still in flight before the fd goes
                os.close(fd)
            await loop.run_in_executor(None, _rename_durably, partial, destination)
        except OSError as exc:
            _discard(partial)
            if exc.errno in NO_SPACE_ERRORS:
                raise StoreFull(str(exc)) from exc
            raise
        except BaseException:
            _discard(partial)
            raise
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

    def set_aside_orphans(self, *, data_of: set[str], staged_for: set[str]) -> list[Path]:
        """Move data files that belong to no image in ``data_of``, and staged files
        that belong to no image in ``staged_for``, into ``<store>/orphaned``;
        return where they went.  Files not named by an image id are not the
        store's and stay.  Nothing is deleted: a store started with another
        database than its own must not lose its images."""
        moved = []
        for directory, keep, suffix in ((self.root, data_of, ""),
                                        (self.staging, staged_for, ".staged")):
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.is_file() and _is_image_id(path.name) and path.name not in keep:
                    self.orphaned.mkdir(exist_ok=True)
                    target = self.orphaned / f"{path.name}{suffix}"
                    os.replace(path, target)
                    moved.append(target)
        return moved

    def remove_partials(self) -> None:
        """Remove what uploads cut short by a crash left behind."""
        for directory in (self.root, self.staging):
            if directory.is_dir():
                for partial in directory.glob("*.part"):
                    _discard(partial)


async def _pump(chunks: AsyncIterator[bytes], writer: _HashingWriter, limit: int) -> None:
    """Feed ``chunks`` to ``writer`` through two BUFFER_SIZE buffers: one is
    written and hashed while the other fills, so the network and the disk work
    side by side and memory stays at those two buffers."""
    filling, spare = bytearray(BUFFER_SIZE), None
    filled = 0
    in_flight: asyncio.Future | None = None
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise TooLarge(limit)
            piece = memoryview(chunk)
            while piece:
                taken = min(len(piece), BUFFER_SIZE - filled)
                filling[filled:filled + taken] = piece[:taken]
                filled += taken
                piece = piece[taken:]
                if filled == BUFFER_SIZE:
                    if in_flight is not None:
                        await in_flight   # the spare is free again once written
                    in_flight = writer.submit(filling)
                    filling, spare = spare or bytearray(BUFFER_SIZE), filling
                    filled = 0
        if in_flight is not None:
            await in_flight
            in_flight = None
        if filled:
            await writer.submit(memoryview(filling)[:filled])
    except BaseException:
        if in_flight is not None:
            # Its outcome no longer matters (the upload failed already); fetch
            # it so asyncio does not log it as an error nobody retrieved.
            in_flight.add_done_callback(_ignore_outcome)
        raise


def _ignore_outcome(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _rename_durably(partial: Path, destination: Path) -> None:
    """Move a complete file into place, and make the rename itself survive a
    crash (the directory entry is only durable once the directory is synced)."""
    os.replace(partial, destination)
    _fsync_directory(destination.parent)


def _is_image_id(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


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
