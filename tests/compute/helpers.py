"""Rows the compute tests put straight into the database: hosts and servers."""

from __future__ import annotations

import datetime
import uuid

from stacklet.compute.models import ComputeNode, ComputeService, Instance


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
    and its hypervisor.  Returns the service's uuid."""
    seen = now() if alive else now() - datetime.timedelta(hours=1)
    values = dict(host=host, hypervisor_hostname=f"{host}.example", hypervisor_type="QEMU",
                  hypervisor_version=8002000, availability_zone=zone, vcpus=8,
                  memory_mb=16384, local_gb=100)
    values.update(node)
    with api.cloud.db.transaction() as session:
        service = ComputeService(id=str(uuid.uuid4()), host=host, binary="nova-compute",
                                 last_seen_up=seen)
        session.add(service)
        session.add(ComputeNode(**values))
        return service.id


def add_service(api, host: str, binary: str, *, alive: bool = True) -> str:
    seen = now() if alive else now() - datetime.timedelta(hours=1)
    with api.cloud.db.transaction() as session:
        service = ComputeService(id=str(uuid.uuid4()), host=host, binary=binary,
                                 last_seen_up=seen)
        session.add(service)
        return service.id
