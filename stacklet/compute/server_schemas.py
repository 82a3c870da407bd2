"""Request bodies of the server API, per microversion, as Nova validates them."""

from __future__ import annotations

import copy
import functools

from stacklet.common.microversions import Version
from stacklet.compute.api.common import BOOLEAN

UUID = {"type": "string", "format": "uuid"}
NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        # Nova refuses names with leading or trailing white space.
        "pattern": r"^(?! )[\S ]*(?<! )$"}
DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
COUNT = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1}
METADATA = {"type": "object",
            "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {
                "type": "string", "maxLength": 255}},
            "additionalProperties": False}
TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}
HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 63,
            "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"}
FQDN_HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 255,
                 "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$"}
NETWORK = {"type": "object", "properties": {
    "uuid": UUID, "port": {"oneOf": [UUID, {"type": "null"}]},
    "fixed_ip": {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    "tag": TAG}, "additionalProperties": False}
BLOCK_DEVICE = {"type": "object", "properties": {
    "uuid": {"type": "string"}, "boot_index": {"type": ["integer", "string", "null"]},
    "source_type": {"enum": ["image", "volume", "snapshot", "blank"]},
    "destination_type": {"enum": ["local", "volume"]},
    "device_name": {"type": ["string", "null"]}, "volume_size": {"type": ["integer", "string",
                                                                         "null"]},
    "delete_on_termination": BOOLEAN, "guest_format": {"type": ["string", "null"]},
    "device_type": {"type": ["string", "null"]}, "disk_bus": {"type": ["string", "null"]},
    "no_device": {}, "tag": TAG, "volume_type": {"type": ["string", "null"]}},
    "additionalProperties": False}

_CREATE_V21 = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": NAME,
                "imageRef": {"type": "string", "anyOf": [UUID, {"maxLength": 0},
                                                         {"pattern": "^https?://"}]},
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "adminPass": {"type": "string"},
                "metadata": METADATA,
                "networks": {"type": "array", "items": NETWORK},
                "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
                "accessIPv4": {"type": "string", "format": "ipv4"},
                "accessIPv6": {"type": "string", "format": "ipv6"},
                "personality": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"}, "contents": {"type": "string"}},
                    "additionalProperties": False}},
                "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
                "block_device_mapping_v2": {"type": "array", "items": BLOCK_DEVICE},
                "block_device_mapping": {"type": "array"},
                "config_drive": BOOLEAN,
                "key_name": {"type": "string", "minLength": 1, "maxLength": 255},
                "min_count": COUNT,
                "max_count": COUNT,
                "return_reservation_id": BOOLEAN,
                "security_groups": {"type": "array", "items": {
                    "type": "object", "properties": {"name": {"type": "string",
                                                              "minLength": 1}},
                    "additionalProperties": False}},
                "user_data": {"type": "string", "maxLength": 87380},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": {"type": "object"},
        "OS-SCH-HNT:scheduler_hints": {"type": "object"},
    },
    "required": ["server"],
    "additionalProperties": False,
}


@functools.lru_cache(maxsize=None)
def create_schema(version: Version) -> dict:
    schema = copy.deepcopy(_CREATE_V21)
    server = schema["properties"]["server"]
    props = server["properties"]
    if version.matches("2.19"):
        props["description"] = DESCRIPTION
    if version.matches("2.32"):
        props["networks"]["items"]["properties"]["tag"] = TAG
    if version.matches("2.37"):
        props["networks"] = {"oneOf": [props["networks"], {"enum": ["auto", "none"]}]}
        server["required"].append("networks")
    if version.matches("2.52"):
        props["tags"] = {"type": "array", "items": TAG, "maxItems": 50}
    if version.matches("2.57"):
        del props["personality"]
    if version.matches("2.63"):
        props["trusted_image_certificates"] = {"type": ["array", "null"],
                                               "items": {"type": "string"}}
    if version.matches("2.74"):
        props["host"] = {"type": "string", "minLength": 1, "maxLength": 255}
        props["hypervisor_hostname"] = {"type": "string", "minLength": 1, "maxLength": 255}
    if version.matches("2.90"):
        props["hostname"] = FQDN_HOSTNAME if version.matches("2.94") else HOSTNAME
    return schema


@functools.lru_cache(maxsize=None)
def update_schema(version: Version) -> dict:
    props = {"name": NAME, "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
             "accessIPv4": {"type": "string", "anyOf": [{"format": "ipv4"}, {"maxLength": 0}]},
             "accessIPv6": {"type": "string", "anyOf": [{"format": "ipv6"}, {"maxLength": 0}]}}
    if version.matches("2.19"):
        props["description"] = DESCRIPTION
    if version.matches("2.90"):
        props["hostname"] = FQDN_HOSTNAME if version.matches("2.94") else HOSTNAME
    return {"type": "object",
            "properties": {"server": {"type": "object", "properties": props,
                                      "additionalProperties": False}},
            "required": ["server"], "additionalProperties": False}

