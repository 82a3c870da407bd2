"""What the network handlers share: policy on resources and their attributes,
the standard attributes in views, ``fields``, bulk create and If-Match.

Neutron decides visibility per resource: a resource the caller may not get
is a 404 (as if it did not exist), one they may get but not change a 403.
Attribute rules hide attributes from the caller (``get_port:binding:host_id``)
and guard setting them (``create_network:shared``).
"""

from __future__ import annotations

from typing import Any, Callable

from stacklet.common.api import ApiRequest
from stacklet.network.attributes import Attr, parse_body
from stacklet.network.errors import BadRequest, PolicyNotAuthorized, RevisionNumberConstraintFailed
from stacklet.network.policy import RULES

RULE_NAMES = frozenset(rule.name for rule in RULES)


def policy_target(view: dict, **extra: Any) -> dict:
    """A resource as its policy rules see it: its attributes plus related owners
    (``network:project_id``...)."""
    return {**view, **extra}


def deny(rule: str) -> PolicyNotAuthorized:
    return PolicyNotAuthorized(f"rule:{rule} is disallowed by policy")


def authorize(req: ApiRequest, action: str, resource: str, target: dict,
              attributes: dict | None = None) -> None:
    """Check ``<action>_<resource>`` and the rule of every attribute being set
    (``create_network:shared``); 403 PolicyNotAuthorized naming the rule."""
    rule = f"{action}_{resource}"
    if not req.allowed(rule, target):
        raise deny(rule)
    for name, value in (attributes or {}).items():
        attribute_rule = f"{rule}:{name}"
        if attribute_rule in RULE_NAMES and not req.allowed(attribute_rule, target):
            raise deny(attribute_rule)
        if isinstance(value, dict):
            for key in value:
                nested = f"{attribute_rule}:{key}"
                if nested in RULE_NAMES and not req.allowed(nested, target):
                    raise deny(nested)


def can_get(req: ApiRequest, resource: str, target: dict) -> bool:
    return req.allowed(f"get_{resource}", target)


def requested_fields(req: ApiRequest) -> list[str]:
    return [field for value in req.query.getlist("fields") for field in value.split(",")
            if field]


def shape(req: ApiRequest, resource: str, view: dict, target: dict | None = None) -> dict:
    """The view as the caller may see it: attributes whose get rule refuses are
    dropped, and only the asked ``fields`` are kept."""
    target = view if target is None else target
    shown = {key: value for key, value in view.items()
             if f"get_{resource}:{key}" not in RULE_NAMES
             or req.allowed(f"get_{resource}:{key}", target)}
    fields = requested_fields(req)
    if fields:
        shown = {key: value for key, value in shown.items() if key in fields}
    return shown


def list_body(req: ApiRequest, resource: str, collection: str, page, views: list[dict],
              targets: list[dict] | None = None) -> dict:
    """A list response: the views the caller may get (each checked against its
    policy target, the view itself by default), shaped, with the page's links
    under ``<collection>_links``."""
    shown = [shape(req, resource, view, target)
             for view, target in zip(views, targets or views)
             if can_get(req, resource, target)]
    body = {collection: shown}
    if page.links:
        body[f"{collection}_links"] = page.links
    return body


def check_revision(req: ApiRequest, row) -> None:
    """If-Match: revision_number=N makes an update conditional (revision-if-match)."""
    condition = req.headers.get("if-match")
    if not condition:
        return
    for part in condition.split(","):
        part = part.strip()
        if not part.startswith("revision_number="):
            raise BadRequest(f"Invalid If-Match header {condition!r}: expected "
                             "revision_number=<number>.")
        try:
            wanted = int(part.removeprefix("revision_number="))
        except ValueError:
            raise BadRequest(f"Invalid If-Match header {condition!r}: expected "
                             "revision_number=<number>.") from None
        if wanted != row.revision_number:
            raise RevisionNumberConstraintFailed(
                f"Constrained to {wanted}, but current revision is {row.revision_number}")


def given_attributes(body, resource: str) -> dict:
    """The attributes the caller set themselves, whose attribute rules must allow it."""
    item = body.get(resource) if isinstance(body, dict) else None
    return dict(item) if isinstance(item, dict) else {}


def values_to_create(req: ApiRequest, body, resource: str,
                     attributes: dict[str, Attr]) -> dict:
    """The checked attributes of one new resource, with the project that owns it:
    the caller's, unless the body names one in ``project_id`` or ``tenant_id``.

    Only an admin may name another project (Neutron's create rules, 403
    ``rule:create_<resource>``): anyone else would make resources, and spend
    quota, in a project they are not a member of.  This holds whatever an
    operator's policy says of ``create_<resource>``.
    """
    values = parse_body(body, resource, attributes)
    project_id = values.get("project_id") or req.ctx.project_id
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise deny(f"create_{resource}")
    values["project_id"] = project_id
    return values


def create_one_or_many(req: ApiRequest, singular: str, plural: str,
                       create: Callable[[dict], dict]) -> dict:
    """POST of ``{singular: {...}}`` or Neutron's bulk ``{plural: [{...}, ...]}``.

    ``create`` makes one resource from its body and returns its shaped view;
    the caller runs it in one transaction, so a bulk create is all or nothing.
    """
    body = req.body
    if isinstance(body, dict) and plural in body and singular not in body:
        items = body[plural]
        if not isinstance(items, list) or not items:
            raise BadRequest(f"Resources required: '{plural}' must be a non-empty list")
        return {plural: [create({singular: item}) for item in items]}
    return {singular: create(body)}
