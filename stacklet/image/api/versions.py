"""Version discovery at /image and /image/versions."""

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.versions import ApiVersion

routes = RouteTable()

# Glance lists every minor version of v2 it speaks, newest first; clients pick
# the newest.  Only the newest is CURRENT.
_MINORS = ("2.17", "2.16", "2.15", "2.14", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8",
           "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")
VERSIONS = [ApiVersion(id=f"v{minor}", path="/v2",
                       status="CURRENT" if minor == _MINORS[0] else "SUPPORTED")
            for minor in _MINORS]


def _documents(req: ApiRequest) -> list[dict]:
    return [{key: value for key, value in version.document(req.base_url).items()
             if key != "updated"} for version in VERSIONS]


@routes.route("/", "GET")
def list_versions(req: ApiRequest):
    # Glance answers 300 Multiple Choices at its root, 200 at /versions.
    return JSONResponse({"versions": _documents(req)}, status_code=300)


@routes.route("/versions", "GET")
def show_versions(req: ApiRequest):
    return {"versions": _documents(req)}
