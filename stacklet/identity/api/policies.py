"""/v3/policies: policy blobs kept for other services."""

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import policy_blobs, schemas
from stacklet.identity.api.views import collection, entity_links, update_body
from stacklet.identity.models import Policy

routes = RouteTable()


def policy_view(req: ApiRequest, policy: Policy) -> dict:
    return {**(policy.extra or {}), "id": policy.id, "type": policy.type, "blob": policy.blob,
            "links": entity_links(req, "policies", policy.id)}


@routes.route("/v3/policies", "GET")
def list_policies(req: ApiRequest):
    req.authorize("identity:list_policies")
    with req.cloud.db.session() as session:
        policies = policy_blobs.list_policies(session, req.query.get("type"))
        return collection(req, "policies", (policy_view(req, p) for p in policies))


@routes.route("/v3/policies", "POST", status=201)
def create_policy(req: ApiRequest):
    req.authorize("identity:create_policy")
    data = validate(schemas.policy_create, req.json_body())["policy"]
    with req.cloud.db.transaction() as session:
        return {"policy": policy_view(req, policy_blobs.create_policy(session, data))}


@routes.route("/v3/policies/{policy_id}", "GET")
def show_policy(req: ApiRequest):
    req.authorize("identity:get_policy")
    with req.cloud.db.session() as session:
        return {"policy": policy_view(req, policy_blobs.get_policy(session,
                                                                   req.path["policy_id"]))}


@routes.route("/v3/policies/{policy_id}", "PATCH")
def update_policy(req: ApiRequest):
    req.authorize("identity:update_policy")
    changes = update_body(req, schemas.policy_update, "policy", req.path["policy_id"])
    with req.cloud.db.transaction() as session:
        policy = policy_blobs.update_policy(session, req.path["policy_id"], changes)
        return {"policy": policy_view(req, policy)}


@routes.route("/v3/policies/{policy_id}", "DELETE", status=204)
def delete_policy(req: ApiRequest):
    req.authorize("identity:delete_policy")
    with req.cloud.db.transaction() as session:
        policy_blobs.delete_policy(session, req.path["policy_id"])
