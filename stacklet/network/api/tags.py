"""/v2.0/{collection}/{id}/tags: tags on every taggable resource (standard-attr-tag).

Whoever may see a resource may read its tags (404 otherwise, as for the
resource itself); changing them takes the ``<action>_<collection>_tags``
rule against the resource's owner.  Each change bumps the resource's revision.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import APIError, NotFound
from stacklet.network import errors, tags
from stacklet.network.api.common import authorize, can_get
from stacklet.network.attributes import Invalid, string
from stacklet.network.errors import InvalidInput, TagNotFound
from stacklet.network.models import (
    FloatingIP,
    Network,
    Port,
    Router,
    SecurityGroup,
    Subnet,
    SubnetPool,
)
from stacklet.network.standard import bump_revision

routes = RouteTable()

MAX_TAG_LENGTH = 255


def _network_of(attribute_names: tuple[str, ...]):
    """Policy attributes a subnet or port takes from its network."""
    def extra(session, row) -> dict:
        network = session.get(Network, row.network_id)
        found = {"network:project_id": network.project_id, "shared": network.shared}
        return {name: found[name] for name in attribute_names}
    return extra


@dataclasses.dataclass(frozen=True)
class Taggable:
    singular: str                     # the resource's policy name (get_<singular>)
    tag_type: str                     # its tags' resource_type and tag rule names
    model: type
    not_found: Callable[[str], APIError]
    # More of the policy target than its owner: sharing, the network's owner.
    extra: Callable = lambda session, row: {}


TAGGABLE = {
    "networks": Taggable(
        "network", "networks", Network,
        lambda id_: errors.NetworkNotFound(f"Network {id_} could not be found."),
        lambda session, row: {"shared": row.shared, "router:external": row.router_external}),
    "subnets": Taggable(
        "subnet", "subnets", Subnet,
        lambda id_: errors.SubnetNotFound(f"Subnet {id_} could not be found."),
        _network_of(("network:project_id", "shared"))),
    "ports": Taggable(
        "port", "ports", Port,
        lambda id_: errors.PortNotFound(f"Port {id_} could not be found."),
        _network_of(("network:project_id",))),
    "subnetpools": Taggable(
        "subnetpool", "subnetpools", SubnetPool,
        lambda id_: errors.SubnetPoolNotFound(f"Subnet pool {id_} could not be found."),
        lambda session, row: {"shared": row.shared}),
    "security-groups": Taggable(
        "security_group", "security_groups", SecurityGroup,
        lambda id_: errors.SecurityGroupNotFound(f"Security group {id_} does not exist")),
    "routers": Taggable(
        "router", "routers", Router,
        lambda id_: errors.RouterNotFound(f"Router {id_} could not be found")),
    "floatingips": Taggable(
        "floatingip", "floatingips", FloatingIP,
        lambda id_: errors.FloatingIPNotFound(f"Floating IP {id_} could not be found")),
}

_tag_text = string(MAX_TAG_LENGTH)


def _checked_tag(value) -> str:
    try:
        tag = _tag_text(value)
    except Invalid as exc:
        raise InvalidInput(f"Invalid input for operation: {exc}.") from None
    if not tag:
        raise InvalidInput("Invalid input for operation: a tag cannot be empty.")
    return tag


def _checked_tags(body) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise InvalidInput("Invalid input for operation: Invalid tags body.")
    return [_checked_tag(tag) for tag in body["tags"]]


class TaggedResource:
    """The resource of a tags URL, checked visible, and the tag rules on it."""

    def __init__(self, req: ApiRequest, session, *, for_update: bool = False):
        collection, resource_id = req.path["collection"], req.path["resource_id"]
        self.kind = TAGGABLE.get(collection)
        if self.kind is None:
            # Not a taggable collection: no such URL, as Neutron answers.
            raise NotFound("The resource could not be found.")
        self.req, self.session = req, session
        self.row = session.get(self.kind.model, resource_id,
                               with_for_update=for_update or None)
        if self.row is None:
            raise self.kind.not_found(resource_id)
        self.target = {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                       **self.kind.extra(session, self.row)}
        if not can_get(req, self.kind.singular, self.target):
            raise self.kind.not_found(resource_id)

    def authorize(self, action: str) -> None:
        authorize(self.req, action, f"{self.kind.tag_type}_tags", self.target)

    def tags(self) -> list[str]:
        return tags.tags_of(self.session, self.kind.tag_type, [self.row.id])[self.row.id]

    def changed(self) -> None:
        bump_revision(self.row)
        self.session.flush()


TAGS_PATH = "/v2.0/{collection}/{resource_id}/tags"
TAG_PATH = TAGS_PATH + "/{tag}"


@routes.route(TAGS_PATH, "GET")
def list_tags(req: ApiRequest):
    with req.cloud.db.session() as session:
        return {"tags": TaggedResource(req, session).tags()}


@routes.route(TAGS_PATH, "PUT")
def replace_tags(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        resource = TaggedResource(req, session, for_update=True)
        resource.authorize("update")
        wanted = _checked_tags(req.body)
        tags.set_tags(session, resource.kind.tag_type, resource.row.id, wanted)
        resource.changed()
        return {"tags": resource.tags()}


@routes.route(TAGS_PATH, "DELETE", status=204)
def delete_all_tags(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        resource = TaggedResource(req, session, for_update=True)
        resource.authorize("delete")
        if resource.tags():
            tags.set_tags(session, resource.kind.tag_type, resource.row.id, [])
            resource.changed()


@routes.route(TAG_PATH, "GET", status=204)
def check_tag(req: ApiRequest):
    tag = _checked_tag(req.path["tag"])
    with req.cloud.db.session() as session:
        if tag not in TaggedResource(req, session).tags():
            raise TagNotFound(f"Tag {tag} could not be found.")


@routes.route(TAG_PATH, "PUT", status=201)
def add_tag(req: ApiRequest):
    tag = _checked_tag(req.path["tag"])
    with req.cloud.db.transaction() as session:
        resource = TaggedResource(req, session, for_update=True)
        resource.authorize("create")
        if tag not in resource.tags():
            tags.add_tag(session, resource.kind.tag_type, resource.row.id, tag)
            resource.changed()


@routes.route(TAG_PATH, "DELETE", status=204)
def remove_tag(req: ApiRequest):
    tag = _checked_tag(req.path["tag"])
    with req.cloud.db.transaction() as session:
        resource = TaggedResource(req, session, for_update=True)
        resource.authorize("delete")
        if not tags.remove_tag(session, resource.kind.tag_type, resource.row.id, tag):
            raise TagNotFound(f"Tag {tag} could not be found.")
        resource.changed()
