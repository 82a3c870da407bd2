"""Bodies of the server actions (POST /servers/{id}/action), as Nova validates them.

Each schema validates the value under the action's key; ``None`` where
Nova takes ``null`` (or ignores the value)."""

from __future__ import annotations

import functools

from stacklet.common.microversions import Version
from stacklet.compute.server_schemas import (
    BOOLEAN,
    DESCRIPTION,
    FQDN_HOSTNAME,
    HOSTNAME,
    METADATA,
    NAME,
    UUID,
)

# Nova validates no body for some actions before a microversion.
ANYTHING = {}


def _object(properties: dict, required: tuple = ()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


REBOOT = _object({"type": {"enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
                 ("type",))
RESIZE = _object({"flavorRef": {"type": ["string", "integer"], "minLength": 1},
                  "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]}}, ("flavorRef",))
CREATE_IMAGE = _object({"name": NAME, "metadata": METADATA}, ("name",))
CREATE_BACKUP = _object({
    "name": NAME, "backup_type": {"type": "string"},
    "rotation": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0},
    "metadata": METADATA}, ("name", "backup_type", "rotation"))
RESCUE = {"type": ["object", "null"], "properties": {
    "adminPass": {"type": "string"}, "rescue_image_ref": UUID},
    "additionalProperties": False}
CHANGE_PASSWORD = _object({"adminPass": {"type": "string"}}, ("adminPass",))
RESET_STATE = _object({"state": {"enum": ["active", "error"]}}, ("state",))
# The multinic actions (until 2.43); a networkId as long as a uuid at most.
ADD_FIXED_IP = _object({"networkId": {"type": ["string", "number"], "minLength": 1,
                                      "maxLength": 36}}, ("networkId",))
REMOVE_FIXED_IP = _object({"address": {"type": "string",
                                       "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}},
                          ("address",))
CONSOLE_OUTPUT = {"type": ["object", "null"], "properties": {
    "length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$",
               "minimum": -1}},
    "additionalProperties": False}

# The console actions before 2.6, by the console types each accepts (Nova still
# accepts the retired xvpvnc, and refuses it further on).
LEGACY_CONSOLES = {
    name: _object({"type": {"type": "string", "enum": types}}, ("type",))
    for name, types in (("os-getVNCConsole", ["novnc", "xvpvnc"]),
                        ("os-getSPICEConsole", ["spice-html5"]),
                        ("os-getSerialConsole", ["serial"]))}



@functools.lru_cache(maxsize=None)
def lock_schema(version: Version) -> dict:
    if not version.matches("2.73"):
        return ANYTHING
    return {"type": ["object", "null"], "properties": {
        "locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}},
        "additionalProperties": False}


@functools.lru_cache(maxsize=None)
def unshelve_schema(version: Version) -> dict:
    if version.matches("2.91"):
        return {"type": ["object", "null"], "properties": {
            "availability_zone": {"type": ["string", "null"]},
            "host": {"type": "string", "minLength": 1, "maxLength": 255}},
            "additionalProperties": False}
    if version.matches("2.77"):
        return {"type": ["object", "null"], "properties": {
            "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255}},
            "additionalProperties": False}
    return ANYTHING   # Nova ignores the body before 2.77


@functools.lru_cache(maxsize=None)
def migrate_schema(version: Version) -> dict:
    if not version.matches("2.56"):
        return ANYTHING   # Nova ignores the body before 2.56
    return {"type": ["object", "null"], "properties": {
        "host": {"type": ["string", "null"], "minLength": 1, "maxLength": 255}},
        "additionalProperties": False}


@functools.lru_cache(maxsize=None)
def rebuild_schema(version: Version) -> dict:
    props = {
        "name": NAME, "imageRef": {"type": "string", "minLength": 1},
        "adminPass": {"type": "string"}, "metadata": METADATA,
        "preserve_ephemeral": BOOLEAN, "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
        "accessIPv4": {"type": "string", "anyOf": [{"format": "ipv4"}, {"maxLength": 0}]},
        "accessIPv6": {"type": "string", "anyOf": [{"format": "ipv6"}, {"maxLength": 0}]},
        "personality": {"type": "array"},
    }
    if version.matches("2.19"):
        props["description"] = DESCRIPTION
    if version.matches("2.54"):
        props["key_name"] = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}
    if version.matches("2.57"):
        del props["personality"]
        props["user_data"] = {"type": ["string", "null"], "maxLength": 87380}
    if version.matches("2.63"):
        props["trusted_image_certificates"] = {"type": ["array", "null"],
                                               "items": {"type": "string"}}
    if version.matches("2.90"):
        props["hostname"] = FQDN_HOSTNAME if version.matches("2.94") else HOSTNAME
    return _object(props, ("imageRef",))
