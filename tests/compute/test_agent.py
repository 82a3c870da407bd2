"""The compute agent across restarts and host failures, with the fake driver."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from stacklet.app import create_app
from stacklet.cloud import Cloud
from stacklet.compute.models import ComputeService, FakeGuest, Instance
from stacklet.db import utcnow
from tests.compute.conftest import Compute
from tests.compute.helpers import active_image, boot, boot_active, wait_for_status


@pytest.fixture
def config_overrides() -> dict:
    # Heartbeats only at start: a test that ages a heartbeat keeps it aged.
    return {("compute", "report_interval"): 3600.0}


def _restarted(api, stacklet_config, compute: Compute):
    """A second Stacklet on the same data dir and database, and the same caller."""
    cloud = Cloud(stacklet_config)
    client = TestClient(create_app(cloud), base_url="http://stacklet.test")
    api.client = client
    return cloud, client


def test_restart_keeps_servers_and_finishes_their_tasks(api, alice, stacklet_config):
    image_id = active_image(api, alice.token)
    running = boot_active(alice, image_id, name="keeps-running")
    died = boot_active(alice, image_id, name="guest-dies")
    api.client.__exit__(None, None, None)   # stop this Stacklet (its agent too)
    with api.cloud.db.transaction() as session:
        # While Stacklet was down one guest died; and one server's build was
        # cut short by the stop.
        session.execute(sa.delete(FakeGuest).filter_by(instance_id=died["id"]))
        building = session.get(Instance, running["id"])
        pending = Instance(**{c.key: getattr(building, c.key)
                              for c in Instance.__table__.columns if c.key != "id"})
        pending.display_name, pending.vm_state, pending.task_state = "half-built", \
            "building", "spawning"
        session.add(pending)
        session.flush()
        pending_id = pending.id

    cloud, client = _restarted(api, stacklet_config, alice)
    with client:
        assert wait_for_status(alice, running["id"], "ACTIVE")["name"] == "keeps-running"
        # The dead guest's server is SHUTOFF, not ACTIVE, and not ERROR.
        assert wait_for_status(alice, died["id"], "SHUTOFF")["OS-EXT-STS:power_state"] == 4
        # The build cut short by the stop is finished by the new agent.
        assert wait_for_status(alice, pending_id, "ACTIVE")["name"] == "half-built"
    cloud.close()


def test_guest_of_a_server_deleted_while_down_is_destroyed(api, alice, stacklet_config):
    image_id = active_image(api, alice.token)
    server = boot_active(alice, image_id)
    api.client.__exit__(None, None, None)
    with api.cloud.db.transaction() as session:
        row = session.get(Instance, server["id"])
        row.deleted, row.vm_state = True, "deleted"
    cloud, client = _restarted(api, stacklet_config, alice)
    with client:
        with cloud.db.session() as session:
            assert session.get(FakeGuest, server["id"]) is None
    cloud.close()


def test_down_host_keeps_its_servers_and_gets_no_new_ones(api, alice, admin):
    image_id = active_image(api, alice.token)
    server = boot_active(alice, image_id)
    down_time = api.cloud.config.get("compute", "service_down_time")
    with api.cloud.db.transaction() as session:
        service = session.scalar(sa.select(ComputeService).filter_by(binary="nova-compute"))
        service.last_seen_up = utcnow() - datetime.timedelta(seconds=down_time + 1)
    shown = admin.get(f"/servers/{server['id']}", microversion="2.16").json()["server"]
    assert shown["status"] == "ACTIVE" and shown["host_status"] == "DOWN"

    # No host is up: a new server cannot be placed.
    failed = boot(alice, image_id, name="nowhere")["server"]
    assert wait_for_status(alice, failed["id"], "ERROR")["fault"]["message"].startswith(
        "No valid host")
    # Deleting a server of a down host does not wait for the host.
    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    assert alice.get(f"/servers/{server['id']}").status_code == 404
