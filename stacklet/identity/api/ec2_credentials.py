"""/v3/users/{user_id}/credentials/OS-EC2: EC2-style access/secret pairs."""

import json

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import credentials, schemas
from stacklet.identity.api.views import collection
from stacklet.identity.models import Credential

routes = RouteTable()

EC2 = "/v3/users/{user_id}/credentials/OS-EC2"


def ec2_view(req: ApiRequest, credential: Credential) -> dict:
    blob = json.loads(credentials.decrypt_blob(req.cloud.credential_keys,
                                               credential.encrypted_blob))
    return {"user_id": credential.user_id, "tenant_id": credential.project_id,
            "access": blob["access"], "secret": blob["secret"],
            "trust_id": blob.get("trust_id"),
            "links": {"self": req.url(f"/v3/users/{credential.user_id}/credentials/OS-EC2/"
                                      f"{blob['access']}")}}


def _owner(req: ApiRequest) -> dict:
    return {"target.credential.user_id": req.path["user_id"]}


@routes.route(EC2, "POST", status=201)
def create_ec2_credential(req: ApiRequest):
    ctx = req.authorize("identity:ec2_create_credential", _owner(req))
    project_id = validate(schemas.ec2_credential_create, req.json_body())["tenant_id"]
    with req.cloud.db.transaction() as session:
        credential = credentials.create_ec2_credential(
            session, req.cloud.credential_keys, req.path["user_id"], project_id,
            credentials.ec2_delegation(ctx))
        return {"credential": ec2_view(req, credential)}


@routes.route(EC2, "GET")
def list_ec2_credentials(req: ApiRequest):
    req.authorize("identity:ec2_list_credentials", _owner(req))
    with req.cloud.db.session() as session:
        found = credentials.list_ec2_credentials(session, req.path["user_id"])
        return collection(req, "credentials", (ec2_view(req, c) for c in found))


@routes.route(EC2 + "/{access}", "GET")
def show_ec2_credential(req: ApiRequest):
    req.authorize("identity:ec2_get_credential", _owner(req))
    with req.cloud.db.session() as session:
        return {"credential": ec2_view(req, credentials.get_ec2_credential(
            session, req.path["user_id"], req.path["access"]))}


@routes.route(EC2 + "/{access}", "DELETE", status=204)
def delete_ec2_credential(req: ApiRequest):
    req.authorize("identity:ec2_delete_credential", _owner(req))
    with req.cloud.db.transaction() as session:
        credentials.delete_ec2_credential(session, req.path["user_id"], req.path["access"])
