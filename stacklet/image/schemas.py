"""Image request bodies: the image JSON schema (which /v2/schemas/image also
publishes, since clients read it) and the JSON-patch documents of updates."""

from __future__ import annotations

from typing import Any

from stacklet.common.errors import BadRequest, UnsupportedMediaType
from stacklet.common.validation import validate
from stacklet.image.images import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    MEMBER_STATUSES,
    STATUSES,
    VISIBILITIES,
)
from stacklet.image.tasks import STATUSES as TASK_STATUSES
from stacklet.image.tasks import TYPES as TASK_TYPES

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-"
                "([0-9a-fA-F]){12}$")
MAX_INT = 2 ** 31 - 1
JSON_PATCH_TYPES = {
    "application/openstack-images-v2.1-json-patch": 4,
    "application/openstack-images-v2.0-json-patch": 10,
}


def _nullable(kind: str, **extra) -> dict:
    return {"type": ["null", kind], **extra}


def _read_only(schema: dict, description: str) -> dict:
    return {**schema, "readOnly": True, "description": description}


_COMMON_PROPERTIES = {
    "kernel_id": _nullable("string", pattern=UUID_PATTERN, description=(
        "ID of image stored in Glance that should be used as the kernel when booting an "
        "AMI-style image.")),
    "ramdisk_id": _nullable("string", pattern=UUID_PATTERN, description=(
        "ID of image stored in Glance that should be used as the ramdisk when booting an "
        "AMI-style image.")),
    "instance_uuid": {"type": "string", "description": (
        "Metadata which can be used to record which instance this image is associated "
        "with. (Informational only, does not create an instance snapshot.)")},
    "architecture": {"type": "string", "description": (
        "Operating system architecture as specified in https://docs.openstack.org/"
        "python-glanceclient/latest/cli/property-keys.html")},
    "os_distro": {"type": "string", "description": (
        "Common name of operating system distribution as specified in https://"
        "docs.openstack.org/python-glanceclient/latest/cli/property-keys.html")},
    "os_version": {"type": "string", "description": (
        "Operating system version as specified by the distributor.")},
    "description": {"type": "string", "description": "A human-readable string describing "
                    "this image."},
    "cim_pep_name": {"type": "string", "description": "A name of a CIM class."},
}

IMAGE_SCHEMA = {
    "name": "image",
    "properties": {
        "id": {"type": "string", "pattern": UUID_PATTERN,
               "description": "An identifier for the image"},
        "name": _nullable("string", maxLength=255,
                          description="Descriptive name for the image"),
        "status": _read_only({"type": "string", "enum": list(STATUSES)},
                             "Status of the image"),
        "visibility": {"type": "string", "enum": list(VISIBILITIES),
                       "description": "Scope of image accessibility"},
        "protected": {"type": "boolean",
                      "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default image list "
                                     "response."},
        "checksum": _read_only(_nullable("string", maxLength=32),
                               "md5 hash of image contents."),
        "os_hash_algo": _read_only(_nullable("string", maxLength=64),
                                   "Algorithm to calculate the os_hash_value"),
        "os_hash_value": _read_only(_nullable("string", maxLength=128),
                                    "Hexdigest of the image contents using the algorithm "
                                    "specified by the os_hash_algo"),
        "owner": _nullable("string", maxLength=255,
                           description="Owner of the image"),
        "size": _read_only(_nullable("integer"), "Size of image file in bytes"),
        "virtual_size": _read_only(_nullable("integer"), "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"],
                             "enum": [None, *CONTAINER_FORMATS],
                             "description": "Format of the container"},
        "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS],
                        "description": "Format of the disk"},
        "created_at": _read_only({"type": "string"},
                                 "Date and time of image registration"),
        "updated_at": _read_only({"type": "string"},
                                 "Date and time of the last image modification"),
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
                 "description": "List of strings related to the image"},
        "direct_url": _read_only({"type": "string"},
                                 "URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "minimum": 0, "maximum": MAX_INT,
                    "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer", "minimum": 0, "maximum": MAX_INT,
                     "description": "Amount of disk space (in GB) required to boot image."},
        "self": _read_only({"type": "string"}, "An image self url"),
        "file": _read_only({"type": "string"}, "An image file url"),
        "stores": _read_only({"type": "string"}, "Store in which image data resides."),
        "schema": _read_only({"type": "string"}, "An image schema url"),
        "locations": {"type": "array", "items": {"type": "object"},
                      "description": "A set of URLs to access the image file kept in "
                                     "external store"},
        **_COMMON_PROPERTIES,
    },
    "additionalProperties": {"type": "string"},
    "links": [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ],
}

MEMBER_CREATE = {
    "type": "object",
    "properties": {"member": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["member"],
}

MEMBER_UPDATE = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": list(MEMBER_STATUSES)}},
    "required": ["status"],
}


