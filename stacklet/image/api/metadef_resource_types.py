"""/v2/metadefs/resource_types, and a namespace's associations with them at
/v2/metadefs/namespaces/{namespace}/resource_types."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.image import metadef_schemas, metadefs
from stacklet.image.api.metadef_namespaces import NAMESPACES, namespace_for
from stacklet.image.api.metadef_views import association_view, resource_type_view

routes = RouteTable()

ASSOCIATIONS = NAMESPACES + "/{namespace}/resource_types"


@routes.route("/v2/metadefs/resource_types", "GET")
def list_resource_types(req: ApiRequest):
    req.authorize("list_metadef_resource_types", {"project_id": req.ctx.project_id or ""})
    with req.cloud.db.session() as session:
        return {"resource_types": [resource_type_view(resource_type) for resource_type
                                   in metadefs.list_resource_types(session)]}


@routes.route(ASSOCIATIONS, "GET")
def list_associations(req: ApiRequest):
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "list_metadef_resource_types")
        target = metadefs.policy_target(namespace)
        shown = [association_view(association) for association in namespace.associations
                 if req.cloud.policy.allowed(req.ctx, "get_metadef_resource_type", target)]
        return {"resource_type_associations": shown}


@routes.route(ASSOCIATIONS, "POST", status=201)
def create_association(req: ApiRequest):
    data = metadef_schemas.validate_association(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "add_metadef_resource_type_association",
                                  for_update=True)
        return association_view(metadefs.associate_resource_type(session, namespace, data))


@routes.route(ASSOCIATIONS + "/{name}", "DELETE", status=204)
def delete_association(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "remove_metadef_resource_type_association",
                                  for_update=True)
        metadefs.dissociate_resource_type(session, namespace, req.path["name"])
