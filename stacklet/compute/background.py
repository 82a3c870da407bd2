"""The background work of the conductor and the agent: tasks they start on the
event loop, and periodic ones, all cancelled when they stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

LOG = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def start(self, coroutine: Awaitable) -> None:
        """Run a coroutine without waiting for it (kept referenced until done)."""
        running = asyncio.ensure_future(coroutine)
        self._tasks.add(running)
        running.add_done_callback(self._tasks.discard)

    def every(self, seconds: float, action: Callable) -> None:
        """Run ``action`` every ``seconds``: awaited when it is a coroutine function,
        else in a thread of its own (the heartbeat must not wait behind a
        backlog of tasks in the agent's task threads)."""
        async def repeat() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    if asyncio.iscoroutinefunction(action):
                        await action()
                    else:
                        await asyncio.to_thread(action)
                except Exception:  # a failed beat or sweep must not stop the next
                    LOG.exception("periodic %s failed", action.__name__)
        self.start(repeat())

    def cancel(self) -> None:
        for running in list(self._tasks):
            running.cancel()
