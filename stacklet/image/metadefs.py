"""The metadata definitions catalog: namespaces, their objects, property and
tag definitions, and their associations with resource types.

Visibility follows Glance: the admin sees every namespace, anyone sees
``public`` ones and those without an owner, a project sees its own private
ones; any other namespace answers 404, so its existence is not disclosed.
Deleting a protected namespace, or anything in it, is a 403.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.db import utcnow
from stacklet.image.metadef_models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
    MetadefTag,
)
from stacklet.image.metadef_schemas import clean_definition

NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name",
                       "visibility", "owner", "protected")
TAG_SORT_KEYS = ("created_at", "updated_at", "name")


# -- namespaces: visibility and policy targets ------------------------------------------

def can_see(ctx: RequestContext, namespace: MetadefNamespace) -> bool:
    return (ctx.is_admin or namespace.visibility == "public" or namespace.owner is None
            or namespace.owner == ctx.project_id)


def policy_target(namespace: MetadefNamespace) -> dict:
    """What Glance's metadef rules read: the namespace's owner as project_id,
    and its visibility."""
    return {"project_id": namespace.owner or "", "visibility": namespace.visibility}


def get_namespace(session: Session, ctx: RequestContext, name: str,
                  *, for_update: bool = False) -> MetadefNamespace:
    """The namespace, when the caller may see it; 404 otherwise."""
    query = sa.select(MetadefNamespace).where(MetadefNamespace.namespace == name)
    if for_update:
        query = query.with_for_update()
    namespace = session.scalar(query)
    if namespace is None or not can_see(ctx, namespace):
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    return namespace


def _check_protected(namespace: MetadefNamespace, what: str) -> None:
    if namespace.protected:
        raise Forbidden(f"{what} is protected and cannot be deleted: namespace "
                        f"{namespace.namespace} is protected.")


# -- namespaces: create, list, update, delete -------------------------------------------

def create_namespace(session: Session, ctx: RequestContext, data: dict) -> MetadefNamespace:
    """A namespace and everything its body defines, in one transaction."""
    _check_namespace_name_free(session, data["namespace"])
    namespace = MetadefNamespace(
        namespace=data["namespace"], display_name=data.get("display_name"),
        description=data.get("description"), visibility=data.get("visibility", "private"),
        protected=data.get("protected", False), owner=data.get("owner") or ctx.project_id)
    session.add(namespace)
    session.flush()
    for association in data.get("resource_type_associations") or []:
        associate_resource_type(session, namespace, association)
    for definition in data.get("objects") or []:
        create_object(session, namespace, definition)
    for name, definition in (data.get("properties") or {}).items():
        create_property(session, namespace, {**definition, "name": name})
    for tag in data.get("tags") or []:
        create_tag(session, namespace, tag["name"])
    return namespace


def _check_namespace_name_free(session: Session, name: str) -> None:
    # Names are unique across the cloud, whoever can see the other one.
    if session.scalar(sa.select(MetadefNamespace.id).where(
            MetadefNamespace.namespace == name)) is not None:
        raise Conflict(f"Metadata definition namespace={name} already exists.")


def list_namespaces(session: Session, ctx: RequestContext, query) -> list[MetadefNamespace]:
    """The namespaces the caller sees that match a GET /v2/metadefs/namespaces
    query, sorted as asked (the caller pages them)."""
    conditions = []
    visibility = query.get("visibility")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequest(f"Invalid visibility value: {visibility}")
        conditions.append(MetadefNamespace.visibility == visibility)
    if not ctx.is_admin:
        seen = [MetadefNamespace.visibility == "public", MetadefNamespace.owner.is_(None)]
        if ctx.project_id is not None:
            seen.append(MetadefNamespace.owner == ctx.project_id)
        conditions.append(sa.or_(*seen))
    resource_types = [name for name in (query.get("resource_types") or "").split(",") if name]
    if resource_types:
        associated = (sa.select(MetadefResourceTypeAssociation.namespace_id)
                      .join(MetadefResourceType)
                      .where(MetadefResourceType.name.in_(resource_types)))
        conditions.append(MetadefNamespace.id.in_(associated))
    order = _sort_order(MetadefNamespace, query, NAMESPACE_SORT_KEYS)
    return list(session.scalars(sa.select(MetadefNamespace).where(*conditions)
                                .order_by(*order, MetadefNamespace.id)))


def _sort_order(model, query, keys: tuple[str, ...]) -> list:
    key = query.get("sort_key", "created_at")
    direction = query.get("sort_dir", "desc")
    if key not in keys:
        raise BadRequest(f"Invalid sort key: {key}. Sortable keys: {', '.join(keys)}")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    column = getattr(model, key)
    return [column.asc() if direction == "asc" else column.desc()]


def marker_not_found(what: str):
    """How metadef listings answer an unknown marker: 404, as in Glance."""
    return lambda marker: NotFound(f"{what}={marker} was not found.")


def update_namespace(session: Session, ctx: RequestContext, namespace: MetadefNamespace,
                     data: dict) -> None:
    """Replace a namespace's attributes with the body's: what the body leaves out
    takes its creation default, as in Glance."""
    if data["namespace"] != namespace.namespace:
        _check_namespace_name_free(session, data["namespace"])
    namespace.namespace = data["namespace"]
    namespace.display_name = data.get("display_name")
    namespace.description = data.get("description")
    namespace.visibility = data.get("visibility") or "private"
    namespace.protected = data.get("protected", False)
    namespace.owner = data.get("owner") or ctx.project_id
    namespace.updated_at = utcnow()
    session.flush()


def delete_namespace(session: Session, namespace: MetadefNamespace) -> None:
    if namespace.protected:
        raise Forbidden(f"Metadata definition namespace {namespace.namespace} is protected "
                        "and cannot be deleted.")
    session.delete(namespace)


def delete_contents(session: Session, namespace: MetadefNamespace, model) -> None:
    """Delete every object, property or tag definition of a namespace."""
    if namespace.protected:
        raise Forbidden(f"Metadata definition namespace {namespace.namespace} is protected "
                        "and cannot be deleted.")
    session.execute(sa.delete(model).where(model.namespace_id == namespace.id))
    session.expire(namespace)


# -- what a namespace holds: objects, properties and tags, each named uniquely in it -------

def _get_in_namespace(session: Session, model, namespace: MetadefNamespace, name: str,
                      what: str):
    found = session.scalar(sa.select(model).where(model.namespace_id == namespace.id,
                                                  model.name == name))
    if found is None:
        raise NotFound(f"The metadata definition {what} with name={name} was not found in "
                       f"namespace={namespace.namespace}.")
    return found


def _check_name_free(session: Session, model, namespace: MetadefNamespace, name: str,
                     what: str) -> None:
    if session.scalar(sa.select(model.id).where(model.namespace_id == namespace.id,
                                                model.name == name)):
        raise Conflict(f"A metadata definition {what} with name={name} already exists in "
                       f"namespace={namespace.namespace}.")


# -- objects ----------------------------------------------------------------------------

def get_object(session: Session, namespace: MetadefNamespace, name: str) -> MetadefObject:
    return _get_in_namespace(session, MetadefObject, namespace, name, "object")


def list_objects(session: Session, namespace: MetadefNamespace) -> list[MetadefObject]:
    return list(session.scalars(sa.select(MetadefObject).where(
        MetadefObject.namespace_id == namespace.id).order_by(MetadefObject.id)))


def create_object(session: Session, namespace: MetadefNamespace, data: dict) -> MetadefObject:
    _check_name_free(session, MetadefObject, namespace, data["name"], "object")
    found = MetadefObject(namespace_id=namespace.id, name=data["name"])
    _set_object_fields(found, data)
    session.add(found)
    session.flush()
    return found


def update_object(session: Session, namespace: MetadefNamespace, found: MetadefObject,
                  data: dict) -> None:
    """Replace an object's definition (a PUT: what the body leaves out is cleared)."""
    if data["name"] != found.name:
        _check_name_free(session, MetadefObject, namespace, data["name"], "object")
    found.name = data["name"]
    _set_object_fields(found, data)
    found.updated_at = utcnow()
    session.flush()


