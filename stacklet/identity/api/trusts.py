"""/v3/OS-TRUST/trusts."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.context import RequestContext
from stacklet.common.errors import Forbidden, NotFound
from stacklet.common.timeutils import isotime
from stacklet.common.validation import validate
from stacklet.identity import delegation, schemas, trusts
from stacklet.identity.api.views import collection, entity_links
from stacklet.identity.models import Role, Trust

routes = RouteTable()

TRUSTS = "/v3/OS-TRUST/trusts"


def _role_view(req: ApiRequest, role: Role) -> dict:
    return {"id": role.id, "name": role.name, "domain_id": role.domain_id,
            "links": entity_links(req, "roles", role.id)}


def trust_view(req: ApiRequest, trust: Trust, roles: list[Role] | None) -> dict:
    view = {**(trust.extra or {}), "id": trust.id,
            "trustor_user_id": trust.trustor_user_id, "trustee_user_id": trust.trustee_user_id,
            "project_id": trust.project_id, "impersonation": trust.impersonation,
            "expires_at": isotime(trust.expires_at), "remaining_uses": trust.remaining_uses,
            "allow_redelegation": trust.allow_redelegation,
            "redelegated_trust_id": trust.redelegated_trust_id,
            "redelegation_count": trust.redelegation_count or 0,
            "links": {"self": req.url(f"{TRUSTS}/{trust.id}")}}
    if roles is not None:
        view["roles"] = [_role_view(req, r) for r in roles]
        view["roles_links"] = {"self": req.url(f"{TRUSTS}/{trust.id}/roles"),
                               "previous": None, "next": None}
    return view


def _authorize(req: ApiRequest, rule: str) -> RequestContext:
    """The caller, allowed ``rule``; never with an application credential's token
    (see delegation.py)."""
    ctx = req.authorize(rule)
    delegation.check_may_use_trusts(ctx)
    return ctx


@routes.route(TRUSTS, "POST", status=201)
def create_trust(req: ApiRequest):
    ctx = _authorize(req, "identity:create_trust")
    data = validate(schemas.trust_create, req.json_body())["trust"]
    with req.cloud.db.transaction() as session:
        trust = trusts.create_trust(session, ctx, data)
        return {"trust": trust_view(req, trust, trusts.trust_roles(session, trust))}


@routes.route(TRUSTS, "GET")
def list_trusts(req: ApiRequest):
    trustor = req.query.get("trustor_user_id")
    trustee = req.query.get("trustee_user_id")
    ctx = req.ctx
    delegation.check_may_use_trusts(ctx)
    if not req.cloud.policy.allowed(ctx, "identity:list_trusts"):
        # Without the list-all right a user lists only trusts they are party to.
        if ctx.user_id not in (trustor, trustee):
            raise Forbidden("List trusts filtered by trustor_user_id or trustee_user_id "
                            "equal to your own user id.")
    with req.cloud.db.session() as session:
        found = trusts.list_trusts(session, trustor, trustee)
        return collection(req, "trusts", (trust_view(req, t, None) for t in found))


@routes.route(TRUSTS + "/{trust_id}", "GET")
def show_trust(req: ApiRequest):
    ctx = _authorize(req, "identity:get_trust")
    with req.cloud.db.session() as session:
        trust = trusts.visible_trust(session, ctx, req.path["trust_id"])
        return {"trust": trust_view(req, trust, trusts.trust_roles(session, trust))}


@routes.route(TRUSTS + "/{trust_id}", "DELETE", status=204)
def delete_trust(req: ApiRequest):
    ctx = _authorize(req, "identity:delete_trust")
    with req.cloud.db.transaction() as session:
        trusts.delete_trust(session, ctx, req.path["trust_id"])


@routes.route(TRUSTS + "/{trust_id}/roles", "GET")
def list_trust_roles(req: ApiRequest):
    ctx = _authorize(req, "identity:list_roles_for_trust")
    with req.cloud.db.session() as session:
        trust = trusts.visible_trust(session, ctx, req.path["trust_id"])
        return collection(req, "roles", (_role_view(req, r)
                                         for r in trusts.trust_roles(session, trust)))


def _delegated_role(req: ApiRequest) -> Role:
    ctx = _authorize(req, "identity:get_role_for_trust")
    with req.cloud.db.session() as session:
        trust = trusts.visible_trust(session, ctx, req.path["trust_id"])
        for role in trusts.trust_roles(session, trust):
            if role.id == req.path["role_id"]:
                return role
    raise NotFound(f"Could not find role {req.path['role_id']} in trust {trust.id}.")


@routes.route(TRUSTS + "/{trust_id}/roles/{role_id}", "GET")
def show_trust_role(req: ApiRequest):
    return {"role": _role_view(req, _delegated_role(req))}


@routes.route(TRUSTS + "/{trust_id}/roles/{role_id}", "HEAD")
def check_trust_role(req: ApiRequest):
    _delegated_role(req)
    return Response(status_code=200)
