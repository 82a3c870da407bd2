"""/v3/users/{user_id}/application_credentials and /v3/users/{user_id}/access_rules."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.context import RequestContext
from stacklet.common.timeutils import parse_expiry
from stacklet.common.validation import validate
from stacklet.identity import assignment, credentials, delegation, schemas
from stacklet.identity.api.views import collection, matches_filters
from stacklet.identity.models import AccessRule, ApplicationCredential

routes = RouteTable()


def _authorize_on_owner(req: ApiRequest, rule: str) -> RequestContext:
    """The caller, allowed ``rule`` on the application credentials or access rules of
    the user in the path; never with a trust-scoped token (see delegation.py)."""
    ctx = req.authorize(rule, {"target.user.id": req.path["user_id"]})
    delegation.check_may_see_application_credentials(ctx)
    return ctx


def application_credential_view(req: ApiRequest, session, app_cred: ApplicationCredential,
                                secret: str | None = None) -> dict:
    roles = assignment.roles_by_ids(session, app_cred.role_ids)
    view = {
        "id": app_cred.id, "name": app_cred.name, "description": app_cred.description,
        # Keystone shows this timestamp without a zone suffix.
        "expires_at": app_cred.expires_at and app_cred.expires_at.strftime(
            "%Y-%m-%dT%H:%M:%S.%f"),
        "project_id": app_cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in roles],
        "unrestricted": app_cred.unrestricted,
        "access_rules": [rule.as_dict()
                         for rule in credentials.access_rules_of(session, app_cred)],
        "links": {"self": req.url(f"/v3/users/{app_cred.user_id}/application_credentials/"
                                  f"{app_cred.id}")},
    }
    if secret is not None:
        view["secret"] = secret
    return view


@routes.route("/v3/users/{user_id}/application_credentials", "GET")
def list_application_credentials(req: ApiRequest):
    user_id = req.path["user_id"]
    _authorize_on_owner(req, "identity:list_application_credentials")
    with req.cloud.db.session() as session:
        views = [application_credential_view(req, session, a)
                 for a in credentials.list_application_credentials(session, user_id)]
    return collection(req, "application_credentials",
                      (v for v in views if matches_filters(req, v, ("name",))))


@routes.route("/v3/users/{user_id}/application_credentials", "POST", status=201)
def create_application_credential(req: ApiRequest):
    user_id = req.path["user_id"]
    ctx = _authorize_on_owner(req, "identity:create_application_credential")
    data = validate(schemas.application_credential_create,
                    req.json_body())["application_credential"]
    expires_at = parse_expiry(data.get("expires_at"))
    secret = data.get("secret") or credentials.generate_secret()
    # Hashed before the transaction: bcrypt must not hold the write lock.
    secret_hash = req.cloud.hash_password(secret)
    with req.cloud.db.transaction() as session:
        delegation.check_may_change_application_credentials(session, ctx)
        app_cred = credentials.create_application_credential(
            session, user_id=user_id, project_id=ctx.project_id, name=data["name"],
            description=data.get("description"), secret_hash=secret_hash,
            expires_at=expires_at,
            unrestricted=data.get("unrestricted", False), role_refs=data.get("roles"),
            token_role_ids=ctx.role_ids, access_rule_refs=data.get("access_rules"))
        return {"application_credential": application_credential_view(
            req, session, app_cred, secret=secret)}


@routes.route("/v3/users/{user_id}/application_credentials/{app_cred_id}", "GET")
def show_application_credential(req: ApiRequest):
    user_id = req.path["user_id"]
    _authorize_on_owner(req, "identity:get_application_credential")
    with req.cloud.db.session() as session:
        app_cred = credentials.get_application_credential(session, user_id,
                                                          req.path["app_cred_id"])
        return {"application_credential": application_credential_view(req, session, app_cred)}


@routes.route("/v3/users/{user_id}/application_credentials/{app_cred_id}", "DELETE",
              status=204)
def delete_application_credential(req: ApiRequest):
    user_id = req.path["user_id"]
    ctx = _authorize_on_owner(req, "identity:delete_application_credential")
    with req.cloud.db.transaction() as session:
        delegation.check_may_change_application_credentials(session, ctx)
        credentials.delete_application_credential(session, user_id, req.path["app_cred_id"])


def access_rule_view(req: ApiRequest, rule: AccessRule) -> dict:
    return {"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method,
            "links": {"self": req.url(f"/v3/users/{rule.user_id}/access_rules/{rule.id}")}}


@routes.route("/v3/users/{user_id}/access_rules", "GET")
def list_access_rules(req: ApiRequest):
    user_id = req.path["user_id"]
    _authorize_on_owner(req, "identity:list_access_rules")
    with req.cloud.db.session() as session:
        views = [access_rule_view(req, rule)
                 for rule in credentials.list_access_rules(session, user_id)]
    return collection(req, "access_rules",
                      (v for v in views if matches_filters(req, v, ("service", "path",
                                                                     "method"))))


@routes.route("/v3/users/{user_id}/access_rules/{access_rule_id}", "GET")
def show_access_rule(req: ApiRequest):
    user_id = req.path["user_id"]
    _authorize_on_owner(req, "identity:get_access_rule")
    with req.cloud.db.session() as session:
        rule = credentials.get_access_rule(session, user_id, req.path["access_rule_id"])
        return {"access_rule": access_rule_view(req, rule)}


@routes.route("/v3/users/{user_id}/access_rules/{access_rule_id}", "DELETE", status=204)
def delete_access_rule(req: ApiRequest):
    user_id = req.path["user_id"]
    _authorize_on_owner(req, "identity:delete_access_rule")
    with req.cloud.db.transaction() as session:
        credentials.delete_access_rule(session, user_id, req.path["access_rule_id"])
