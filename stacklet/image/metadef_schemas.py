"""Metadata definition bodies: the JSON schemas requests are validated against,
which /v2/schemas/metadefs/<name> also publishes (clients such as Horizon and
glanceclient read them), shaped as Glance publishes them.
"""

from __future__ import annotations

import copy
from typing import Any

from stacklet.common.errors import BadRequest, Forbidden
from stacklet.common.validation import validate

PROPERTY_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]
VISIBILITIES = ["public", "private"]

# What a property definition may say: a JSON-schema fragment for one key.
PROPERTY_FIELDS = {
    "name": {"type": "string", "maxLength": 80},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": PROPERTY_TYPES},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {"type": "object", "properties": {
        "type": {"type": "string", "enum": PROPERTY_TYPES},
        "enum": {"type": "array"},
    }},
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}

DEFINITIONS = {
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                          {"default": 0}]},
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "property": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["title", "type"], "properties": PROPERTY_FIELDS}},
}


def _timestamp(what: str) -> dict:
    return {"type": "string", "readOnly": True, "format": "date-time",
            "description": f"Date and time of {what}"}


def _link() -> dict:
    return {"type": "string", "readOnly": True}


def _schema(name: str, properties: dict, required: list[str] | None,
            definitions: dict | None = None) -> dict:
    """A Glance item schema: no properties beyond the ones listed."""
    schema = {"name": name, "properties": properties, "additionalProperties": False}
    if definitions:
        schema["definitions"] = definitions
    if required:
        schema["required"] = required
    return schema


