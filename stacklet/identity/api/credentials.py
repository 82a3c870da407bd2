"""/v3/credentials: secrets kept for a user (EC2 keys and others), encrypted at rest."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import credentials, schemas
from stacklet.identity.api.views import (
    collection,
    entity_links,
    matches_filters,
    split_extra,
    update_body,
)
from stacklet.identity.models import Credential

routes = RouteTable()

# Known attributes; others are kept as extra ones.  The id is assigned by the server.
CREDENTIAL_FIELDS = ("id", "user_id", "project_id", "type", "blob", "links")


def credential_view(req: ApiRequest, credential: Credential) -> dict:
    return {**(credential.extra or {}), "id": credential.id, "user_id": credential.user_id,
            "project_id": credential.project_id, "type": credential.type,
            "blob": credentials.decrypt_blob(req.cloud.credential_keys,
                                             credential.encrypted_blob),
            "links": entity_links(req, "credentials", credential.id)}


def _owned_by(user_id: str) -> dict:
    """The policy target of a credential: its owner decides who may touch it."""
    return {"target.credential.user_id": user_id}


def _authorized_credential(req: ApiRequest, session, rule: str) -> Credential:
    """The credential the path names, once the caller may act on it.  The token is
    checked first, so an anonymous caller learns nothing about which ids exist."""
    caller = req.ctx
    credential = credentials.get_credential(session, req.path["credential_id"])
    req.cloud.policy.enforce(caller, rule, _owned_by(credential.user_id))
    return credential


@routes.route("/v3/credentials", "GET")
def list_credentials(req: ApiRequest):
    ctx = req.authorize("identity:list_credentials", _owned_by(req.ctx.user_id))
    with req.cloud.db.session() as session:
        # As Keystone: a user sees only the credentials they may get one by one.
        visible = [c for c in credentials.list_credentials(session) if req.cloud.policy.allowed(
            ctx, "identity:get_credential", _owned_by(c.user_id))]
        views = [credential_view(req, c) for c in visible]
    return collection(req, "credentials",
                      (v for v in views if matches_filters(req, v, ("user_id", "type"))))


@routes.route("/v3/credentials", "POST", status=201)
def create_credential(req: ApiRequest):
    data, extra = split_extra(
        validate(schemas.credential_create, req.json_body())["credential"], CREDENTIAL_FIELDS)
    ctx = req.authorize("identity:create_credential", _owned_by(data["user_id"]))
    with req.cloud.db.transaction() as session:
        credential = credentials.create_credential(session, req.cloud.credential_keys,
                                                   data, extra, credentials.ec2_delegation(ctx))
        return {"credential": credential_view(req, credential)}


@routes.route("/v3/credentials/{credential_id}", "GET")
def show_credential(req: ApiRequest):
    with req.cloud.db.session() as session:
        credential = _authorized_credential(req, session, "identity:get_credential")
        return {"credential": credential_view(req, credential)}


@routes.route("/v3/credentials/{credential_id}", "PATCH")
def update_credential(req: ApiRequest):
    body = update_body(req, schemas.credential_update, "credential", req.path["credential_id"])
    changes, extra = split_extra(body, CREDENTIAL_FIELDS)
    with req.cloud.db.transaction() as session:
        credential = _authorized_credential(req, session, "identity:update_credential")
        # The new owner must be one the caller could create a credential for.
        req.authorize("identity:update_credential",
                      _owned_by(changes.get("user_id", credential.user_id)))
        credential = credentials.update_credential(session, req.cloud.credential_keys,
                                                   credential.id, changes, extra)
        return {"credential": credential_view(req, credential)}


@routes.route("/v3/credentials/{credential_id}", "DELETE", status=204)
def delete_credential(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        credential = _authorized_credential(req, session, "identity:delete_credential")
        credentials.delete_credential(session, credential.id)
