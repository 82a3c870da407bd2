"""/v2/tasks: the image service's tasks (admin only by default)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, MethodNotAllowed
from stacklet.common.pagination import next_link, paginate
from stacklet.image import tasks
from stacklet.image.api.lookup import page_request
from stacklet.image.api.views import task_stub_view, task_view

routes = RouteTable()


def _authorize(req: ApiRequest, rule: str):
    req.authorize("tasks_api_access", {"project_id": req.ctx.project_id or ""})
    return req.authorize(rule, {"project_id": req.ctx.project_id or ""})


@routes.route("/v2/tasks", "GET")
def list_tasks(req: ApiRequest):
    ctx = _authorize(req, "get_tasks")
    page = page_request(req)
    with req.cloud.db.session() as session:
        shown, more = paginate(tasks.list_tasks(session, ctx, req.query), page,
                               key=lambda task: task.id)
        body = {"tasks": [task_stub_view(task) for task in shown],
                "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}
    if more and shown:
        body["next"] = next_link("/v2/tasks", req.query, shown[-1].id)
    return body


@routes.route("/v2/tasks", "POST")
def create_task(req: ApiRequest):
    _authorize(req, "add_task")
    body = req.json_body()
    for name in ("type", "input"):
        if not isinstance(body, dict) or name not in body:
            raise BadRequest(f"Task '{name}' is required")
    # The task-based import fetches a URL; Stacklet offers the interoperable
    # import (glance-direct) instead, as Glance itself advises.
    raise BadRequest(f"Task type {body['type']!r} is not offered by this cloud: use the "
                     "interoperable image import (PUT /v2/images/{id}/stage, then POST "
                     "/v2/images/{id}/import with method glance-direct).")


@routes.route("/v2/tasks/{task_id}", "GET")
def show_task(req: ApiRequest):
    ctx = _authorize(req, "get_task")
    with req.cloud.db.session() as session:
        return task_view(tasks.get_visible(session, ctx, req.path["task_id"]))


@routes.route("/v2/tasks/{task_id}", "DELETE")
def delete_task(req: ApiRequest):
    _authorize(req, "get_task")
    raise MethodNotAllowed("This operation is currently not permitted on Glance Tasks. They "
                           "are auto deleted after reaching the time based on their "
                           "expires_at property.", headers={"Allow": "GET"})
