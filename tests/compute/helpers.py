"""Compute test helpers: an image to boot, servers that reach a status, and rows
put straight into the database (hosts and servers)."""

from __future__ import annotations

import datetime
import os
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from stacklet.compute.models import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    ComputeService,
    Instance,
)
from tests.image import helpers as image_helpers

TINY_FLAVOR = "1"   # DevStack's m1.tiny: 512 MiB, 1 vCPU, 1 GiB


def active_image(api, token: str, **fields) -> str:
    """A public-enough (owned by the caller's project) active raw image."""
    image = image_helpers.create(api, token, name="boot-me", **fields)
    response = image_helpers.upload(api, token, image["id"], b"\0" * 4096)
    assert response.status_code == 204, response.text
    return image["id"]


def boot(compute, image_id: str, expect: int = 202, microversion: str = "2.1",
         **fields) -> dict:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": TINY_FLAVOR,
                       **fields}}
    response = compute.post("/servers", body, microversion=microversion)
    assert response.status_code == expect, response.text
    return response.json()


def wait_for_status(compute, server_id: str, status: str, timeout: float = 15,
                    microversion: str = "2.1") -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = compute.get(f"/servers/{server_id}", microversion=microversion)
        if status == "DELETED" and response.status_code == 404:
            return {}
        assert response.status_code == 200, response.text
        server = response.json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, f"server stayed {server['status']}, not {status}"
        time.sleep(0.05)


def boot_active(compute, image_id: str, **fields) -> dict:
    server_id = boot(compute, image_id, **fields)["server"]["id"]
    return wait_for_status(compute, server_id, "ACTIVE")


def qemu_pids(server_id: str) -> list[int]:
    """The pids of the QEMU processes running this server's guest."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and f"guest={server_id}".encode() in \
                    Path(f"/proc/{entry}/cmdline").read_bytes():
                pids.append(int(entry))
        except OSError:
            pass   # the process ended meanwhile
    return pids


def receive_until(websocket, expected: bytes, timeout: float = 30) -> bytes:
    """What a (websockets) client receives until ``expected`` has come."""
    received = b""
    deadline = time.monotonic() + timeout
    while expected not in received:
        received += websocket.recv(timeout=max(deadline - time.monotonic(), 0.1))
    return received


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def add_instance(api, project_id: str, user_id: str, *, vcpus: int = 1, ram: int = 512,
                 **fields) -> str:
    values = dict(display_name="vm", hostname="vm", project_id=project_id, user_id=user_id,
                  flavor={"id": "1", "name": "m1.tiny", "vcpus": vcpus, "ram": ram,
                          "disk": 1},
                  vcpus=vcpus, memory_mb=ram, root_gb=1, reservation_id="r-1",
                  vm_state="active")
    values.update(fields)
    with api.cloud.db.transaction() as session:
        instance = Instance(**values)
        session.add(instance)
        session.flush()
        return instance.id


def add_host(api, host: str, *, zone: str = "nova", alive: bool = True, **node) -> str:
    """A compute host: its nova-compute service (heartbeating now unless not alive)
    and its hypervisor, in ``zone`` (through an aggregate of that name unless it
    is the default zone).  Returns the service's uuid."""
    seen = now() if alive else now() - datetime.timedelta(hours=1)
    values = dict(host=host, hypervisor_hostname=f"{host}.example", hypervisor_type="QEMU",
                  hypervisor_version=8002000, vcpus=8,
                  memory_mb=16384, local_gb=100)
    values.update(node)
    with api.cloud.db.transaction() as session:
        service = ComputeService(id=str(uuid.uuid4()), host=host, binary="nova-compute",
                                 last_seen_up=seen)
        session.add(service)
        session.add(ComputeNode(**values))
        if zone != "nova":
            _put_in_zone(session, host, zone)
        return service.id


def _put_in_zone(session, host: str, zone: str) -> None:
    aggregate = session.scalar(sa.select(Aggregate).filter_by(name=zone))
    if aggregate is None:
        aggregate = Aggregate(name=zone, metadata_items=[
            AggregateMetadata(key="availability_zone", value=zone)])
        session.add(aggregate)
    aggregate.hosts.append(AggregateHost(host=host))


def add_service(api, host: str, binary: str, *, alive: bool = True) -> str:
    seen = now() if alive else now() - datetime.timedelta(hours=1)
    with api.cloud.db.transaction() as session:
        service = ComputeService(id=str(uuid.uuid4()), host=host, binary=binary,
                                 last_seen_up=seen)
        session.add(service)
        return service.id
