"""Hypervisor uptime of the fake driver's hosts, which run in this process."""

import pytest

from tests.compute.helpers import add_host


@pytest.fixture
def config_overrides():
    return {("compute", "driver"): "fake", ("compute", "fake_hosts"): 2}


def test_fake_hosts_answer_with_this_machines_uptime(api, admin):
    add_host(api, f"{api.cloud.host}-fake-1")
    add_host(api, "elsewhere")
    uptime = admin.get("/os-hypervisors/1/uptime")
    assert uptime.status_code == 200, uptime.text
    assert " up " in uptime.json()["hypervisor"]["uptime"]
    assert admin.get("/os-hypervisors/2/uptime").status_code == 501
