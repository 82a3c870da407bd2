"""JSON schemas of identity request bodies."""

from stacklet.common.validation import BOOLEAN, DESCRIPTION, ID_STRING, NAME_STRING, NULLABLE_ID

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

# -- roles (roles.py) ----------------------------------------------------------------

_role_options = {
    "type": "object",
    "properties": {"immutable": {"type": ["boolean", "null"]}},
    "additionalProperties": False,
}

role_create = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": NAME_STRING, "description": DESCRIPTION,
                       "domain_id": NULLABLE_ID, "options": _role_options},
    }},
}

role_update = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {
        "type": "object",
        "minProperties": 1,
        "properties": {"name": NAME_STRING, "description": DESCRIPTION,
                       "domain_id": NULLABLE_ID, "options": _role_options},
        "not": {"required": ["id"]},
    }},
}
