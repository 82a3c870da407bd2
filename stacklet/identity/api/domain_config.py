"""/v3/domains/{domain_id}/config and /v3/domains/config/default."""

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import domain_config, schemas

routes = RouteTable()

CONFIG = "/v3/domains/{domain_id}/config"


def _where(req: ApiRequest) -> tuple[str | None, str | None]:
    return req.path.get("group"), req.path.get("option")


@routes.route("/v3/domains/config/default", "GET")
@routes.route("/v3/domains/config/{group}/default", "GET")
@routes.route("/v3/domains/config/{group}/{option}/default", "GET")
def show_default_config(req: ApiRequest):
    req.authorize("identity:get_domain_config_default")
    return {"config": domain_config.default_config(*_where(req))}


@routes.route(CONFIG, "PUT")
def create_domain_config(req: ApiRequest):
    req.authorize("identity:create_domain_config")
    config = validate(schemas.domain_config, req.json_body())["config"]
    with req.cloud.db.transaction() as session:
        stored, created = domain_config.create(session, req.path["domain_id"], config)
    return JSONResponse({"config": stored}, status_code=201 if created else 200)


@routes.route(CONFIG, "GET")
@routes.route(CONFIG + "/{group}", "GET")
@routes.route(CONFIG + "/{group}/{option}", "GET")
def show_domain_config(req: ApiRequest):
    req.authorize("identity:get_domain_config")
    with req.cloud.db.session() as session:
        return {"config": domain_config.show(session, req.path["domain_id"], *_where(req))}


@routes.route(CONFIG, "PATCH")
@routes.route(CONFIG + "/{group}", "PATCH")
@routes.route(CONFIG + "/{group}/{option}", "PATCH")
def update_domain_config(req: ApiRequest):
    req.authorize("identity:update_domain_config")
    group, option = _where(req)
    changes = validate(schemas.domain_config, req.json_body())["config"]
    if option is not None:
        # One option's body is {"config": {"<option>": value}}.
        changes = {group: changes}
    with req.cloud.db.transaction() as session:
        config = domain_config.update(session, req.path["domain_id"], changes, group, option)
    return {"config": config}


@routes.route(CONFIG, "DELETE", status=204)
@routes.route(CONFIG + "/{group}", "DELETE", status=204)
@routes.route(CONFIG + "/{group}/{option}", "DELETE", status=204)
def delete_domain_config(req: ApiRequest):
    req.authorize("identity:delete_domain_config")
    with req.cloud.db.transaction() as session:
        domain_config.delete(session, req.path["domain_id"], *_where(req))
