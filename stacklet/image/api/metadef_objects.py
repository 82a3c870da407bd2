"""/v2/metadefs/namespaces/{namespace}/objects: create, list, show, update, delete."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.image import metadef_schemas, metadefs
from stacklet.image.api.metadef_namespaces import NAMESPACES, namespace_for
from stacklet.image.api.metadef_views import object_view

routes = RouteTable()

OBJECTS = NAMESPACES + "/{namespace}/objects"


@routes.route(OBJECTS, "POST", status=201)
def create_object(req: ApiRequest):
    data = metadef_schemas.validate_object(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "add_metadef_object", for_update=True)
        return object_view(namespace.namespace,
                           metadefs.create_object(session, namespace, data))


@routes.route(OBJECTS, "GET")
def list_objects(req: ApiRequest):
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_objects")
        return {"objects": [object_view(namespace.namespace, found)
                            for found in metadefs.list_objects(session, namespace)],
                "schema": "/v2/schemas/metadefs/objects"}


@routes.route(OBJECTS + "/{name}", "GET")
def show_object(req: ApiRequest):
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_object")
        return object_view(namespace.namespace,
                           metadefs.get_object(session, namespace, req.path["name"]))


@routes.route(OBJECTS + "/{name}", "PUT")
def update_object(req: ApiRequest):
    data = metadef_schemas.validate_object(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "modify_metadef_object", for_update=True)
        found = metadefs.get_object(session, namespace, req.path["name"])
        metadefs.update_object(session, namespace, found, data)
        return object_view(namespace.namespace, found)


@routes.route(OBJECTS + "/{name}", "DELETE", status=204)
def delete_object(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "delete_metadef_object", for_update=True)
        metadefs.delete_object(session, namespace,
                               metadefs.get_object(session, namespace, req.path["name"]))
