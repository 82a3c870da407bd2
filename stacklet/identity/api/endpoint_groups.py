"""/v3/OS-EP-FILTER: endpoint groups and project-endpoint associations."""

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import endpoint_filter, schemas
from stacklet.identity.api.catalog import endpoint_view
from stacklet.identity.api.projects import project_view
from stacklet.identity.api.views import collection, update_body
from stacklet.identity.models import EndpointGroup

routes = RouteTable()

GROUPS = "/v3/OS-EP-FILTER/endpoint_groups"
GROUP_PROJECT = GROUPS + "/{group_id}/projects/{project_id}"
PROJECT_ENDPOINT = "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"


def endpoint_group_view(req: ApiRequest, group: EndpointGroup) -> dict:
    return {"id": group.id, "name": group.name, "description": group.description,
            "filters": group.filters,
            "links": {"self": req.url(f"{GROUPS}/{group.id}")}}


@routes.route(GROUPS, "GET")
def list_endpoint_groups(req: ApiRequest):
    req.authorize("identity:list_endpoint_groups")
    with req.cloud.db.session() as session:
        groups = endpoint_filter.list_groups(session, req.query.get("name"))
        return collection(req, "endpoint_groups", (endpoint_group_view(req, g) for g in groups))


@routes.route(GROUPS, "POST", status=201)
def create_endpoint_group(req: ApiRequest):
    req.authorize("identity:create_endpoint_group")
    data = validate(schemas.endpoint_group_create, req.json_body())["endpoint_group"]
    with req.cloud.db.transaction() as session:
        return {"endpoint_group": endpoint_group_view(
            req, endpoint_filter.create_group(session, data))}


@routes.route(GROUPS + "/{group_id}", "GET")
def show_endpoint_group(req: ApiRequest):
    req.authorize("identity:get_endpoint_group")
    with req.cloud.db.session() as session:
        return {"endpoint_group": endpoint_group_view(
            req, endpoint_filter.get_group(session, req.path["group_id"]))}


@routes.route(GROUPS + "/{group_id}", "HEAD")
def check_endpoint_group(req: ApiRequest):
    req.authorize("identity:get_endpoint_group")
    with req.cloud.db.session() as session:
        endpoint_filter.get_group(session, req.path["group_id"])
    return Response(status_code=200)


@routes.route(GROUPS + "/{group_id}", "PATCH")
def update_endpoint_group(req: ApiRequest):
    req.authorize("identity:update_endpoint_group")
    changes = update_body(req, schemas.endpoint_group_update, "endpoint_group",
                          req.path["group_id"])
    with req.cloud.db.transaction() as session:
        return {"endpoint_group": endpoint_group_view(
            req, endpoint_filter.update_group(session, req.path["group_id"], changes))}


@routes.route(GROUPS + "/{group_id}", "DELETE", status=204)
def delete_endpoint_group(req: ApiRequest):
    req.authorize("identity:delete_endpoint_group")
    with req.cloud.db.transaction() as session:
        endpoint_filter.delete_group(session, req.path["group_id"])


@routes.route(GROUP_PROJECT, "PUT", status=204)
def add_endpoint_group_to_project(req: ApiRequest):
    req.authorize("identity:add_endpoint_group_to_project")
    with req.cloud.db.transaction() as session:
        endpoint_filter.associate_group(session, req.path["group_id"], req.path["project_id"])


@routes.route(GROUP_PROJECT, "GET")
@routes.route(GROUP_PROJECT, "HEAD")
def check_endpoint_group_in_project(req: ApiRequest):
    req.authorize("identity:get_endpoint_group_in_project")
    with req.cloud.db.session() as session:
        endpoint_filter.get_group_association(session, req.path["group_id"],
                                              req.path["project_id"])


@routes.route(GROUP_PROJECT, "DELETE", status=204)
def remove_endpoint_group_from_project(req: ApiRequest):
    req.authorize("identity:remove_endpoint_group_from_project")
    with req.cloud.db.transaction() as session:
        endpoint_filter.dissociate_group(session, req.path["group_id"], req.path["project_id"])


@routes.route("/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups", "GET")
def list_endpoint_groups_for_project(req: ApiRequest):
    req.authorize("identity:list_endpoint_groups_for_project")
    with req.cloud.db.session() as session:
        groups = endpoint_filter.groups_of_project(session, req.path["project_id"])
        return collection(req, "endpoint_groups", (endpoint_group_view(req, g) for g in groups))


@routes.route(PROJECT_ENDPOINT, "PUT", status=204)
def add_endpoint_to_project(req: ApiRequest):
    req.authorize("identity:add_endpoint_to_project")
    with req.cloud.db.transaction() as session:
        endpoint_filter.associate_endpoint(session, req.path["project_id"],
                                           req.path["endpoint_id"])


@routes.route(PROJECT_ENDPOINT, "GET", status=204)
@routes.route(PROJECT_ENDPOINT, "HEAD", status=204)
def check_endpoint_in_project(req: ApiRequest):
    req.authorize("identity:check_endpoint_in_project")
    with req.cloud.db.session() as session:
        endpoint_filter.get_endpoint_association(session, req.path["project_id"],
                                                 req.path["endpoint_id"])


@routes.route(PROJECT_ENDPOINT, "DELETE", status=204)
def remove_endpoint_from_project(req: ApiRequest):
    req.authorize("identity:remove_endpoint_from_project")
    with req.cloud.db.transaction() as session:
        endpoint_filter.dissociate_endpoint(session, req.path["project_id"],
                                            req.path["endpoint_id"])


@routes.route(GROUPS + "/{group_id}/projects", "GET")
def list_projects_associated_with_endpoint_group(req: ApiRequest):
    req.authorize("identity:list_projects_associated_with_endpoint_group")
    with req.cloud.db.session() as session:
        found = endpoint_filter.projects_of_group(session, req.path["group_id"])
        return collection(req, "projects", (project_view(req, p) for p in found))


@routes.route(GROUPS + "/{group_id}/endpoints", "GET")
def list_endpoints_associated_with_endpoint_group(req: ApiRequest):
    req.authorize("identity:list_endpoints_associated_with_endpoint_group")
    with req.cloud.db.session() as session:
        group = endpoint_filter.get_group(session, req.path["group_id"])
        found = endpoint_filter.group_endpoints(session, group)
        return collection(req, "endpoints", (endpoint_view(req, e) for e in found))


@routes.route("/v3/OS-EP-FILTER/projects/{project_id}/endpoints", "GET")
def list_endpoints_for_project(req: ApiRequest):
    req.authorize("identity:list_endpoints_for_project")
    with req.cloud.db.session() as session:
        found = endpoint_filter.endpoints_of_project(session, req.path["project_id"])
        return collection(req, "endpoints", (endpoint_view(req, e) for e in found))


@routes.route("/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects", "GET")
def list_projects_for_endpoint(req: ApiRequest):
    req.authorize("identity:list_projects_for_endpoint")
    with req.cloud.db.session() as session:
        found = endpoint_filter.projects_of_endpoint(session, req.path["endpoint_id"])
        return collection(req, "projects", (project_view(req, p) for p in found))
