"""How metadata definitions look in responses: as Glance shows them, with
attributes that are not set left out rather than null."""

from __future__ import annotations

from stacklet.image.api.views import timestamp
from stacklet.image.metadef_models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
    MetadefTag,
)


def _set_only(view: dict) -> dict:
    return {key: value for key, value in view.items() if value is not None}


def namespace_href(name: str) -> str:
    return f"/v2/metadefs/namespaces/{name}"


def namespace_view(namespace: MetadefNamespace) -> dict:
    """A namespace as listed: its attributes and resource type associations."""
    view = _set_only({
        "namespace": namespace.namespace, "display_name": namespace.display_name,
        "description": namespace.description, "visibility": namespace.visibility,
        "protected": namespace.protected, "owner": namespace.owner,
        "created_at": timestamp(namespace.created_at),
        "updated_at": timestamp(namespace.updated_at),
        "self": namespace_href(namespace.namespace),
        "schema": "/v2/schemas/metadefs/namespace",
    })
    if namespace.associations:
        view["resource_type_associations"] = [association_view(association)
                                              for association in namespace.associations]
    return view


def namespace_detail_view(namespace: MetadefNamespace, objects: list[MetadefObject],
                          properties: list[MetadefProperty], tags: list[MetadefTag],
                          resource_type: str | None = None) -> dict:
    """A namespace as shown: with its objects, properties and tags.  Given a
    resource type it is associated with, property names carry that
    association's prefix, as they are to be applied to such resources."""
    prefix = next((association.prefix for association in namespace.associations
                   if association.name == resource_type), None) or ""
    view = namespace_view(namespace)
    if objects:
        view["objects"] = [object_view(namespace.namespace, found, prefix) for found in objects]
    if properties:
        view["properties"] = {prefix + found.name: dict(found.definition)
                              for found in properties}
    if tags:
        view["tags"] = [{"name": tag.name} for tag in tags]
    return view


def object_view(namespace_name: str, found: MetadefObject, prefix: str = "") -> dict:
    return _set_only({
        "name": found.name, "description": found.description,
        "required": None if found.required is None else [
            prefix + name for name in found.required],
        "properties": None if found.properties is None else {
            prefix + name: definition for name, definition in found.properties.items()},
        "created_at": timestamp(found.created_at),
        "updated_at": timestamp(found.updated_at),
        "self": f"{namespace_href(namespace_name)}/objects/{found.name}",
        "schema": "/v2/schemas/metadefs/object",
    })


def property_view(found: MetadefProperty) -> dict:
    return {"name": found.name, **found.definition}


def tag_view(tag: MetadefTag) -> dict:
    return {"name": tag.name, "created_at": timestamp(tag.created_at),
            "updated_at": timestamp(tag.updated_at)}


def association_view(association: MetadefResourceTypeAssociation) -> dict:
    return _set_only({
        "name": association.name, "prefix": association.prefix,
        "properties_target": association.properties_target,
        "created_at": timestamp(association.created_at),
        "updated_at": timestamp(association.updated_at),
    })


def resource_type_view(resource_type: MetadefResourceType) -> dict:
    return {"name": resource_type.name, "created_at": timestamp(resource_type.created_at),
            "updated_at": timestamp(resource_type.updated_at)}
