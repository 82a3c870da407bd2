"""/v2.0/availability_zones (availability_zone)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import availability_zones
from stacklet.network.api.common import can_get, shape
from stacklet.network.errors import BadRequest
from stacklet.network.listing import CONTROL_PARAMS

routes = RouteTable()
FILTERS = ("name", "resource", "state")


@routes.route("/v2.0/availability_zones", "GET")
def list_availability_zones(req: ApiRequest):
    req.ctx
    for key in req.query.keys():
        if key not in FILTERS and key not in CONTROL_PARAMS:
            raise BadRequest(f"{key} is invalid attribute for filtering")
    # Two rows at most: filtered here rather than in a query.
    shown = [zone for zone in availability_zones.zones()
             if all(zone[key] in req.query.getlist(key) for key in FILTERS if key in req.query)
             and can_get(req, "availability_zone", zone)]
    return {"availability_zones": [shape(req, "availability_zone", zone) for zone in shown]}
