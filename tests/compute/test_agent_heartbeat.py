"""A compute agent keeps its hosts up while its task threads are all busy."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from stacklet.compute.agent import MAX_PARALLEL_TASKS
from stacklet.compute.driver.fake import FakeDriver
from stacklet.compute.models import ComputeService
from tests.compute.helpers import active_image, boot, wait_for_status

REPORT_INTERVAL = 0.2


@pytest.fixture
def config_overrides() -> dict:
    return {("compute", "report_interval"): REPORT_INTERVAL}


def last_heartbeat(api):
    with api.cloud.db.session() as session:
        return session.scalar(sa.select(ComputeService.last_seen_up)
                              .filter_by(binary="nova-compute"))


def test_heartbeats_go_on_while_every_task_thread_is_busy(api, alice, monkeypatch):
    release = threading.Event()
    spawning = threading.Semaphore(0)
    real_spawn = FakeDriver.spawn

    def slow_spawn(driver, spec):
        spawning.release()
        release.wait(30)
        real_spawn(driver, spec)

    monkeypatch.setattr(FakeDriver, "spawn", slow_spawn)
    image_id = active_image(api, alice.token)
    servers = [boot(alice, image_id, name=f"busy-{n}")["server"]["id"]
               for n in range(MAX_PARALLEL_TASKS + 2)]
    try:
        for _ in range(MAX_PARALLEL_TASKS):
            assert spawning.acquire(timeout=15), "the agent did not start the spawns"
        before = last_heartbeat(api)
        time.sleep(5 * REPORT_INTERVAL)
        assert last_heartbeat(api) > before
    finally:
        release.set()
    for server_id in servers:
        wait_for_status(alice, server_id, "ACTIVE")
