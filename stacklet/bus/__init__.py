"""The message bus between API handlers, the conductor and host agents.

Messages are wake-up calls, not the record of work: whoever casts has
already written what must happen to the database (a server's task_state and
its parameters), and every consumer also sweeps the database on a timer.
A message lost to a crash, or cast from an API process that runs no
consumer, therefore only delays work by one sweep.

``LocalBus`` carries messages inside one process (the all-in-one cloud);
a RabbitMQ bus with the same two methods serves hosts joined over the
overlay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

LOG = logging.getLogger(__name__)

Consumer = Callable[[str, dict], None]


class LocalBus:
    """Topics delivered to consumers running on one asyncio event loop."""

    def __init__(self) -> None:
        self._consumers: dict[str, Consumer] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def consume(self, topic: str, consumer: Consumer,
                loop: asyncio.AbstractEventLoop) -> None:
        """Deliver ``topic``'s messages to ``consumer(method, payload)`` on ``loop``."""
        with self._lock:
            self._consumers[topic] = consumer
            self._loop = loop

    def stop_consuming(self, topic: str) -> None:
        with self._lock:
            self._consumers.pop(topic, None)

    def cast(self, topic: str, method: str, **payload) -> None:
        """Send without waiting; callable from any thread.  Dropped when nobody
        consumes the topic in this process (the consumer's sweep finds the work)."""
        with self._lock:
            consumer, loop = self._consumers.get(topic), self._loop
        if consumer is None or loop is None or loop.is_closed():
            LOG.debug("no consumer for %s.%s in this process", topic, method)
            return
        loop.call_soon_threadsafe(consumer, method, payload)
