"""/v2/metadefs/namespaces: create, list, show, update, delete, and delete all
of a namespace's objects, properties or tags."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import Forbidden, NotFound
from stacklet.common.pagination import first_link, next_link, paginate
from stacklet.image import metadef_schemas, metadefs
from stacklet.image.api.lookup import page_request
from stacklet.image.api.metadef_views import namespace_detail_view, namespace_view
from stacklet.image.metadef_models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefTag,
)

routes = RouteTable()

NAMESPACES = "/v2/metadefs/namespaces"
# Writing any of these in a new namespace's body needs its own rule too.
_CONTENT_RULES = {"resource_type_associations": "add_metadef_resource_type_association",
                  "objects": "add_metadef_object", "properties": "add_metadef_property",
                  "tags": "add_metadef_tag"}


def namespace_for(req: ApiRequest, session: Session, rule: str,
                  *, for_update: bool = False) -> MetadefNamespace:
    """The namespace the path names, after checking ``rule`` against it: 404 when
    the caller cannot see it, 403 when the rule says no."""
    namespace = metadefs.get_namespace(session, req.ctx, req.path["namespace"],
                                       for_update=for_update)
    req.authorize(rule, metadefs.policy_target(namespace))
    return namespace


def _own_project(req: ApiRequest) -> dict:
    return {"project_id": req.ctx.project_id or ""}


@routes.route(NAMESPACES, "POST", status=201)
def create_namespace(req: ApiRequest):
    data = metadef_schemas.validate_namespace(req.json_body())
    req.authorize("add_metadef_namespace", _own_project(req))
    for key, rule in _CONTENT_RULES.items():
        if data.get(key):
            req.authorize(rule, _own_project(req))
    with req.cloud.db.transaction() as session:
        namespace = metadefs.create_namespace(session, req.ctx, data)
        return _detail(session, namespace)


@routes.route(NAMESPACES, "GET")
def list_namespaces(req: ApiRequest):
    ctx = req.authorize("get_metadef_namespaces", _own_project(req))
    req.authorize("list_metadef_resource_types", _own_project(req))
    paging = page_request(req)
    with req.cloud.db.session() as session:
        found = [namespace for namespace in metadefs.list_namespaces(session, ctx, req.query)
                 if req.cloud.policy.allowed(ctx, "get_metadef_namespace",
                                             metadefs.policy_target(namespace))]
        shown, more = paginate(found, paging, key=lambda namespace: namespace.namespace,
                               unknown_marker=metadefs.marker_not_found(
                                   "Metadata definition namespace"))
        body = {"namespaces": [namespace_view(namespace) for namespace in shown],
                "first": first_link(NAMESPACES, req.query),
                "schema": "/v2/schemas/metadefs/namespaces"}
    if more and shown:
        body["next"] = next_link(NAMESPACES, req.query, shown[-1].namespace)
    return body


@routes.route(NAMESPACES + "/{namespace}", "GET")
def show_namespace(req: ApiRequest):
    with req.cloud.db.session() as session:
        try:
            namespace = namespace_for(req, session, "get_metadef_namespace")
        except Forbidden:
            # As in Glance: a namespace one may not read is one that is not there.
            raise NotFound(f"Metadata definition namespace={req.path['namespace']} "
                           "was not found.") from None
        target = metadefs.policy_target(namespace)
        for rule in ("list_metadef_resource_types", "get_metadef_objects",
                     "get_metadef_properties", "get_metadef_tags"):
            req.authorize(rule, target)
        return _detail(session, namespace, req.query.get("resource_type"))


def _detail(session: Session, namespace: MetadefNamespace,
            resource_type: str | None = None) -> dict:
    return namespace_detail_view(namespace, metadefs.list_objects(session, namespace),
                                 metadefs.list_properties(session, namespace),
                                 namespace.tags, resource_type)


@routes.route(NAMESPACES + "/{namespace}", "PUT")
def update_namespace(req: ApiRequest):
    data = metadef_schemas.validate_namespace(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "modify_metadef_namespace", for_update=True)
        metadefs.update_namespace(session, req.ctx, namespace, data)
        return namespace_view(namespace)


@routes.route(NAMESPACES + "/{namespace}", "DELETE", status=204)
def delete_namespace(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "delete_metadef_namespace", for_update=True)
        metadefs.delete_namespace(session, namespace)


@routes.route(NAMESPACES + "/{namespace}/objects", "DELETE", status=204)
def delete_objects(req: ApiRequest):
    _delete_contents(req, MetadefObject)


@routes.route(NAMESPACES + "/{namespace}/properties", "DELETE", status=204)
def delete_properties(req: ApiRequest):
    _delete_contents(req, MetadefProperty)


@routes.route(NAMESPACES + "/{namespace}/tags", "DELETE", status=204)
def delete_tags(req: ApiRequest):
    _delete_contents(req, MetadefTag, "delete_metadef_tags")


def _delete_contents(req: ApiRequest, model, rule: str | None = None) -> None:
    # Glance asks for the namespace deletion rule here (and for tags, its own too).
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "delete_metadef_namespace", for_update=True)
        if rule is not None:
            req.authorize(rule, metadefs.policy_target(namespace))
        metadefs.delete_contents(session, namespace, model)
