"""The interoperable import: stage data, import it, follow its tasks."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.image import imports, tasks
from stacklet.image.api.image_data import receive_image_data
from stacklet.image.api.lookup import authorized_image
from stacklet.image.api.views import image_task_view

routes = RouteTable()


@routes.route("/v2/images/{image_id}/stage", "PUT", status=204, stream_body=True)
async def stage_image_data(req: ApiRequest):
    return await receive_image_data(req, from_status="queued", to_status="uploading",
                                    staging=True)


@routes.route("/v2/images/{image_id}/import", "POST", status=202)
def import_image(req: ApiRequest):
    body = imports.validate_request(req.json_body())
    ctx = req.ctx
    image_id = req.path["image_id"]
    with req.cloud.db.transaction() as session:
        image = authorized_image(req, session, "import_image", for_update=True)
        task = imports.start(session, ctx, req.cloud.config, image, body,
                             request_id=getattr(req.http.state, "request_id", None))
        task_id = task.id
    imports.run(req.cloud.db, req.cloud.image_store, image_id, task_id)


@routes.route("/v2/images/{image_id}/tasks", "GET")
def list_image_tasks(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        image = authorized_image(req, session, "get_image")
        return {"tasks": [image_task_view(task)
                          for task in tasks.tasks_of_image(session, ctx, image.id)]}
