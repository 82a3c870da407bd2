"""Which of a host's processes runs its services: the one holding a lock file.

Every API worker process could run the compute services and the network
agents, but one per host must (two would fight over the same guests and
bridges): the process holding ``DIR/<name>.lock``.  When it exits, the
lock goes with it and a waiting process takes over within a few seconds.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

RETRY_SECONDS = 3


class HostLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def take(self) -> bool:
        """Whether this process holds the lock now (taken without waiting)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def wait(self) -> None:
        """Return once this process holds the lock."""
        while not self.take():
            await asyncio.sleep(RETRY_SECONDS)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
