"""/v2/metadefs/namespaces/{namespace}/properties: create, list, show, update, delete."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.image import metadef_schemas, metadefs
from stacklet.image.api.metadef_namespaces import NAMESPACES, namespace_for
from stacklet.image.api.metadef_views import property_view

routes = RouteTable()

PROPERTIES = NAMESPACES + "/{namespace}/properties"


@routes.route(PROPERTIES, "POST", status=201)
def create_property(req: ApiRequest):
    data = metadef_schemas.validate_property(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "add_metadef_property", for_update=True)
        return property_view(metadefs.create_property(session, namespace, data))


@routes.route(PROPERTIES, "GET")
def list_properties(req: ApiRequest):
    # Keyed by name, as Glance lists them.
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_properties")
        return {"properties": {found.name: dict(found.definition)
                               for found in metadefs.list_properties(session, namespace)}}


@routes.route(PROPERTIES + "/{name}", "GET")
def show_property(req: ApiRequest):
    resource_type = req.query.get("resource_type")
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_property")
        if resource_type:
            req.authorize("get_metadef_resource_type", metadefs.policy_target(namespace))
        return property_view(metadefs.get_property(session, namespace, req.path["name"],
                                                   resource_type))


@routes.route(PROPERTIES + "/{name}", "PUT")
def update_property(req: ApiRequest):
    data = metadef_schemas.validate_property(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "modify_metadef_property", for_update=True)
        found = metadefs.get_property(session, namespace, req.path["name"])
        metadefs.update_property(session, namespace, found, data)
        return property_view(found)


@routes.route(PROPERTIES + "/{name}", "DELETE", status=204)
def delete_property(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "remove_metadef_property", for_update=True)
        metadefs.delete_property(session, namespace,
                                 metadefs.get_property(session, namespace, req.path["name"]))
