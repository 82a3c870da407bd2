"""Version discovery at /identity and /identity/v3."""

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.versions import ApiVersion

routes = RouteTable()

V3 = ApiVersion(id="v3.14", path="/v3", status="stable", updated="2020-04-07T00:00:00Z",
                media_type="application/vnd.openstack.identity-v3+json")


@routes.route("/", "GET")
def list_versions(req: ApiRequest):
    # Keystone answers 300 Multiple Choices here; clients follow the v3 link.
    return JSONResponse({"versions": {"values": [V3.document(req.base_url)]}},
                        status_code=300)


@routes.route("/v3", "GET")
@routes.route("/v3/", "GET")
def show_version(req: ApiRequest):
    return {"version": V3.document(req.base_url)}
