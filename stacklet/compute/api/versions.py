"""Version discovery at /compute, /compute/v2.1 and /compute/v2.0."""

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.versions import ApiVersion

routes = RouteTable()

_MEDIA_TYPE = "application/vnd.openstack.compute+json;version=2.1"


def _versions() -> list[ApiVersion]:
    from stacklet.compute.api import MAX_VERSION, MIN_VERSION
    return [
        # v2.0 is v2.1 without microversions, as Nova serves it.
        ApiVersion(id="v2.0", path="/v2", status="SUPPORTED", updated="2011-01-21T11:33:21Z",
                   media_type=_MEDIA_TYPE),
        ApiVersion(id="v2.1", path="/v2.1", status="CURRENT", updated="2013-07-23T11:33:21Z",
                   media_type=_MEDIA_TYPE, min_version=str(MIN_VERSION),
                   max_version=str(MAX_VERSION)),
    ]


def _document(req: ApiRequest, version: ApiVersion) -> dict:
    doc = version.document(req.base_url)
    doc.setdefault("version", "")
    doc.setdefault("min_version", "")
    return doc


@routes.route("/", "GET")
def list_versions(req: ApiRequest):
    return {"versions": [_document(req, version) for version in _versions()]}


@routes.route("/v2.1", "GET")
@routes.route("/v2.1/", "GET")
def show_v21(req: ApiRequest):
    return {"version": _document(req, _versions()[1])}


@routes.route("/v2", "GET")
@routes.route("/v2/", "GET")
def show_v20(req: ApiRequest):
    return {"version": _document(req, _versions()[0])}
