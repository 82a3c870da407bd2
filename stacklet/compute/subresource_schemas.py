"""Request bodies of what hangs off a server (metadata, tags, interfaces, volume
attachments) and of server groups, as Nova validates them."""

from __future__ import annotations

import copy
import functools

from stacklet.compute.server_schemas import METADATA, NAME, TAG, UUID

# -- metadata -----------------------------------------------------------------------

METADATA_SET = {"type": "object", "properties": {"metadata": METADATA},
                "required": ["metadata"], "additionalProperties": False}
METADATA_ITEM = {"type": "object",
                 "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}},
                 "required": ["meta"], "additionalProperties": False}

# -- tags -----------------------------------------------------------------------------

MAX_TAGS = 50
TAGS_SET = {"type": "object",
            "properties": {"tags": {"type": "array", "items": TAG, "maxItems": MAX_TAGS}},
            "required": ["tags"], "additionalProperties": False}

# -- remote consoles (2.6) -------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def remote_console_schema(version) -> dict:
    """Every protocol and type Nova names (rdp and the others Stacklet does not
    serve are refused after validation, with Nova's messages); 2.8 adds VMware's mks."""
    protocols = ["vnc", "spice", "serial", "rdp"]
    types = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]
    if version.matches("2.8"):
        protocols.append("mks")
        types.append("webmks")
    console = {"type": "object",
               "properties": {"protocol": {"type": "string", "enum": protocols},
                              "type": {"type": "string", "enum": types}},
               "required": ["protocol", "type"], "additionalProperties": False}
    return {"type": "object", "properties": {"remote_console": console},
            "required": ["remote_console"], "additionalProperties": False}


# -- server groups ----------------------------------------------------------------------

_HARD_POLICIES = ["anti-affinity", "affinity"]
_ALL_POLICIES = _HARD_POLICIES + ["soft-anti-affinity", "soft-affinity"]
POSITIVE_INTEGER = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1}


def _group_create(policy_fields: dict, required: str) -> dict:
    return {"type": "object", "properties": {"server_group": {
        "type": "object", "properties": {"name": NAME, **policy_fields},
        "required": ["name", required], "additionalProperties": False}},
        "required": ["server_group"], "additionalProperties": False}


def _policies(names: list[str]) -> dict:
    # One policy in a list, the only shape Nova ever accepted before 2.64.
    return {"policies": {"type": "array", "items": {"type": "string", "enum": names},
                         "uniqueItems": True, "minItems": 1, "maxItems": 1}}


GROUP_CREATE_V21 = _group_create(_policies(_HARD_POLICIES), "policies")
GROUP_CREATE_V215 = _group_create(_policies(_ALL_POLICIES), "policies")
GROUP_CREATE_V264 = _group_create({
    "policy": {"type": "string", "enum": _ALL_POLICIES},
    "rules": {"type": "object", "properties": {"max_server_per_host": POSITIVE_INTEGER},
              "additionalProperties": False}}, "policy")


def group_create_schema(version) -> dict:
    if version.matches("2.64"):
        return GROUP_CREATE_V264
    return GROUP_CREATE_V215 if version.matches("2.15") else GROUP_CREATE_V21


# -- interfaces and volume attachments ------------------------------------------------------

_FIXED_IP = {"type": "object", "properties": {
    "ip_address": {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}},
    "required": ["ip_address"], "additionalProperties": False}
INTERFACE_ATTACH = {"type": "object", "properties": {"interfaceAttachment": {
    "type": "object", "properties": {
        "net_id": UUID, "port_id": UUID,
        "fixed_ips": {"type": "array", "items": _FIXED_IP, "minItems": 1, "maxItems": 1},
        "tag": TAG},
    "additionalProperties": False}}, "additionalProperties": False}

_VOLUME_ATTACH_V21 = {"type": "object", "properties": {"volumeAttachment": {
    "type": "object", "properties": {
        "volumeId": UUID,
        "device": {"type": ["string", "null"],
                   "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}},
    "required": ["volumeId"], "additionalProperties": False}},
    "required": ["volumeAttachment"], "additionalProperties": False}


@functools.lru_cache(maxsize=None)
def volume_attach_schema(version) -> dict:
    schema = copy.deepcopy(_VOLUME_ATTACH_V21)
    props = schema["properties"]["volumeAttachment"]["properties"]
    if version.matches("2.49"):
        props["tag"] = TAG
    if version.matches("2.79"):
        props["delete_on_termination"] = {"type": "boolean"}
    return schema
