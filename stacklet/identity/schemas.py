"""JSON schemas of identity request bodies."""

from stacklet.common.validation import BOOLEAN, DESCRIPTION, ID_STRING, NAME_STRING

_domain_ref = {"type": "object", "properties": {"id": ID_STRING, "name": NAME_STRING}}
_user_ref = {
    "type": "object",
    "properties": {"id": ID_STRING, "name": NAME_STRING, "domain": _domain_ref,
                   "password": {"type": "string"}},
}

auth_request = {
    "type": "object",
    "required": ["auth"],
    "properties": {
        "auth": {
            "type": "object",
            "required": ["identity"],
            "properties": {
                "identity": {
                    "type": "object",
                    "required": ["methods"],
                    "properties": {
                        "methods": {"type": "array", "items": {"type": "string"}},
                        "password": {"type": "object", "required": ["user"],
                                     "properties": {"user": _user_ref}},
                        "token": {"type": "object", "required": ["id"],
                                  "properties": {"id": {"type": "string"}}},
                        "application_credential": {
                            "type": "object", "required": ["secret"],
                            "properties": {"id": ID_STRING, "name": NAME_STRING,
                                           "secret": {"type": "string"},
                                           "user": _user_ref}},
                    },
                },
                "scope": {
                    "anyOf": [
                        {"type": "string", "enum": ["unscoped"]},
                        {"type": "object", "properties": {
                            "project": {"type": "object", "properties": {
                                "id": ID_STRING, "name": NAME_STRING, "domain": _domain_ref}},
                            "domain": _domain_ref,
                            "system": {"type": "object"},
                            "OS-TRUST:trust": {"type": "object", "required": ["id"],
                                               "properties": {"id": ID_STRING}},
                        }},
                    ],
                },
            },
        },
    },
}

domain_create = {
    "type": "object",
    "required": ["domain"],
    "properties": {"domain": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": NAME_STRING, "description": DESCRIPTION, "enabled": BOOLEAN,
                       "id": ID_STRING, "tags": {"type": "array", "items": NAME_STRING}},
    }},
}

domain_update = {
    "type": "object",
    "required": ["domain"],
    "properties": {"domain": {
        "type": "object",
        "minProperties": 1,
        "properties": {"name": NAME_STRING, "description": DESCRIPTION, "enabled": BOOLEAN,
                       "tags": {"type": "array", "items": NAME_STRING}},
        "not": {"required": ["id"]},
    }},
}

_policy_props = {"type": {"type": "string", "minLength": 1, "maxLength": 255},
                 "blob": {"type": "string"}}
policy_create = {"type": "object", "required": ["policy"], "properties": {"policy": {
    "type": "object", "required": ["type", "blob"], "properties": _policy_props}}}
policy_update = {"type": "object", "required": ["policy"], "properties": {"policy": {
    "type": "object", "minProperties": 1, "properties": _policy_props,
    "not": {"required": ["id"]}}}}

consumer_create = {"type": "object", "required": ["consumer"], "properties": {"consumer": {
    "type": "object", "properties": {"description": DESCRIPTION},
    "not": {"anyOf": [{"required": ["id"]}, {"required": ["secret"]}]}}}}
consumer_update = {"type": "object", "required": ["consumer"], "properties": {"consumer": {
    "type": "object", "properties": {"description": DESCRIPTION},
    "not": {"anyOf": [{"required": ["id"]}, {"required": ["secret"]}]}}}}

_endpoint_group_props = {
    "name": NAME_STRING, "description": DESCRIPTION,
    "filters": {"type": "object", "minProperties": 1,
                "additionalProperties": {"type": "string"}},
}
endpoint_group_create = {"type": "object", "required": ["endpoint_group"], "properties": {
    "endpoint_group": {"type": "object", "required": ["name", "filters"],
                       "properties": _endpoint_group_props, "additionalProperties": False}}}
endpoint_group_update = {"type": "object", "required": ["endpoint_group"], "properties": {
    "endpoint_group": {"type": "object", "minProperties": 1,
                       "properties": _endpoint_group_props, "additionalProperties": False}}}

domain_config = {"type": "object", "required": ["config"],
                 "properties": {"config": {"type": "object"}}}

trust_create = {"type": "object", "required": ["trust"], "properties": {"trust": {
    "type": "object",
    "required": ["trustor_user_id", "trustee_user_id", "impersonation"],
    "properties": {
        "trustor_user_id": ID_STRING, "trustee_user_id": ID_STRING,
        "project_id": {"type": ["string", "null"], "maxLength": 64},
        "impersonation": BOOLEAN,
        "expires_at": {"type": ["string", "null"]},
        "remaining_uses": {"type": ["integer", "null"], "minimum": 1},
        "allow_redelegation": BOOLEAN,
        "roles": {"type": "array", "items": {"type": "object", "properties": {
            "id": ID_STRING, "name": NAME_STRING}}},
    },
}}}
