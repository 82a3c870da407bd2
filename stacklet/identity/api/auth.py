"""/v3/auth: issue, validate and revoke tokens; the caller's catalog and scopes."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.responses import JSONResponse, Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound, Unauthorized
from stacklet.common.timeutils import isotime
from stacklet.identity import assignment, resource
from stacklet.identity.api.projects import project_view
from stacklet.identity.api.views import collection, entity_links
from stacklet.identity.authentication import TokenIssuer
from stacklet.identity.models import SYSTEM_TARGET, Domain
from stacklet.identity.passwords import configured_rounds
from stacklet.identity.tokens import ValidatedToken

routes = RouteTable()


def token_body(req: ApiRequest, token: ValidatedToken, *, with_catalog: bool) -> dict:
    payload = token.payload
    body = {
        "methods": list(payload.methods),
        "user": token.user,
        "audit_ids": list(payload.audit_ids),
        "expires_at": isotime(payload.expires_at),
        "issued_at": isotime(payload.issued_at),
    }
    if token.project is not None:
        body["project"] = token.project
        body["is_domain"] = False
    elif token.domain is not None:
        body["domain"] = token.domain
    elif payload.scope.kind == "system":
        body["system"] = {"all": True}
    if payload.scope.kind is not None:
        body["roles"] = list(token.roles)
        if with_catalog:
            body["catalog"] = req.cloud.tokens.catalog(token.project and token.project["id"])
    if token.application_credential is not None:
        body["application_credential"] = token.application_credential
    if token.trust is not None:
        body["OS-TRUST:trust"] = token.trust
    return {"token": body}


# The access rules version a validating service says it enforces (keystonemiddleware
# sends this header); a token limited by access rules is valid only for those.
ACCESS_RULES_HEADER = "openstack-identity-access-rules"
ACCESS_RULES_VERSION = 1.0


def _enforces_access_rules(req: ApiRequest) -> bool:
    try:
        return float(req.headers.get(ACCESS_RULES_HEADER, "")) >= ACCESS_RULES_VERSION
    except ValueError:
        return False


def _subject(req: ApiRequest) -> ValidatedToken:
    """The token named by X-Subject-Token, after checking the caller may see it."""
    subject = req.headers.get("x-subject-token")
    if not subject:
        raise NotFound("Could not find token: the X-Subject-Token header is missing.")
    req.ctx  # the caller must hold a valid token before asking about another
    allow_expired = req.query.get("allow_expired", "").lower() in ("1", "true", "yes")
    token = req.cloud.tokens.validate(subject, allow_expired=allow_expired)
    if token.access_rules and not _enforces_access_rules(req):
        # A service that does not enforce them would let the token do anything.
        raise NotFound("Could not find token: it is limited by application credential "
                       "access rules, which the validating service does not enforce.")
    return token


@routes.route("/v3/auth/tokens", "POST", status=201)
def issue_token(req: ApiRequest):
    with req.cloud.db.session() as session:
        issuer = TokenIssuer(req.cloud.tokens, req.cloud.password_rules,
                             configured_rounds(req.cloud.config))
        token_id, token = issuer.issue(session, req.json_body())
    with_catalog = "nocatalog" not in req.query
    return JSONResponse(token_body(req, token, with_catalog=with_catalog), status_code=201,
                        headers={"X-Subject-Token": token_id})


@routes.route("/v3/auth/tokens", "GET")
def validate_token(req: ApiRequest):
    token = _subject(req)
    req.authorize("identity:validate_token", {"target.token.user_id": token.user["id"]})
    with_catalog = "nocatalog" not in req.query
    return JSONResponse(token_body(req, token, with_catalog=with_catalog),
                        headers={"X-Subject-Token": req.headers["x-subject-token"]})


@routes.route("/v3/auth/tokens", "HEAD")
def check_token(req: ApiRequest):
    token = _subject(req)
    req.authorize("identity:check_token", {"target.token.user_id": token.user["id"]})
    return Response(status_code=200, headers={"X-Subject-Token": req.headers["x-subject-token"]})


@routes.route("/v3/auth/tokens", "DELETE", status=204)
def revoke_token(req: ApiRequest):
    token = _subject(req)
    req.authorize("identity:revoke_token", {"target.token.user_id": token.user["id"]})
    with req.cloud.db.transaction() as session:
        req.cloud.tokens.revoke_token(session, token.payload)


@routes.route("/v3/auth/catalog", "GET")
def auth_catalog(req: ApiRequest):
    ctx = req.ctx
    if ctx.project_id is None and ctx.domain_id is None and ctx.system_scope is None:
        raise Unauthorized("A scoped token is required to read the catalog.")
    catalog = req.cloud.tokens.catalog(ctx.project_id)
    return {"catalog": catalog, "links": {"self": str(req.http.url), "previous": None,
                                          "next": None}}


@routes.route("/v3/auth/projects", "GET")
def auth_projects(req: ApiRequest):
    user_id = req.ctx.user_id
    with req.cloud.db.session() as session:
        projects = resource.projects_by_ids(
            session, assignment.target_ids_with_roles(session, user_id, "project"))
        items = [project_view(req, p) for p in projects if p.enabled]
    return collection(req, "projects", items)


@routes.route("/v3/auth/domains", "GET")
def auth_domains(req: ApiRequest):
    user_id = req.ctx.user_id
    with req.cloud.db.session() as session:
        domain_ids = assignment.target_ids_with_roles(session, user_id, "domain")
        domains = session.scalars(sa.select(Domain).where(
            Domain.id.in_(domain_ids), Domain.enabled.is_(True))
            .order_by(Domain.name)).all() if domain_ids else []
        items = [{"id": d.id, "name": d.name, "description": d.description,
                  "enabled": d.enabled, "tags": [], "options": {},
                  "links": entity_links(req, "domains", d.id)} for d in domains]
    return collection(req, "domains", items)


@routes.route("/v3/auth/system", "GET")
def auth_system(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        has_system_role = bool(assignment.effective_role_ids(
            session, ctx.user_id, "system", SYSTEM_TARGET))
    return {"system": [{"all": True}] if has_system_role else [],
            "links": {"self": str(req.http.url), "previous": None, "next": None}}
