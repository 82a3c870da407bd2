"""/v3/OS-OAUTH1/consumers: registered OAuth 1.0a consumers."""

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import policy_blobs, schemas
from stacklet.identity.api.views import collection, entity_links, update_body
from stacklet.identity.models import OAuthConsumer

routes = RouteTable()


def consumer_view(req: ApiRequest, consumer: OAuthConsumer, *, with_secret=False) -> dict:
    view = {**(consumer.extra or {}), "id": consumer.id, "description": consumer.description,
            "links": entity_links(req, "OS-OAUTH1/consumers", consumer.id)}
    if with_secret:  # shown once, when created
        view["secret"] = consumer.secret
    return view


@routes.route("/v3/OS-OAUTH1/consumers", "GET")
def list_consumers(req: ApiRequest):
    req.authorize("identity:list_consumers")
    with req.cloud.db.session() as session:
        return collection(req, "consumers", (consumer_view(req, c)
                                             for c in policy_blobs.list_consumers(session)))


@routes.route("/v3/OS-OAUTH1/consumers", "POST", status=201)
def create_consumer(req: ApiRequest):
    req.authorize("identity:create_consumer")
    data = validate(schemas.consumer_create, req.json_body())["consumer"]
    with req.cloud.db.transaction() as session:
        consumer = policy_blobs.create_consumer(session, data)
        return {"consumer": consumer_view(req, consumer, with_secret=True)}


@routes.route("/v3/OS-OAUTH1/consumers/{consumer_id}", "GET")
def show_consumer(req: ApiRequest):
    req.authorize("identity:get_consumer")
    with req.cloud.db.session() as session:
        consumer = policy_blobs.get_consumer(session, req.path["consumer_id"])
        return {"consumer": consumer_view(req, consumer)}


@routes.route("/v3/OS-OAUTH1/consumers/{consumer_id}", "PATCH")
def update_consumer(req: ApiRequest):
    req.authorize("identity:update_consumer")
    changes = update_body(req, schemas.consumer_update, "consumer", req.path["consumer_id"])
    with req.cloud.db.transaction() as session:
        consumer = policy_blobs.update_consumer(session, req.path["consumer_id"], changes)
        return {"consumer": consumer_view(req, consumer)}


@routes.route("/v3/OS-OAUTH1/consumers/{consumer_id}", "DELETE", status=204)
def delete_consumer(req: ApiRequest):
    req.authorize("identity:delete_consumer")
    with req.cloud.db.transaction() as session:
        policy_blobs.delete_consumer(session, req.path["consumer_id"])
