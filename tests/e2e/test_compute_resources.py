"""Flavors, key pairs, quotas and limits driven by the real `openstack` CLI against
`stacklet up` (servers themselves are tested elsewhere)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import OpenStackCLI, admin_cloud, create_member, write_clouds_yaml

pytestmark = pytest.mark.e2e


def test_compute_resources_with_the_cli(server, tmp_path):
    admin = OpenStackCLI(server.clouds_yaml)
    member = create_member(admin, server, "e2e-compute", "e2e-compute", "compute-pass-1")
    clouds = write_clouds_yaml(tmp_path / "clouds.yaml", {
        "stacklet": admin_cloud(server), "member": member["cloud"]})
    admin = OpenStackCLI(clouds)
    user = OpenStackCLI(clouds, "member")
    project_id = member["project"]["id"]

    # DevStack's flavors exist; admins make private ones and share them.
    names = {flavor["Name"] for flavor in user.json("flavor", "list")}
    assert {"m1.tiny", "m1.nano", "m1.micro", "m1.xlarge"} <= names
    assert user.json("flavor", "show", "m1.nano")["ram"] == 128
    admin.run("flavor", "create", "--private", "--ram", "256", "--vcpus", "1", "--disk", "2",
              "--property", "hw:cpu_policy=shared", "e2e.private")
    assert "e2e.private" not in {f["Name"] for f in user.json("flavor", "list")}
    admin.run("flavor", "set", "--project", project_id, "e2e.private")
    shown = user.json("flavor", "show", "e2e.private")
    assert shown["os-flavor-access:is_public"] is False
    assert "e2e.private" in {f["Name"] for f in user.json("flavor", "list")}
    assert "403" in user.fails("flavor", "create", "--ram", "1", "--vcpus", "1", "mine")
    admin.run("flavor", "delete", "e2e.private")

    # Key pairs: the CLI generates one (2.92 imports only) or imports a file.
    created = user.json("keypair", "create", "--private-key", str(tmp_path / "id"), "e2e-key")
    assert created["name"] == "e2e-key" and (tmp_path / "id").read_text()
    listed = user.json("keypair", "list")
    assert [k["Name"] for k in listed] == ["e2e-key"]
    public_key = user.run("keypair", "show", "--public-key", "e2e-key").stdout
    (tmp_path / "id.pub").write_text(public_key)
    assert "already exists" in user.fails("keypair", "create", "--public-key",
                                          str(tmp_path / "id.pub"), "e2e-key")
    user.run("keypair", "delete", "e2e-key")
    imported = user.json("keypair", "create", "--public-key", str(tmp_path / "id.pub"),
                         "e2e-imported")
    assert imported["fingerprint"] == created["fingerprint"]

    # Quotas and limits.
    admin.run("quota", "set", "--instances", "3", "--key-pairs", "7", project_id)
    quota = {row["Resource"]: row["Limit"] for row in admin.json("quota", "show", project_id)}
    assert quota["instances"] == 3 and quota["key-pairs"] == 7, quota
    limits = {row["Name"]: row["Value"] for row in user.json("limits", "show", "--absolute")}
    assert limits["max_total_instances"] == 3 and limits["total_instances_used"] == 0

    # Whether or not compute hosts have joined, the host APIs answer.
    admin.json("compute", "service", "list")
    admin.json("availability", "zone", "list", "--compute")
    admin.json("hypervisor", "list")
    admin.run("usage", "list")