def _set_object_fields(found: MetadefObject, data: dict) -> None:
    found.description = data.get("description")
    found.required = data.get("required")
    properties = data.get("properties")
    found.properties = None if properties is None else {
        name: clean_definition(definition) for name, definition in properties.items()}


def delete_object(session: Session, namespace: MetadefNamespace, found: MetadefObject) -> None:
    _check_protected(namespace, f"Metadata definition object {found.name}")
    session.delete(found)


# -- properties -------------------------------------------------------------------------

def get_property(session: Session, namespace: MetadefNamespace, name: str,
                 resource_type: str | None = None) -> MetadefProperty:
    """The property named ``name``; with ``resource_type``, ``name`` carries the
    prefix of the namespace's association with that resource type."""
    if resource_type:
        prefix = get_association(session, namespace, resource_type).prefix
        if not prefix or not name.startswith(prefix):
            raise NotFound(f"Property {name} does not start with the expected resource type "
                           f"association prefix of '{prefix or ''}'.")
        name = name[len(prefix):]
    return _get_in_namespace(session, MetadefProperty, namespace, name, "property")


def list_properties(session: Session, namespace: MetadefNamespace) -> list[MetadefProperty]:
    return list(session.scalars(sa.select(MetadefProperty).where(
        MetadefProperty.namespace_id == namespace.id).order_by(MetadefProperty.id)))


