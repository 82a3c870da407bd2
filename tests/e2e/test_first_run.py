"""`stacklet up`'s first run, as DevStack's: the default networks and DevStack's
demo project, made once per data dir and never again once a user removed them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stacklet import first_run
from tests.e2e.conftest import OpenStackCLI, StackletServer

pytestmark = pytest.mark.e2e


def test_the_default_networks_and_demo_are_made_once(tmp_path):
    server = StackletServer(tmp_path / "data", first_run=True, up_args=(
        "--compute-driver", "fake", "--no-guest-image", "--demo"))
    server.start()
    try:
        server.wait_for_output("first run: network private (10.0.0.0/26) and router1", 60)
        admin = OpenStackCLI(server.clouds_yaml)
        networks = {n["Name"]: n for n in admin.json("network", "list", "--long")}
        assert networks["public"]["Router Type"] in (True, "External")
        subnet = admin.json("subnet", "show", "public-subnet")
        assert (subnet["cidr"], subnet["gateway_ip"], subnet["enable_dhcp"]) == (
            "172.24.4.0/24", "172.24.4.1", False)

        # DevStack's demo user, with a clouds.yaml entry and a private network of its own.
        demo = OpenStackCLI(server.clouds_yaml, "stacklet-demo")
        mine = demo.json("network", "list")
        assert sorted(n["Name"] for n in mine) == ["private", "public"]
        assert demo.json("router", "list")[0]["Name"] == "router1"

        # What the admin deletes stays deleted across restarts; nothing doubles.
        (private,) = admin.json("network", "list", "--project", "admin", "--name", "private")
        (router,) = admin.json("router", "list", "--project", "admin")
        admin.run("router", "remove", "subnet", router["ID"], private["Subnets"][0])
        admin.run("router", "delete", router["ID"])
        admin.run("network", "delete", private["ID"])
        server.stop()
        server.start()
        time.sleep(1)
        names = sorted(n["Name"] for n in admin.json("network", "list"))
        assert names == ["private", "public"]     # public and demo's private, once each
        assert "first run" not in server.output()
    finally:
        server.stop()


def test_a_cloud_made_before_first_runs_keeps_its_public_network(tmp_path):
    """An upgrade: the admin had made `public` by hand; the first run joins it."""
    server = StackletServer(tmp_path / "data", up_args=("--compute-driver", "fake"))
    server.start()
    admin = OpenStackCLI(server.clouds_yaml)
    public = admin.json("network", "create", "--external", "public")
    admin.run("subnet", "create", "--network", "public", "--subnet-range", "192.0.2.0/28",
              "--no-dhcp", "public-subnet")
    server.stop()
    server = StackletServer(tmp_path / "data", first_run=True, port=server.port, up_args=(
        "--compute-driver", "fake", "--no-guest-image"))
    server.start()
    try:
        server.wait_for_output("first run: network private (10.0.0.0/26) and router1", 60)
        assert "the external network public exists already: using it" in server.output()
        assert [n["ID"] for n in admin.json("network", "list", "--name", "public")] == [
            public["id"]]
        router = admin.json("router", "show", "router1")
        assert router["external_gateway_info"]["network_id"] == public["id"]
    finally:
        server.stop()


def test_a_public_network_that_clashes_with_a_host_route_is_refused(tmp_path):
    """Say the host is on a LAN that DevStack's public range overlaps."""
    lan = next((route for _, route in first_run._host_routes(Path("/proc/net/route"))
                if route.prefixlen), None)
    if lan is None:
        pytest.skip("this host routes to no network but through its default route")
    server = StackletServer(tmp_path / "data", first_run=True,
                            up_args=("--public-cidr", str(lan)))
    with pytest.raises(pytest.fail.Exception, match=f"overlaps this host's route to {lan}"):
        server.start()
    assert "choose another with `stacklet up --public-cidr CIDR`" in server.output()
    assert not (tmp_path / "data").exists()      # refused before anything was made
