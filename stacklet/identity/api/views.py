"""Response helpers shared by the identity handlers."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy.orm import Session

from stacklet.common.api import ApiRequest
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate


def entity_links(req: ApiRequest, collection: str, entity_id: str) -> dict:
    return {"self": req.url(f"/v3/{collection}/{entity_id}")}


def collection(req: ApiRequest, key: str, items: Iterable[dict]) -> dict:
    """A Keystone list response: the items and the collection's links."""
    return {key: list(items),
            "links": {"self": str(req.http.url), "previous": None, "next": None}}


def query_bool(req: ApiRequest, name: str) -> bool | None:
    """A boolean query filter as Keystone reads it (absent: None; 0/false/no: False)."""
    if name not in req.query:
        return None
    value = req.query[name].strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"Invalid value {req.query[name]!r} for the filter {name}: "
                     "expected true or false.")


def matches_filters(req: ApiRequest, entity: dict, names: Iterable[str]) -> bool:
    """Keystone's attribute filters: exact, or with __contains/__startswith/__endswith
    (and the case-insensitive __i* forms) for string attributes."""
    for name in names:
        for op in ("", "__contains", "__icontains", "__startswith", "__istartswith",
                   "__endswith", "__iendswith"):
            key = name + op
            if key not in req.query:
                continue
            wanted = req.query[key]
            actual = entity.get(name)
            if not _match(op, actual, wanted):
                return False
    return True


def _match(op: str, actual: Any, wanted: str) -> bool:
    if op == "":
        if isinstance(actual, bool):
            return actual == (wanted.strip().lower() in ("1", "true", "yes", "on", ""))
        return actual == wanted or (actual is None and wanted == "")
    if actual is None:
        return False
    text = str(actual)
    if op.startswith("__i"):
        text, wanted = text.lower(), wanted.lower()
        op = "__" + op[3:]
    return {"__contains": wanted in text, "__startswith": text.startswith(wanted),
            "__endswith": text.endswith(wanted)}[op]


def extra_attributes(data: dict, schema: dict) -> dict:
    """The attributes of a create or update body beyond those its schema names.

    Keystone keeps such attributes and returns them with the entity.
    ``schema`` is the request schema, whose single property is the entity.
    """
    (entity_schema,) = schema["properties"].values()
    return split_extra(data, {"id", *entity_schema["properties"]})[1]


def list_domain_id(req: ApiRequest) -> str | None:
    """The domain a list request is confined to.

    A domain-scoped token lists only its own domain, as Keystone does;
    otherwise the ``domain_id`` filter, if any.
    """
    return req.ctx.domain_id or req.query.get("domain_id")


def domain_target(key: str, domain_id: str | None) -> dict:
    """A policy target naming a domain, empty when there is none: oslo.policy
    would otherwise match ``domain_id:%(...)s`` of a None target against the
    None domain of a token that is not domain-scoped."""
    return {key: domain_id} if domain_id else {}


def split_extra(data: dict, known: Iterable[str]) -> tuple[dict, dict]:
    """The known attributes of a request entity, and the rest: Keystone keeps
    unknown attributes of most entities and shows them back."""
    known = set(known)
    return ({k: v for k, v in data.items() if k in known},
            {k: v for k, v in data.items() if k not in known})


def update_body(req: ApiRequest, schema: dict, key: str, entity_id: str) -> dict:
    """The validated changes of a PATCH body.

    Clients (Tempest's among them) repeat the entity's id in the body;
    Keystone accepts it when it matches the URL and refuses any other id.
    """
    body = req.json_body()
    entity = body.get(key) if isinstance(body, dict) else None
    if isinstance(entity, dict) and "id" in entity:
        if entity["id"] != entity_id:
            raise BadRequest(f"Cannot change the ID of a {key}: the body names "
                             f"{entity['id']!r} but the URL {entity_id!r}.")
        body = {**body, key: {k: v for k, v in entity.items() if k != "id"}}
    return validate(schema, body)[key]


def authorize_on_path_entity(req: ApiRequest, rule: str, path_key: str,
                             target_of: Callable[[Session, str], dict]) -> str:
    """Check a policy rule about the entity named in the path; returns its id.

    The caller is authenticated first, so an anonymous caller learns nothing
    of what exists; then a missing entity is a 404; then the rule is checked
    against the entity's attributes (``target_of`` loads them).
    """
    entity_id = req.path[path_key]
    req.ctx
    with req.cloud.db.session() as session:
        target = target_of(session, entity_id)
    req.authorize(rule, target)
    return entity_id
