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

# -- catalog, credentials and application credentials ----------------------------

_REGION_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_region_properties = {"id": _REGION_ID, "description": DESCRIPTION,
                      "parent_region_id": {"type": ["string", "null"], "maxLength": 255}}

region_create = {
    "type": "object",
    "required": ["region"],
    "properties": {"region": {"type": "object", "properties": _region_properties}},
}

region_update = {
    "type": "object",
    "required": ["region"],
    "properties": {"region": {"type": "object", "minProperties": 1,
                              "properties": _region_properties}},
}

_service_properties = {"type": {"type": "string", "minLength": 1, "maxLength": 255},
                       "name": NAME_STRING, "description": DESCRIPTION, "enabled": BOOLEAN}

service_create = {
    "type": "object",
    "required": ["service"],
    "properties": {"service": {"type": "object", "required": ["type"],
                               "properties": _service_properties}},
}

service_update = {
    "type": "object",
    "required": ["service"],
    "properties": {"service": {"type": "object", "minProperties": 1,
                               "properties": _service_properties,
                               "not": {"required": ["id"]}}},
}

# Keystone's lenient URL check (RFC 1738 section 2.1): a scheme, a colon, something.
_URL = {"type": "string", "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}
_endpoint_properties = {
    "service_id": ID_STRING, "url": _URL, "enabled": BOOLEAN,
    "interface": {"type": "string", "enum": ["public", "internal", "admin"]},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "region": {"type": ["string", "null"], "maxLength": 255},
}

endpoint_create = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {"endpoint": {"type": "object",
                                "required": ["service_id", "interface", "url"],
                                "properties": _endpoint_properties}},
}

endpoint_update = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {"endpoint": {"type": "object", "minProperties": 1,
                                "properties": _endpoint_properties,
                                "not": {"required": ["id"]}}},
}

_credential_properties = {"user_id": ID_STRING, "project_id": {"type": ["string", "null"]},
                          "type": {"type": "string", "minLength": 1, "maxLength": 255},
                          "blob": {"type": "string"}}

credential_create = {
    "type": "object",
    "required": ["credential"],
    "properties": {"credential": {"type": "object", "required": ["user_id", "type", "blob"],
                                  "properties": _credential_properties}},
}

credential_update = {
    "type": "object",
    "required": ["credential"],
    "properties": {"credential": {"type": "object", "minProperties": 1,
                                  "properties": _credential_properties,
                                  "not": {"required": ["id"]}}},
}

_role_ref = {"type": "object", "minProperties": 1,
             "properties": {"id": ID_STRING, "name": NAME_STRING}}

application_credential_create = {
    "type": "object",
    "required": ["application_credential"],
    "properties": {"application_credential": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": NAME_STRING,
            "description": DESCRIPTION,
            "secret": {"type": ["string", "null"], "minLength": 1},
            "expires_at": {"type": ["string", "null"]},
            "roles": {"type": "array", "items": _role_ref},
            "unrestricted": BOOLEAN,
            "access_rules": {"type": "array"},
        },
    }},
}