def validate_image(body: Any) -> dict:
    """A create body, or a patched image, checked against the image schema."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object describing the image.")
    return validate(IMAGE_SCHEMA, body)


def parse_patch(content_type: str | None, body: Any) -> tuple[list[dict], bool]:
    """The changes of a JSON-patch update as [{"op", "name", "value"}], and whether
    it is the v2.0 dialect (where 'add' of a present property conflicts)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in JSON_PATCH_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {content_type!r}: send "
            "application/openstack-images-v2.1-json-patch.")
    if not isinstance(body, list):
        raise BadRequest("A JSON-patch body must be a list of operations.")
    changes = []
    for operation in body:
        if not isinstance(operation, dict):
            raise BadRequest("Operations must be JSON objects.")
        op = operation.get("op")
        if op not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid operation: {op!r}. Use add, replace or remove.")
        path = operation.get("path")
        if not isinstance(path, str):
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        name = _pointer_name(path)
        if op != "remove" and "value" not in operation:
            raise BadRequest(f"Operation '{op}' needs a 'value'.")
        changes.append({"op": op, "name": name, "value": operation.get("value")})
    return changes, JSON_PATCH_TYPES[media_type] == 10


def _pointer_name(path: str) -> str:
    """The attribute a one-level JSON pointer (/name) names."""
    if not path.startswith("/") or path.endswith("/"):
        raise BadRequest(f"Pointer `{path}` does not start with \"/\" or ends with \"/\".")
    parts = path[1:].split("/")
    if len(parts) != 1 or not parts[0]:
        raise BadRequest(f"Pointer `{path}` contains adjacent or nested parts; only "
                         "top-level attributes can be changed.")
    name = parts[0]
    if "~" in name.replace("~0", "").replace("~1", ""):
        raise BadRequest(f"Pointer `{path}` contains \"~\" not part of a recognized escape "
                         "sequence.")
    return name.replace("~1", "/").replace("~0", "~")


# -- published schema documents (/v2/schemas/*) ----------------------------------------

MEMBER_SCHEMA = {
    "name": "member",
    "properties": {
        "member_id": {"type": "string",
                      "description": "An identifier for the image member (tenantId)"},
        "image_id": {"type": "string", "description": "An identifier for the image",
                     "pattern": UUID_PATTERN},
        "created_at": {"type": "string", "description": "Date and time of image member "
                       "creation"},
        "updated_at": {"type": "string", "description": "Date and time of last "
                       "modification of image member"},
        "status": {"type": "string", "description": "The status of this image member",
                   "enum": list(MEMBER_STATUSES)},
        "schema": {"readOnly": True, "type": "string"},
    },
}

_TASK_PROPERTIES = {
    "id": {"description": "An identifier for the task", "pattern": UUID_PATTERN,
           "type": "string"},
    "type": {"description": "The type of task represented by this content",
             "enum": list(TASK_TYPES), "type": "string"},
    "status": {"description": "The current status of this task",
               "enum": list(TASK_STATUSES), "type": "string"},
    "input": {"description": "The parameters required by task, JSON blob",
              "type": ["null", "object"]},
    "result": {"description": "The result of current task, JSON blob",
               "type": ["null", "object"]},
    "owner": {"description": "An identifier for the owner of this task", "type": "string"},
    "message": {"description": "Human-readable informative message only included when "
                "appropriate (usually on failure)", "type": "string"},
    "image_id": {"description": "Image associated with the task", "type": "string"},
    "request_id": {"description": "Human-readable informative request-id",
                   "type": "string"},
    "user_id": {"description": "User associated with the task", "type": "string"},
    "expires_at": {"description": "Datetime when this resource would be subject to "
                   "removal", "type": ["null", "string"]},
    "created_at": {"description": "Datetime when this resource was created",
                   "type": "string"},
    "updated_at": {"description": "Datetime when this resource was updated",
                   "type": "string"},
    "self": {"readOnly": True, "type": "string"},
    "schema": {"readOnly": True, "type": "string"},
}

TASK_SCHEMA = {"name": "task", "properties": _TASK_PROPERTIES}
# /v2/tasks lists tasks without their input, result and message.
_TASK_STUB_SCHEMA = {"name": "task", "properties": {
    name: value for name, value in _TASK_PROPERTIES.items()
    if name not in ("input", "result", "message")}}


def collection_schema(name: str, item: dict, *, paged: bool) -> dict:
    """The schema of a list of ``item``: Glance's 'images' one has first/next
    links (the list is paged); those of members and tasks only describedby."""
    properties = {name: {"type": "array", "items": item}}
    links = []
    if paged:
        properties.update({"first": {"type": "string"}, "next": {"type": "string"}})
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}]
    properties["schema"] = {"type": "string"}
    links.append({"rel": "describedby", "href": "{schema}"})
    return {"name": name, "properties": properties, "links": links}


PUBLISHED_SCHEMAS = {
    "image": IMAGE_SCHEMA,
    "images": collection_schema("images", IMAGE_SCHEMA, paged=True),
    "member": MEMBER_SCHEMA,
    "members": collection_schema("members", MEMBER_SCHEMA, paged=False),
    "task": TASK_SCHEMA,
    "tasks": collection_schema("tasks", _TASK_STUB_SCHEMA, paged=False),
}