def _collection(name: str, item: dict, *, keyed: bool = False) -> dict:
    """A Glance collection schema: the items under ``name`` (a list, or a dict
    keyed by name), pagination links, and the items' definitions hoisted."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    members = ({"type": "object", "additionalProperties": item} if keyed
               else {"type": "array", "items": item})
    schema = {
        "name": name,
        "properties": {name: members, "first": {"type": "string"},
                       "next": {"type": "string"}, "schema": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }
    if definitions:
        schema["definitions"] = definitions
    return schema


_ASSOCIATION_FIELDS = {
    "name": {"type": "string", "maxLength": 80, "description": (
        "Resource type names should be aligned with Heat resource types whenever "
        "possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html")},
    "prefix": {"type": "string", "maxLength": 80, "description": (
        "Specifies the prefix to use for the given resource type. Any properties in the "
        "namespace should be prefixed with this prefix when being applied to the "
        "specified resource type. Must include prefix separator (e.g. a colon :).")},
    "properties_target": {"type": "string", "maxLength": 80, "description": (
        "Some resource types allow more than one key / value pair per instance. For "
        "example, Cinder allows user and image metadata on volumes. Only the image "
        "properties metadata is evaluated by Nova (scheduling or drivers). This property "
        "allows a namespace target to remove the ambiguity.")},
    "created_at": _timestamp("resource type association"),
    "updated_at": _timestamp("the last resource type association modification"),
}

_OBJECT_FIELDS = {
    "name": {"type": "string", "maxLength": 80},
    "description": {"type": "string"},
    "required": {"$ref": "#/definitions/stringArray"},
    "properties": {"$ref": "#/definitions/property"},
    "schema": _link(),
    "self": _link(),
    "created_at": _timestamp("object creation"),
    "updated_at": _timestamp("the last object modification"),
}

_TAG_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "created_at": _timestamp("tag creation"),
    "updated_at": _timestamp("the last tag modification"),
}

_NAMESPACE_FIELDS = {
    "namespace": {"type": "string", "minLength": 1, "maxLength": 80,
                  "description": "The unique namespace text."},
    "display_name": {"type": "string", "maxLength": 80, "description": (
        "The user friendly name for the namespace. Used by UI if available.")},
    "description": {"type": "string", "maxLength": 500,
                    "description": "Provides a user friendly description of the namespace."},
    "visibility": {"type": "string", "enum": VISIBILITIES,
                   "description": "Scope of namespace accessibility."},
    "protected": {"type": "boolean",
                  "description": "If true, namespace will not be deletable."},
    "owner": {"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
    "created_at": _timestamp("namespace creation"),
    "updated_at": _timestamp("the last namespace modification"),
    "schema": _link(),
    "self": _link(),
    "resource_type_associations": {"type": "array", "items": {
        "type": "object", "required": ["name"],
        "properties": {key: _ASSOCIATION_FIELDS[key]
                       for key in ("name", "prefix", "properties_target")}}},
    "properties": {"$ref": "#/definitions/property"},
    "objects": {"type": "array", "items": {
        "type": "object", "required": ["name"],
        "properties": {key: _OBJECT_FIELDS[key]
                       for key in ("name", "description", "required", "properties")}}},
    "tags": {"type": "array", "items": {
        "type": "object", "required": ["name"], "properties": {"name": _TAG_FIELDS["name"]}}},
}

NAMESPACE = _schema("namespace", _NAMESPACE_FIELDS, ["namespace"], DEFINITIONS)
OBJECT = _schema("object", _OBJECT_FIELDS, ["name"], DEFINITIONS)
# A property addressed by itself carries its name; in a collection the name
# is the key.
PROPERTY = _schema("property", PROPERTY_FIELDS, ["name", "title", "type"],
                   {key: DEFINITIONS[key] for key in
                    ("positiveInteger", "positiveIntegerDefault0", "stringArray")})
TAG = _schema("tag", _TAG_FIELDS, ["name"])
ASSOCIATION = _schema("resource_type_association", _ASSOCIATION_FIELDS, ["name"])
# The body of POST /v2/metadefs/namespaces/{namespace}/tags.
TAGS_BODY = _schema("tags", {"tags": {"type": "array", "items": {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": _TAG_FIELDS["name"]}}}}, ["tags"])

_property_item = copy.deepcopy(PROPERTY)
_property_item["required"] = ["title", "type"]

# /v2/schemas/metadefs/<name>
DOCUMENTS = {
    "namespace": NAMESPACE,
    "namespaces": _collection("namespaces", NAMESPACE),
    "object": OBJECT,
    "objects": _collection("objects", OBJECT),
    "property": PROPERTY,
    "properties": _collection("properties", _property_item, keyed=True),
    "tag": TAG,
    "tags": _collection("tags", TAG),
    "resource_type": ASSOCIATION,
    "resource_types": _collection("resource_type_associations", ASSOCIATION),
}

_READ_ONLY = ("self", "schema", "created_at", "updated_at")


def _checked(schema: dict, body: Any, what: str) -> dict:
    """Validate a request body; writing a read-only attribute is a 403, as in Glance."""
    if not isinstance(body, dict):
        raise BadRequest(f"The request body must be a JSON object describing the {what}.")
    for key in _READ_ONLY:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    return validate(schema, body)


def validate_namespace(body: Any) -> dict:
    return _checked(NAMESPACE, body, "namespace")


def validate_object(body: Any) -> dict:
    data = _checked(OBJECT, body, "object")
    for definition in (data.get("properties") or {}).values():
        validate(_property_item, definition)
    return data


def validate_property(body: Any) -> dict:
    return _checked(PROPERTY, body, "property")


def validate_tag(body: Any) -> dict:
    return _checked(TAG, body, "tag")


def validate_tags(body: Any) -> dict:
    return _checked(TAGS_BODY, body, "tags")


def validate_association(body: Any) -> dict:
    return _checked(ASSOCIATION, body, "resource type association")


def clean_definition(definition: dict) -> dict:
    """A property definition as stored and shown: the fields Glance knows, set
    ones only, without the name (the key it is stored under)."""
    return {key: value for key, value in definition.items()
            if key in PROPERTY_FIELDS and key != "name" and value is not None}
