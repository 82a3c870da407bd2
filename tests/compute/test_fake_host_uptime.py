"""Hypervisor uptime of the fake driver's hosts, which run in this process."""

import pytest

from tests.compute.helpers import add_host


@pytest.fixture
def config_overrides():
    return {("compute", "driver"): "fake", ("compute", "fake_hosts"): 2}


def test_fake_hosts_answer_with_this_machines_uptime(api, admin):
    add_host(api, "elsewhere")
    nodes = {node["hypervisor_hostname"]: node["id"]
             for node in admin.get("/os-hypervisors").json()["hypervisors"]}
    uptime = admin.get(f"/os-hypervisors/{nodes[api.cloud.host + '-fake-2']}/uptime")
    assert uptime.status_code == 200, uptime.text
    assert " up " in uptime.json()["hypervisor"]["uptime"]
    assert admin.get(f"/os-hypervisors/{nodes['elsewhere.example']}/uptime").status_code == 501