def create_property(session: Session, namespace: MetadefNamespace,
                    data: dict) -> MetadefProperty:
    _check_name_free(session, MetadefProperty, namespace, data["name"], "property")
    found = MetadefProperty(namespace_id=namespace.id, name=data["name"],
                            definition=clean_definition(data))
    session.add(found)
    session.flush()
    return found


def update_property(session: Session, namespace: MetadefNamespace, found: MetadefProperty,
                    data: dict) -> None:
    if data["name"] != found.name:
        _check_name_free(session, MetadefProperty, namespace, data["name"], "property")
    found.name = data["name"]
    found.definition = clean_definition(data)
    found.updated_at = utcnow()
    session.flush()


def delete_property(session: Session, namespace: MetadefNamespace,
                    found: MetadefProperty) -> None:
    _check_protected(namespace, f"Metadata definition property {found.name}")
    session.delete(found)


# -- tags -------------------------------------------------------------------------------

def get_tag(session: Session, namespace: MetadefNamespace, name: str) -> MetadefTag:
    return _get_in_namespace(session, MetadefTag, namespace, name, "tag")


def list_tags(session: Session, namespace: MetadefNamespace, query) -> list[MetadefTag]:
    order = _sort_order(MetadefTag, query, TAG_SORT_KEYS)
    return list(session.scalars(sa.select(MetadefTag).where(
        MetadefTag.namespace_id == namespace.id).order_by(*order, MetadefTag.id)))


def create_tag(session: Session, namespace: MetadefNamespace, name: str) -> MetadefTag:
    _check_name_free(session, MetadefTag, namespace, name, "tag")
    tag = MetadefTag(namespace_id=namespace.id, name=name)
    session.add(tag)
    session.flush()
    return tag


def create_tags(session: Session, namespace: MetadefNamespace, names: list[str],
                append: bool) -> list[MetadefTag]:
    """Several tags at once: they replace the namespace's tags, or are added to
    them with ``append`` (X-OpenStack-Append); a name given twice is a 409."""
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise Conflict(f"Duplicate tag names in the request: {', '.join(repeated)}.")
    if not append:
        session.execute(sa.delete(MetadefTag).where(MetadefTag.namespace_id == namespace.id))
    return [create_tag(session, namespace, name) for name in names]


def rename_tag(session: Session, namespace: MetadefNamespace, tag: MetadefTag,
               name: str) -> None:
    if name != tag.name:
        _check_name_free(session, MetadefTag, namespace, name, "tag")
    tag.name = name
    tag.updated_at = utcnow()
    session.flush()


def delete_tag(session: Session, namespace: MetadefNamespace, tag: MetadefTag) -> None:
    _check_protected(namespace, f"Metadata definition tag {tag.name}")
    session.delete(tag)


# -- resource types and associations ----------------------------------------------------

def list_resource_types(session: Session) -> list[MetadefResourceType]:
    return list(session.scalars(sa.select(MetadefResourceType).order_by(
        MetadefResourceType.id)))


def get_association(session: Session, namespace: MetadefNamespace,
                    resource_type: str) -> MetadefResourceTypeAssociation:
    found = session.scalar(
        sa.select(MetadefResourceTypeAssociation).join(MetadefResourceType).where(
            MetadefResourceTypeAssociation.namespace_id == namespace.id,
            MetadefResourceType.name == resource_type))
    if found is None:
        raise NotFound(f"Failed to find resource type {resource_type} in "
                       f"namespace={namespace.namespace}.")
    return found


def associate_resource_type(session: Session, namespace: MetadefNamespace,
                            data: dict) -> MetadefResourceTypeAssociation:
    """Associate a namespace with a resource type, creating the resource type if
    it is new (as Glance does); an existing association is a 409."""
    name = data["name"]
    resource_type = session.scalar(sa.select(MetadefResourceType).where(
        MetadefResourceType.name == name))
    if resource_type is None:
        resource_type = MetadefResourceType(name=name, protected=False)
        session.add(resource_type)
        session.flush()
    elif session.get(MetadefResourceTypeAssociation, (namespace.id, resource_type.id)):
        raise Conflict(f"The metadata definition resource-type association of "
                       f"resource-type={name} to namespace={namespace.namespace}, "
                       "already exists.")
    association = MetadefResourceTypeAssociation(
        namespace_id=namespace.id, resource_type=resource_type, prefix=data.get("prefix"),
        properties_target=data.get("properties_target"))
    session.add(association)
    session.flush()
    session.expire(namespace, ["associations"])
    return association


def dissociate_resource_type(session: Session, namespace: MetadefNamespace,
                             resource_type: str) -> None:
    association = get_association(session, namespace, resource_type)
    _check_protected(namespace, f"Metadata definition resource-type-association "
                                f"{resource_type}")
    session.delete(association)
