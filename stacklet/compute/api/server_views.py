"""Servers as the API shows them, per microversion (Tempest's response schemas)."""

from __future__ import annotations

import hashlib

from stacklet.common.api import ApiRequest
from stacklet.common.timeutils import isotime
from stacklet.compute import states
from stacklet.compute.api.common import resource_links as links
from stacklet.compute.models import Instance, InstanceFault

_EXTENDED = "os_compute_api:os-extended-server-attributes"


def host_id(server: Instance) -> str:
    """An opaque id of the host, the same for one project's servers on one host."""
    return hashed_host(server.project_id, server.host)


def hashed_host(project_id: str, host: str | None) -> str:
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def summary(req: ApiRequest, server: Instance) -> dict:
    return {"id": server.id, "name": server.display_name,
            "links": links(req, "servers", server.id)}


def detail(req: ApiRequest, server: Instance, addresses: dict, *,
           security_groups: list[str] | None = None,
           host_status: str | None = None, show_extended: bool | None = None,
           groups: list[str] | None = None) -> dict:
    """The full view.  ``security_groups`` are the names of the groups on the
    server's ports (None: it has none); ``host_status`` (2.16, admins) comes from the caller's
    lookup of the host's service; ``groups`` (2.71) is shown on show and update."""
    version = req.version
    status = states.api_status(server.vm_state, server.task_state)
    view = {
        "id": server.id,
        "name": server.display_name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": {item.key: item.value for item in server.metadata_items},
        "hostId": host_id(server),
        "image": _image(req, server),
        "flavor": _flavor(req, server),
        "created": isotime(server.created_at),
        "updated": isotime(server.updated_at),
        "addresses": addresses,
        "accessIPv4": server.access_ip_v4 or "",
        "accessIPv6": server.access_ip_v6 or "",
        "links": links(req, "servers", server.id),
        "OS-DCF:diskConfig": server.disk_config,
        "OS-EXT-AZ:availability_zone": server.availability_zone or "",
        "config_drive": "True" if server.config_drive else "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": isotime(server.launched_at),
        "OS-SRV-USG:terminated_at": isotime(server.terminated_at),
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],
    }
    if status in ("BUILD", "ACTIVE", "RESIZE", "REBUILD"):
        view["progress"] = 100 if status == "ACTIVE" else server.progress
    # As Nova asks Neutron: the groups on the server's ports, absent when they
    # have none (a network without port security); a server without ports
    # (yet) shows those it asked for, which its ports will get.
    if security_groups is None:
        security_groups = server.system_metadata.get("security_groups")
    if security_groups:
        view["security_groups"] = [{"name": name} for name in security_groups]
    if show_extended is None:
        show_extended = req.allowed(_EXTENDED, {"project_id": server.project_id})
    if show_extended:
        view.update({
            "OS-EXT-SRV-ATTR:host": server.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node,
            "OS-EXT-SRV-ATTR:instance_name": instance_name(server),
        })
        if version.matches("2.3"):
            properties = server.system_metadata.get("image_properties", {})
            view.update({
                "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                "OS-EXT-SRV-ATTR:hostname": server.hostname,
                "OS-EXT-SRV-ATTR:kernel_id": properties.get("kernel_id", ""),
                "OS-EXT-SRV-ATTR:ramdisk_id": properties.get("ramdisk_id", ""),
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": server.user_data,
            })
    if version.matches("2.3"):
        for volume in view["os-extended-volumes:volumes_attached"]:
            volume.setdefault("delete_on_termination", False)
    if version.matches("2.9"):
        view["locked"] = server.locked
    if version.matches("2.16") and host_status is not None:
        view["host_status"] = host_status
    if version.matches("2.19"):
        view["description"] = server.display_description
    if version.matches("2.26"):
        view["tags"] = [tag.tag for tag in server.tags]
    if version.matches("2.63"):
        view["trusted_image_certificates"] = None
    if version.matches("2.71") and groups is not None:
        view["server_groups"] = groups
    if version.matches("2.73"):
        view["locked_reason"] = server.locked_reason
    if version.matches("2.90") and not show_extended:
        view["OS-EXT-SRV-ATTR:hostname"] = server.hostname
    if version.matches("2.96"):
        view["pinned_availability_zone"] = server.system_metadata.get("requested_zone")
    fault = _fault(req, server, status)
    if fault is not None:
        view["fault"] = fault
    return view


# What Nova leaves out of its answers to update and rebuild before 2.75.
_NOT_IN_OLD_ACTION_VIEW = ("OS-EXT-", "OS-SRV-USG:", "os-extended-volumes:", "config_drive",
                           "security_groups", "host_status", "server_groups", "key_name")


def action_view(view: dict, version, *, keep: tuple[str, ...] = ()) -> dict:
    """The detailed view as update and rebuild answer it: whole from 2.75, without
    the extended attributes (but for ``keep``) before."""
    if version.matches("2.75"):
        return view
    trimmed = {key: item for key, item in view.items()
               if key in keep or not key.startswith(_NOT_IN_OLD_ACTION_VIEW)}
    # Nova's extend_address=False: the bare addresses, without type and MAC.
    trimmed["addresses"] = {network: [{"version": entry["version"], "addr": entry["addr"]}
                                      for entry in entries]
                            for network, entries in view["addresses"].items()}
    return trimmed


def instance_name(server: Instance) -> str:
    return f"instance-{server.id[:8]}"


def _image(req: ApiRequest, server: Instance):
    # A server booted from a volume shows an empty string, as in Nova.
    if not server.image_ref:
        return ""
    return {"id": server.image_ref, "links": [
        {"rel": "bookmark", "href": req.url(f"/images/{server.image_ref}")}]}


def _flavor(req: ApiRequest, server: Instance) -> dict:
    flavor = server.flavor
    if not req.version.matches("2.47"):
        return {"id": flavor["id"], "links": [
            {"rel": "bookmark", "href": req.url(f"/flavors/{flavor['id']}")}]}
    view = {"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
            "ephemeral": flavor["ephemeral"], "swap": flavor["swap"],
            "original_name": flavor["name"]}
    if req.allowed("os_compute_api:os-flavor-extra-specs:index",
                   {"project_id": server.project_id}):
        view["extra_specs"] = flavor.get("extra_specs", {})
    return view


def _fault(req: ApiRequest, server: Instance, status: str) -> dict | None:
    if status not in ("ERROR", "DELETED"):
        return None
    latest: InstanceFault | None = server.faults[0] if server.faults else None
    if latest is None:
        return None
    fault = {"code": latest.code, "created": isotime(latest.created_at),
             "message": latest.message}
    # Nova hides the details (a traceback) of internal errors from non-admins.
    if req.ctx.is_admin or latest.code != 500:
        fault["details"] = latest.details
    return fault
