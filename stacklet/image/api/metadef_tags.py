"""/v2/metadefs/namespaces/{namespace}/tags: create one or several, list, show,
rename, delete (deleting them all is in metadef_namespaces)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.pagination import paginate
from stacklet.image import metadef_schemas, metadefs
from stacklet.image.api.lookup import page_request
from stacklet.image.api.metadef_namespaces import NAMESPACES, namespace_for
from stacklet.image.api.metadef_views import tag_view

routes = RouteTable()

TAGS = NAMESPACES + "/{namespace}/tags"
_TRUE = ("1", "t", "true", "on", "y", "yes")


@routes.route(TAGS, "POST", status=201)
def create_tags(req: ApiRequest):
    data = metadef_schemas.validate_tags(req.json_body())
    # Without X-OpenStack-Append the given tags replace the namespace's tags.
    append = req.headers.get("x-openstack-append", "").strip().lower() in _TRUE
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "add_metadef_tags", for_update=True)
        created = metadefs.create_tags(session, namespace,
                                       [tag["name"] for tag in data["tags"]], append)
        return {"tags": [{"name": tag.name} for tag in created]}


@routes.route(TAGS, "GET")
def list_tags(req: ApiRequest):
    # Glance lists every tag unless a limit is asked for.
    paging = page_request(req, default_limit=False)
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_tags")
        found = metadefs.list_tags(session, namespace, req.query)
        shown, _ = paginate(found, paging, key=lambda tag: tag.name,
                            unknown_marker=metadefs.marker_not_found("Metadata definition tag"))
        return {"tags": [{"name": tag.name} for tag in shown]}


@routes.route(TAGS + "/{name}", "POST", status=201)
def create_tag(req: ApiRequest):
    data = metadef_schemas.validate_tag({"name": req.path["name"]})
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "add_metadef_tag", for_update=True)
        return tag_view(metadefs.create_tag(session, namespace, data["name"]))


@routes.route(TAGS + "/{name}", "GET")
def show_tag(req: ApiRequest):
    with req.cloud.db.session() as session:
        namespace = namespace_for(req, session, "get_metadef_tag")
        return tag_view(metadefs.get_tag(session, namespace, req.path["name"]))


@routes.route(TAGS + "/{name}", "PUT")
def update_tag(req: ApiRequest):
    data = metadef_schemas.validate_tag(req.json_body())
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "modify_metadef_tag", for_update=True)
        tag = metadefs.get_tag(session, namespace, req.path["name"])
        metadefs.rename_tag(session, namespace, tag, data["name"])
        return tag_view(tag)


@routes.route(TAGS + "/{name}", "DELETE", status=204)
def delete_tag(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        namespace = namespace_for(req, session, "delete_metadef_tag", for_update=True)
        metadefs.delete_tag(session, namespace,
                            metadefs.get_tag(session, namespace, req.path["name"]))
