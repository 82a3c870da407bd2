"""Short QMP sessions with a guest's QEMU, from the driver's worker threads.

Driver calls are blocking (they run in the agent's task threads), while the
``qemu.qmp`` library is asyncio: each call opens one monitor connection in
an event loop of its own, does its work and closes it, so that no
connection outlives a call and QEMU's single monitor is free for the next.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

from qemu.qmp import QMPClient, QMPError

from stacklet.compute.driver import DriverError

# The library logs every connection at INFO; the driver says what matters itself.
logging.getLogger("qemu.qmp").setLevel(logging.WARNING)

CONNECT_TIMEOUT = 10.0
T = TypeVar("T")


def session(socket_path: Path, work: Callable[[QMPClient], Awaitable[T]],
            timeout: float = 60.0) -> T:
    """Run ``work(client)`` on a fresh monitor connection and return its result."""
    async def run() -> T:
        client = QMPClient("stacklet")
        try:
            await asyncio.wait_for(client.connect(str(socket_path)), CONNECT_TIMEOUT)
        except (OSError, QMPError, asyncio.TimeoutError) as exc:
            raise DriverError(f"cannot reach the QEMU monitor at {socket_path}: {exc}") from None
        try:
            return await asyncio.wait_for(work(client), timeout)
        except QMPError as exc:
            raise DriverError(f"QEMU refused a monitor command: {exc}") from None
        except asyncio.TimeoutError:
            raise DriverError(f"QEMU did not answer within {timeout:.0f} s") from None
        finally:
            try:
                await client.disconnect()
            except (EOFError, OSError, QMPError):
                pass   # QEMU closed first (after "quit"), as it may
    return asyncio.run(run())


def execute(socket_path: Path, command: str, arguments: dict | None = None):
    """One monitor command; its return value."""
    async def work(client: QMPClient):
        return await client.execute(command, arguments)
    return session(socket_path, work)


def wait_for_migration(socket_path: Path, timeout: float) -> None:
    """Poll a migration (a suspend's save, or a resume's load) until it ends."""
    async def work(client: QMPClient) -> None:
        while True:
            status = (await client.execute("query-migrate")).get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled"):
                raise DriverError(f"saving or restoring the guest's state {status}")
            await asyncio.sleep(0.05)
    session(socket_path, work, timeout)
